/// A dotted field path resolved once, at rule compile time.
///
/// `a.b.c` is stored as the bytes `a.b.c` plus the offsets where segments end. A key in the
/// event matches the remaining path when it equals it up to a segment boundary, so keys that
/// themselves contain dots (`output_fields` → `proc.cmdline`) are found without quoting.
/// Quoted segments (`annotations."authorization.k8s.io/decision"`) keep their dots inside.
public struct FieldPath: Hashable, Sendable, CustomStringConvertible {
    /// Path bytes with quotes removed; segments joined by `.`.
    public let bytes: [UInt8]
    /// Offsets into `bytes` where a segment ends (the index of the separating dot, or `bytes.count`).
    public let boundaries: [Int]
    public let description: String

    public init(_ text: String) {
        var out: [UInt8] = []
        var ends: [Int] = []
        var inQuote = false
        var escape = false
        for c in text.utf8 {
            if escape { out.append(c); escape = false; continue }
            if inQuote {
                if c == UInt8(ascii: "\\") { escape = true } else if c == UInt8(ascii: "\"") { inQuote = false } else { out.append(c) }
                continue
            }
            switch c {
            case UInt8(ascii: "\""): inQuote = true
            case UInt8(ascii: "."):
                ends.append(out.count)
                out.append(c)
            default: out.append(c)
            }
        }
        ends.append(out.count)
        bytes = out
        boundaries = ends
        description = text
    }

    public var segmentCount: Int { boundaries.count }

    /// Whether `offset` (an index in `bytes`) is the end of a segment.
    @inline(__always) func isBoundary(_ offset: Int) -> Bool {
        if offset == bytes.count { return true }
        guard bytes[offset] == UInt8(ascii: ".") else { return false }
        return boundaries.contains(offset)
    }
}
