import BulkheadEvent

/// Builds one JSON object member by member, for decoders that turn text or packets into
/// records (auditd, Zeek TSV, VPC flow logs, CoreDNS, pcap). Members are written in order;
/// callers make sure names are unique.
struct TextRecordWriter {
    private(set) var bytes: [UInt8] = [0x7B]
    private var needsComma: [Bool] = [false]

    init() { bytes.reserveCapacity(512) }

    private mutating func comma() {
        if needsComma[needsComma.count - 1] { bytes.append(0x2C) }
        needsComma[needsComma.count - 1] = true
    }

    mutating func key(_ name: String) {
        comma()
        JSONString.appendQuoted(name, to: &bytes)
        bytes.append(0x3A)
    }

    /// A string member; skipped when the value is nil.
    mutating func string(_ name: String, _ value: String?) {
        guard let value else { return }
        key(name)
        JSONString.appendQuoted(value, to: &bytes)
    }

    mutating func string<S: Sequence<UInt8>>(_ name: String, bytes value: S) {
        key(name)
        JSONString.appendQuoted(bytes: value, to: &bytes)
    }

    mutating func int(_ name: String, _ value: Int?) {
        guard let value else { return }
        key(name)
        bytes.append(contentsOf: String(value).utf8)
    }

    /// A number member from text already checked to be a JSON number.
    mutating func number(_ name: String, text: some Sequence<UInt8>) {
        key(name)
        bytes.append(contentsOf: text)
    }

    /// A finite double as a JSON number.
    mutating func double(_ name: String, _ value: Double) {
        guard value.isFinite else { return }
        key(name)
        bytes.append(contentsOf: String(value).utf8)
    }

    mutating func bool(_ name: String, _ value: Bool) {
        key(name)
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    mutating func strings(_ name: String, _ values: [String]) {
        key(name)
        bytes.append(0x5B)
        for (i, v) in values.enumerated() {
            if i > 0 { bytes.append(0x2C) }
            JSONString.appendQuoted(v, to: &bytes)
        }
        bytes.append(0x5D)
    }

    /// A member whose value is JSON text produced by the caller.
    mutating func raw(_ name: String, json: [UInt8]) {
        key(name)
        bytes.append(contentsOf: json)
    }

    mutating func openObject(_ name: String) {
        key(name)
        bytes.append(0x7B)
        needsComma.append(false)
    }

    mutating func closeObject() {
        needsComma.removeLast()
        bytes.append(0x7D)
    }

    /// Writes an `entity` object with the non-empty values given (nothing when all are empty).
    mutating func entity(_ pairs: [(String, String?)]) {
        let present = pairs.filter { ($0.1 ?? "").isEmpty == false }
        guard !present.isEmpty else { return }
        openObject("entity")
        for (k, v) in present { string(k, v) }
        closeObject()
    }

    mutating func finish() -> [UInt8] {
        while needsComma.count > 1 { closeObject() }
        bytes.append(0x7D)
        return bytes
    }
}

/// Small byte helpers shared by the text decoders.
enum TextBytes {
    @inline(__always) static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    @inline(__always) static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }

    /// Decodes even-length hex text, or nil when it is not hex.
    static func hexDecode(_ s: some Collection<UInt8>) -> [UInt8]? {
        guard !s.isEmpty, s.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(s.count / 2)
        var hi: UInt8? = nil
        for c in s {
            guard let v = hexValue(c) else { return nil }
            if let h = hi { out.append(h << 4 | v); hi = nil } else { hi = v }
        }
        return out
    }

    /// Whether the text is a JSON number (`-?digits(.digits)?([eE][+-]?digits)?`).
    static func isJSONNumber(_ s: some Collection<UInt8>) -> Bool {
        var it = Array(s)[...]
        if it.first == 0x2D { it = it.dropFirst() }
        guard let f = it.first, isDigit(f) else { return false }
        if f == 0x30, it.count > 1, isDigit(it[it.startIndex + 1]) { return false }
        var i = it.startIndex
        while i < it.endIndex, isDigit(it[i]) { i += 1 }
        if i < it.endIndex, it[i] == 0x2E {
            i += 1
            let start = i
            while i < it.endIndex, isDigit(it[i]) { i += 1 }
            if i == start { return false }
        }
        if i < it.endIndex, it[i] == 0x65 || it[i] == 0x45 {
            i += 1
            if i < it.endIndex, it[i] == 0x2B || it[i] == 0x2D { i += 1 }
            let start = i
            while i < it.endIndex, isDigit(it[i]) { i += 1 }
            if i == start { return false }
        }
        return i == it.endIndex
    }

    /// Splits on a single byte, keeping empty fields.
    static func split(_ s: UnsafeBufferPointer<UInt8>, on sep: UInt8) -> [Slice<UnsafeBufferPointer<UInt8>>] {
        var out: [Slice<UnsafeBufferPointer<UInt8>>] = []
        var start = 0
        for i in 0..<s.count where s[i] == sep {
            out.append(s[start..<i])
            start = i + 1
        }
        out.append(s[start..<s.count])
        return out
    }

    /// Splits on runs of spaces and tabs.
    static func words(_ s: UnsafeBufferPointer<UInt8>) -> [Slice<UnsafeBufferPointer<UInt8>>] {
        var out: [Slice<UnsafeBufferPointer<UInt8>>] = []
        var i = 0
        while i < s.count {
            while i < s.count, s[i] == 0x20 || s[i] == 0x09 { i += 1 }
            let start = i
            while i < s.count, s[i] != 0x20 && s[i] != 0x09 { i += 1 }
            if i > start { out.append(s[start..<i]) }
        }
        return out
    }

    static func string(_ s: some Collection<UInt8>) -> String { String(decoding: s, as: UTF8.self) }

    /// Epoch seconds (with fraction) text → RFC 3339 UTC with milliseconds.
    static func rfc3339(epochSecondsText s: String) -> String? {
        // Nanoseconds since the epoch fit an Int64 until 2262: later times are not times
        // (found by fuzzing: 99999999999 overflowed).
        guard let d = Double(s), d.isFinite, d >= 0, d < 9e9 else { return nil }
        let parts = s.split(separator: ".", maxSplits: 1)
        guard let secs = Int64(parts[0]) else { return nil }
        var nanos: Int64 = 0
        if parts.count == 2 {
            var frac = String(parts[1].prefix(9))
            guard frac.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            while frac.count < 9 { frac += "0" }
            nanos = Int64(frac) ?? 0
        }
        let (scaled, overflow) = secs.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow, secs >= 0 else { return nil }
        return Timestamps.format(epochNanos: scaled + nanos)
    }

    /// Trims spaces, tabs and a trailing CR.
    static func trimmed(_ s: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        var a = 0, b = s.count
        while a < b, s[a] == 0x20 || s[a] == 0x09 || s[a] == 0x0D { a += 1 }
        while b > a, s[b - 1] == 0x20 || s[b - 1] == 0x09 || s[b - 1] == 0x0D { b -= 1 }
        return UnsafeBufferPointer(rebasing: s[a..<b])
    }

    /// Trims spaces, tabs, CR and LF (a log line held in a JSON string often keeps its `\n`).
    static func trimmedLine(_ s: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        var a = 0, b = s.count
        while a < b, s[a] == 0x20 || s[a] == 0x09 || s[a] == 0x0D || s[a] == 0x0A { a += 1 }
        while b > a, s[b - 1] == 0x20 || s[b - 1] == 0x09 || s[b - 1] == 0x0D || s[b - 1] == 0x0A { b -= 1 }
        return UnsafeBufferPointer(rebasing: s[a..<b])
    }
}
