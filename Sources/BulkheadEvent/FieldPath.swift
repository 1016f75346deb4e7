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

    /// Runs `body` with the path as raw storage (what the walk in EventView reads).
    @inline(__always) func withKey<R>(_ body: (PathKey) -> R) -> R {
        bytes.withUnsafeBufferPointer { b in boundaries.withUnsafeBufferPointer { body(PathKey(bytes: b, boundaries: $0)) } }
    }
}

/// A field path as raw storage: the bytes and segment ends of a `FieldPath`, without
/// reference counting. Compiled match programs keep one per path for their lifetime
/// (`PathKey.copy` / `deallocate`); the hot path walks records with them.
public struct PathKey: @unchecked Sendable {
    public let bytes: UnsafeBufferPointer<UInt8>
    public let boundaries: UnsafeBufferPointer<Int>

    /// No path (a placeholder in tables indexed by slot).
    public static let empty = PathKey(bytes: UnsafeBufferPointer(start: nil, count: 0), boundaries: UnsafeBufferPointer(start: nil, count: 0))

    init(bytes: UnsafeBufferPointer<UInt8>, boundaries: UnsafeBufferPointer<Int>) {
        self.bytes = bytes
        self.boundaries = boundaries
    }

    /// A key owning copies of the path's storage; release it with `deallocate`.
    public static func copy(of path: FieldPath) -> PathKey {
        let b = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(path.bytes.count, 1))
        _ = b.initialize(from: path.bytes)
        let e = UnsafeMutableBufferPointer<Int>.allocate(capacity: max(path.boundaries.count, 1))
        _ = e.initialize(from: path.boundaries)
        return PathKey(bytes: UnsafeBufferPointer(rebasing: b[0..<path.bytes.count]),
                       boundaries: UnsafeBufferPointer(rebasing: e[0..<path.boundaries.count]))
    }

    public func deallocate() {
        UnsafeMutableRawPointer(mutating: bytes.baseAddress)?.deallocate()
        UnsafeMutableRawPointer(mutating: boundaries.baseAddress)?.deallocate()
    }

    /// Whether `offset` (an index in `bytes`) is the end of a segment.
    @inline(__always) func isBoundary(_ offset: Int) -> Bool {
        if offset == bytes.count { return true }
        guard bytes[offset] == UInt8(ascii: ".") else { return false }
        for b in boundaries where b == offset { return true }
        return false
    }
}
