/// Event-time parsing without Foundation date formatters (they allocate and are slow).
public enum Timestamps {
    /// Nanoseconds since the Unix epoch from RFC 3339 text (`2026-11-23T18:33:20.123456Z`,
    /// offsets allowed), or from a number of seconds, milliseconds or nanoseconds.
    public static func epochNanos(_ v: UnsafeBufferPointer<UInt8>, isNumber: Bool) -> Int64? {
        if isNumber || (v.count > 0 && v.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E }) {
            guard let d = Double(String(decoding: v, as: UTF8.self)) else { return nil }
            if d > 1e17 { return nanos(d) }            // ns
            if d > 1e14 { return nanos(d * 1_000) }    // µs
            if d > 1e11 { return nanos(d * 1_000_000) } // ms
            return nanos(d * 1_000_000_000)             // s
        }
        return parseRFC3339(v)
    }

    /// A time in ns as Int64, or nil past Int64's range (year 2262): a record's `1e30` is not
    /// a time, and converting it would trap (found by fuzzing).
    @inline(__always) static func nanos(_ x: Double) -> Int64? {
        x.isFinite && x > -9.2e18 && x < 9.2e18 ? Int64(x) : nil
    }

    static func digits(_ v: UnsafeBufferPointer<UInt8>, _ at: Int, _ n: Int) -> Int? {
        guard at + n <= v.count else { return nil }
        var x = 0
        for i in at..<(at + n) {
            let c = v[i]
            guard c >= 0x30 && c <= 0x39 else { return nil }
            x = x * 10 + Int(c - 0x30)
        }
        return x
    }

    public static func parseRFC3339(_ v: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard let y = digits(v, 0, 4), v.count >= 10, v[4] == 0x2D, let mo = digits(v, 5, 2), v[7] == 0x2D, let d = digits(v, 8, 2) else { return nil }
        var h = 0, mi = 0, s = 0, nanos = 0, offset = 0
        var i = 10
        if i < v.count, v[i] == 0x54 || v[i] == 0x74 || v[i] == 0x20 {
            guard let hh = digits(v, 11, 2), v.count > 13, v[13] == 0x3A, let mm = digits(v, 14, 2) else { return nil }
            h = hh; mi = mm
            i = 16
            if i < v.count, v[i] == 0x3A, let ss = digits(v, 17, 2) { s = ss; i = 19 }
            if i < v.count, v[i] == 0x2E || v[i] == 0x2C {
                i += 1
                var scale = 100_000_000
                while i < v.count, v[i] >= 0x30, v[i] <= 0x39 {
                    nanos += Int(v[i] - 0x30) * scale
                    scale /= 10
                    i += 1
                }
            }
            if i < v.count, v[i] == 0x2B || v[i] == 0x2D {
                let sign = v[i] == 0x2B ? 1 : -1
                guard let oh = digits(v, i + 1, 2) else { return nil }
                var om = 0
                if let m = digits(v, i + 4, 2), i + 3 < v.count, v[i + 3] == 0x3A { om = m } else if let m = digits(v, i + 3, 2) { om = m }
                offset = sign * (oh * 3600 + om * 60)
            }
        }
        guard (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 61 else { return nil }
        let days = daysFromCivil(y, mo, d)
        let secs = Int64(days) * 86400 + Int64(h * 3600 + mi * 60 + s - offset)
        // Years past 2262 do not fit in Int64 nanoseconds: not a time (found by fuzzing).
        let (scaled, overflow) = secs.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? nil : scaled + Int64(nanos)
    }

    /// Howard Hinnant's days_from_civil.
    public static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    public static func civil(fromDays z0: Int) -> (year: Int, month: Int, day: Int) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp + (mp < 10 ? 3 : -9)
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    /// RFC 3339 UTC text with milliseconds.
    public static func format(epochNanos: Int64) -> String {
        let secs = epochNanos >= 0 ? epochNanos / 1_000_000_000 : (epochNanos - 999_999_999) / 1_000_000_000
        let ms = Int((epochNanos - secs * 1_000_000_000) / 1_000_000)
        let days = Int(secs >= 0 ? secs / 86400 : (secs - 86399) / 86400)
        let rem = Int(secs - Int64(days) * 86400)
        let (y, m, d) = civil(fromDays: days)
        func p(_ x: Int, _ w: Int) -> String { let s = String(x); return String(repeating: "0", count: max(0, w - s.count)) + s }
        return "\(p(y, 4))-\(p(m, 2))-\(p(d, 2))T\(p(rem / 3600, 2)):\(p(rem % 3600 / 60, 2)):\(p(rem % 60, 2)).\(p(ms, 3))Z"
    }
}
