import BulkheadEvent

enum TimeParts {
    /// The calendar component the Sigma time modifiers extract (UTC).
    static func part(_ part: TimePart, of v: UnsafeBufferPointer<UInt8>, isNumber: Bool) -> Int? {
        guard let ns = BulkheadEvent.Timestamps.epochNanos(v, isNumber: isNumber) else { return nil }
        let secs = ns / 1_000_000_000
        let days = Int(secs >= 0 ? secs / 86400 : (secs - 86399) / 86400)
        let rem = Int(secs - Int64(days) * 86400)
        let (y, m, d) = BulkheadEvent.Timestamps.civil(fromDays: days)
        switch part {
        case .minute: return rem % 3600 / 60
        case .hour: return rem / 3600
        case .day: return d
        case .month: return m
        case .year: return y
        case .week:
            // Monday-based week of the year, as strftime %W.
            let jan1 = BulkheadEvent.Timestamps.daysFromCivil(y, 1, 1)
            let yday = days - jan1
            let wday = ((days % 7) + 7 + 4) % 7 // 1970-01-01 was a Thursday (4)
            return (yday + 7 - ((wday + 6) % 7)) / 7
        }
    }
}
