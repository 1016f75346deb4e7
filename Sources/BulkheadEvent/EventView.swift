/// A lazy, zero-copy view of one parsed JSON record: the input bytes plus their tape.
///
/// Valid only while the bytes and the tape it was made from are alive (inside the
/// `withUnsafeBytes` scope of the reader). Values are read on demand.
public struct EventView {
    public let base: UnsafePointer<UInt8>
    public let count: Int
    public let nodes: UnsafeBufferPointer<JSONTape.Node>
    /// Reused buffer for decoding escaped strings.
    public let scratch: ScratchBuffer

    public init(base: UnsafePointer<UInt8>, count: Int, nodes: UnsafeBufferPointer<JSONTape.Node>, scratch: ScratchBuffer) {
        self.base = base
        self.count = count
        self.nodes = nodes
        self.scratch = scratch
    }

    /// Runs `body` with a view of `bytes` parsed into `tape`.
    public static func with<R>(
        bytes: UnsafeRawBufferPointer, tape: inout JSONTape, scratch: ScratchBuffer,
        _ body: (EventView) throws -> R
    ) throws -> R {
        try tape.parse(bytes)
        return try tape.nodes.withUnsafeBufferPointer { nodes in
            let base = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
            return try body(EventView(base: base, count: bytes.count, nodes: nodes, scratch: scratch))
        }
    }

    public var root: Int { 0 }

    @inline(__always) public func kind(_ node: Int) -> JSONTape.Kind { nodes[node].kind }

    /// Raw bytes of a node (string content without quotes, still escaped if `escaped`).
    @inline(__always) public func rawBytes(_ node: Int) -> UnsafeBufferPointer<UInt8> {
        let n = nodes[node]
        return UnsafeBufferPointer(start: base + Int(n.start), count: Int(n.end) - Int(n.start))
    }

    /// The value's text as Sigma compares it: string content unescaped, numbers and
    /// booleans as written, `null` as `null`. The buffer is valid only inside `body`.
    @inline(__always)
    public func withText<R>(_ node: Int, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        let n = nodes[node]
        if n.kind == .string && n.escaped {
            return scratch.withUnescaped(rawBytes(node), body)
        }
        if n.kind == .object || n.kind == .array {
            return body(UnsafeBufferPointer(start: base + Int(n.start), count: Int(n.end) - Int(n.start)))
        }
        return body(rawBytes(node))
    }

    /// Decoded string value (allocates: for output, not for the hot path).
    public func string(_ node: Int) -> String {
        withText(node) { String(decoding: $0, as: UTF8.self) }
    }

    /// The whole record's bytes.
    public var recordBytes: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: base, count: count) }

    // MARK: Field access

    /// Calls `visit` for each value the path reaches; a path crossing arrays fans out to
    /// every element, and a leaf array yields its elements. Stops early when `visit`
    /// returns true; returns whether it did.
    @discardableResult
    public func forEachValue(_ path: FieldPath, _ visit: (Int) -> Bool) -> Bool {
        path.withKey { forEachValue($0, visit) }
    }

    /// `forEachValue` for a path in raw storage (compiled programs: no reference counting).
    @discardableResult @inline(__always)
    public func forEachValue(_ key: PathKey, _ visit: (Int) -> Bool) -> Bool {
        guard !nodes.isEmpty else { return false }
        return walk(node: 0, offset: 0, key: key, visit)
    }

    /// `forEachValue` starting from the root keys `index` lists by first byte, instead of
    /// comparing the path with every root key (an audit record has about twenty).
    @discardableResult @inline(__always)
    public func forEachValue(_ key: PathKey, index: RootKeyIndex, _ visit: (Int) -> Bool) -> Bool {
        guard index.usable, !key.bytes.isEmpty else { return forEachValue(key, visit) }
        var o = index.first(key.bytes[0])
        while o >= 0 {
            let k = index.keyNode(o)
            if let next = matchKey(k, path: key, from: 0), walk(node: k + 1, offset: next, key: key, visit) { return true }
            o = index.next(o)
        }
        return false
    }

    /// Whether the path reaches any value (a JSON null counts as present).
    public func exists(_ path: FieldPath) -> Bool {
        forEachValue(path) { _ in true }
    }

    /// The first value the path reaches.
    public func first(_ path: FieldPath) -> Int? {
        var found: Int?
        forEachValue(path) { found = $0; return true }
        return found
    }

    /// The first string the path reaches, decoded (for entity extraction and output).
    public func firstString(_ path: FieldPath) -> String? {
        guard let n = first(path) else { return nil }
        if kind(n) == .null { return nil }
        return string(n)
    }

    private func walk(node: Int, offset: Int, key path: PathKey, _ visit: (Int) -> Bool) -> Bool {
        let n = nodes[node]
        if offset >= path.bytes.count {
            if n.kind == .array {
                var child = node + 1
                let after = Int(n.after)
                while child < after {
                    if walk(node: child, offset: offset, key: path, visit) { return true }
                    child = Int(nodes[child].after)
                }
                return false
            }
            return visit(node)
        }
        switch n.kind {
        case .object:
            var key = node + 1
            let after = Int(n.after)
            while key < after {
                let value = key + 1
                if let next = matchKey(key, path: path, from: offset) {
                    if walk(node: value, offset: next, key: path, visit) { return true }
                }
                key = Int(nodes[value].after)
            }
            return false
        case .array:
            var child = node + 1
            let after = Int(n.after)
            while child < after {
                if walk(node: child, offset: offset, key: path, visit) { return true }
                child = Int(nodes[child].after)
            }
            return false
        default:
            return false
        }
    }

    /// If the key equals the path from `from` up to a segment boundary, returns the offset of
    /// the next segment (past the dot), or `path.bytes.count` when the path is consumed.
    @inline(__always)
    private func matchKey(_ key: Int, path: PathKey, from: Int) -> Int? {
        let k = nodes[key]
        let remaining = path.bytes.count - from
        if k.escaped {
            return scratch.withUnescaped(rawBytes(key)) { keyBytes in
                guard keyBytes.count <= remaining else { return nil }
                for j in 0..<keyBytes.count where keyBytes[j] != path.bytes[from + j] { return nil }
                return next(path, from + keyBytes.count)
            }
        }
        let len = Int(k.end) - Int(k.start)
        guard len <= remaining else { return nil }
        // Keys are short: compare the first byte, then the rest.
        let kp = base + Int(k.start)
        let pp = path.bytes.baseAddress! + from
        if len > 0 && kp[0] != pp[0] { return nil }
        var j = 1
        while j < len {
            if kp[j] != pp[j] { return nil }
            j += 1
        }
        return next(path, from + len)
    }

    @inline(__always)
    private func next(_ path: PathKey, _ end: Int) -> Int? {
        guard path.isBoundary(end) else { return nil }
        return end == path.bytes.count ? end : end + 1
    }

    /// The value of `key` directly inside the object `node` (no dotted walking; keys compared
    /// as written).
    public func child(_ node: Int?, _ key: StaticString) -> Int? {
        guard let node, nodes[node].kind == .object else { return nil }
        let p = key.utf8Start
        let n = key.utf8CodeUnitCount
        var k = node + 1
        let after = Int(nodes[node].after)
        while k < after {
            let kn = nodes[k]
            if Int(kn.end) - Int(kn.start) == n {
                var same = true
                for i in 0..<n where base[Int(kn.start) + i] != p[i] { same = false; break }
                if same { return k + 1 }
            }
            k = Int(nodes[k + 1].after)
        }
        return nil
    }

    /// Calls `body` with the key and value nodes of each member of the object `node`.
    public func forEachMember(_ node: Int, _ body: (_ key: Int, _ value: Int) -> Void) {
        guard nodes[node].kind == .object else { return }
        var k = node + 1
        let after = Int(nodes[node].after)
        while k < after {
            body(k, k + 1)
            k = Int(nodes[k + 1].after)
        }
    }

    /// Decoded text of a scalar node (nil for null / containers / missing).
    public func text(_ node: Int?) -> String? {
        guard let node else { return nil }
        switch kind(node) {
        case .string, .number, .true, .false: return string(node)
        default: return nil
        }
    }

    /// Visits every scalar leaf of the record (for keyword searches).
    @discardableResult
    public func forEachLeaf(_ visit: (Int) -> Bool) -> Bool {
        leaves(node: 0, visit)
    }

    private func leaves(node: Int, _ visit: (Int) -> Bool) -> Bool {
        let n = nodes[node]
        switch n.kind {
        case .object:
            var key = node + 1
            let after = Int(n.after)
            while key < after {
                if leaves(node: key + 1, visit) { return true }
                key = Int(nodes[key + 1].after)
            }
            return false
        case .array:
            var child = node + 1
            let after = Int(n.after)
            while child < after {
                if leaves(node: child, visit) { return true }
                child = Int(nodes[child].after)
            }
            return false
        default:
            return visit(node)
        }
    }
}

/// The root object's keys of one record, chained by first byte in document order, so a path
/// lookup compares only the keys that can match. Reused from record to record (`rebuild`);
/// not usable for a record whose root has an escaped or empty key (lookups then scan).
public final class RootKeyIndex {
    // Per first byte: the first and last key ordinal, valid while `stamp` is the record's.
    private let head = UnsafeMutablePointer<Int32>.allocate(capacity: 256)
    private let tail = UnsafeMutablePointer<Int32>.allocate(capacity: 256)
    private let stamp = UnsafeMutablePointer<UInt32>.allocate(capacity: 256)
    private var generation: UInt32 = 0
    // Per key ordinal: its node and the next ordinal with the same first byte (-1: none).
    private var nodeOf: UnsafeMutablePointer<Int32>
    private var nextOf: UnsafeMutablePointer<Int32>
    private var capacity = 64
    public private(set) var usable = false

    public init() {
        stamp.initialize(repeating: 0, count: 256)
        head.initialize(repeating: -1, count: 256)
        tail.initialize(repeating: -1, count: 256)
        nodeOf = .allocate(capacity: capacity)
        nextOf = .allocate(capacity: capacity)
    }

    deinit {
        head.deallocate(); tail.deallocate(); stamp.deallocate(); nodeOf.deallocate(); nextOf.deallocate()
    }

    /// Indexes the root keys of `e`.
    public func rebuild(_ e: EventView) {
        usable = false
        guard !e.nodes.isEmpty, e.nodes[0].kind == .object else { return }
        generation &+= 1
        if generation == 0 {
            stamp.update(repeating: 0, count: 256)
            generation = 1
        }
        let after = Int(e.nodes[0].after)
        var k = 1
        var count: Int32 = 0
        while k < after {
            let n = e.nodes[k]
            if n.escaped || n.end == n.start { return }
            if Int(count) == capacity { grow() }
            let b = Int(e.base[Int(n.start)])
            nodeOf[Int(count)] = Int32(k)
            nextOf[Int(count)] = -1
            if stamp[b] != generation {
                stamp[b] = generation
                head[b] = count
            } else {
                nextOf[Int(tail[b])] = count
            }
            tail[b] = count
            count += 1
            k = Int(e.nodes[k + 1].after)
        }
        usable = true
    }

    private func grow() {
        let n = capacity * 2
        let nodes = UnsafeMutablePointer<Int32>.allocate(capacity: n), nexts = UnsafeMutablePointer<Int32>.allocate(capacity: n)
        nodes.update(from: nodeOf, count: capacity)
        nexts.update(from: nextOf, count: capacity)
        nodeOf.deallocate(); nextOf.deallocate()
        nodeOf = nodes; nextOf = nexts
        capacity = n
    }

    @inline(__always) func first(_ byte: UInt8) -> Int32 { stamp[Int(byte)] == generation ? head[Int(byte)] : -1 }
    @inline(__always) func keyNode(_ ordinal: Int32) -> Int { Int(nodeOf[Int(ordinal)]) }
    @inline(__always) func next(_ ordinal: Int32) -> Int32 { nextOf[Int(ordinal)] }
}

/// A growable byte buffer reused across events for decoding escaped JSON strings.
public final class ScratchBuffer {
    private final class Level {
        var bytes: [UInt8] = []
        init() { bytes.reserveCapacity(1024) }
    }
    // One buffer per nesting level: a field lookup inside a value's decode (fieldref) must
    // not overwrite the outer value.
    private var levels: [Level] = [Level(), Level(), Level(), Level()]
    private var depth = 0

    public init() {}

    public func withUnescaped<R>(_ raw: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if depth == levels.count { levels.append(Level()) }
        let level = levels[depth]
        depth += 1
        defer { depth -= 1 }
        level.bytes.removeAll(keepingCapacity: true)
        JSONString.unescape(raw, into: &level.bytes)
        return level.bytes.withUnsafeBufferPointer(body)
    }
}

public enum JSONString {
    /// Decodes JSON escapes (including surrogate pairs) into UTF-8.
    public static func unescape(_ raw: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        var i = 0
        let n = raw.count
        while i < n {
            let c = raw[i]
            if c != 0x5C { out.append(c); i += 1; continue }
            guard i + 1 < n else { break }
            let e = raw[i + 1]
            i += 2
            switch e {
            case 0x62: out.append(0x08)
            case 0x66: out.append(0x0C)
            case 0x6E: out.append(0x0A)
            case 0x72: out.append(0x0D)
            case 0x74: out.append(0x09)
            case 0x75:
                guard let u = hex4(raw, i) else { break }
                i += 4
                var scalar = u
                if u >= 0xD800 && u < 0xDC00, i + 6 <= n, raw[i] == 0x5C, raw[i + 1] == 0x75, let lo = hex4(raw, i + 2),
                   lo >= 0xDC00 && lo < 0xE000 {
                    scalar = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00)
                    i += 6
                }
                appendUTF8(scalar, &out)
            default: out.append(e)
            }
        }
    }

    @inline(__always) static func hex4(_ raw: UnsafeBufferPointer<UInt8>, _ i: Int) -> UInt32? {
        guard i + 4 <= raw.count else { return nil }
        var v: UInt32 = 0
        for k in 0..<4 {
            guard let h = hexValue(raw[i + k]) else { return nil }
            v = v << 4 | UInt32(h)
        }
        return v
    }

    static func appendUTF8(_ scalar: UInt32, _ out: inout [UInt8]) {
        // Lone surrogates become U+FFFD so the output stays valid UTF-8.
        let s = (scalar >= 0xD800 && scalar < 0xE000) ? 0xFFFD : scalar
        switch s {
        case 0..<0x80: out.append(UInt8(s))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | (s >> 6))); out.append(UInt8(0x80 | (s & 0x3F)))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | (s >> 12))); out.append(UInt8(0x80 | ((s >> 6) & 0x3F))); out.append(UInt8(0x80 | (s & 0x3F)))
        default:
            out.append(UInt8(0xF0 | (s >> 18))); out.append(UInt8(0x80 | ((s >> 12) & 0x3F)))
            out.append(UInt8(0x80 | ((s >> 6) & 0x3F))); out.append(UInt8(0x80 | (s & 0x3F)))
        }
    }

    /// Appends `text` as a JSON string literal (with quotes), escaping what JSON requires
    /// and control characters.
    public static func appendQuoted(_ text: some StringProtocol, to out: inout [UInt8]) {
        out.append(0x22)
        if text.utf8.withContiguousStorageIfAvailable({ appendEscaped(contentsOf: $0, &out) }) == nil {
            Array(text.utf8).withUnsafeBufferPointer { appendEscaped(contentsOf: $0, &out) }
        }
        out.append(0x22)
    }

    public static func appendQuoted(bytes: some Sequence<UInt8>, to out: inout [UInt8]) {
        out.append(0x22)
        if bytes.withContiguousStorageIfAvailable({ appendEscaped(contentsOf: $0, &out) }) == nil {
            Array(bytes).withUnsafeBufferPointer { appendEscaped(contentsOf: $0, &out) }
        }
        out.append(0x22)
    }

    /// Escapes a run of bytes, copying the stretches that need no escape in bulk. Text
    /// telemetry can carry any bytes: an invalid UTF-8 sequence becomes U+FFFD, so what is
    /// written is always valid JSON (found by fuzzing the Zeek TSV reader).
    static func appendEscaped(contentsOf b: UnsafeBufferPointer<UInt8>, _ out: inout [UInt8]) {
        var start = 0
        var i = 0
        let base = UnsafeRawPointer(b.baseAddress)
        while i < b.count {
            // Eight plain bytes at a time (no quote, backslash, control, DEL or non-ASCII byte),
            // as the reader scans strings.
            if let base {
                while i &+ 8 <= b.count {
                    let w = (base + i).loadUnaligned(as: UInt64.self)
                    let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
                    let quote = w ^ (ones &* 0x22), backslash = w ^ (ones &* 0x5C), del = w ^ (ones &* 0x7F)
                    let special = ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | ((del &- ones) & ~del)
                        | ((w &- ones &* 0x20) & ~w) | w
                    if special & highs != 0 { break }
                    i &+= 8
                }
                if i >= b.count { break }
            }
            let c = b[i]
            if c >= 0x80 {
                if let end = UTF8Sequence.end(b.baseAddress!, at: i, count: b.count) {
                    i = end
                    continue
                }
                if i > start { out.append(contentsOf: UnsafeBufferPointer(rebasing: b[start..<i])) }
                out.append(contentsOf: [0xEF, 0xBF, 0xBD])
                i += 1
                start = i
                continue
            }
            if c < 0x20 || c == 0x22 || c == 0x5C || c == 0x7F {
                if i > start { out.append(contentsOf: UnsafeBufferPointer(rebasing: b[start..<i])) }
                appendEscaped(c, &out)
                start = i + 1
            }
            i += 1
        }
        if start < b.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: b[start..<b.count])) }
    }

    @inline(__always) static func appendEscaped(_ c: UInt8, _ out: inout [UInt8]) {
        switch c {
        case 0x22: out.append(0x5C); out.append(0x22)
        case 0x5C: out.append(0x5C); out.append(0x5C)
        case 0x0A: out.append(0x5C); out.append(0x6E)
        case 0x0D: out.append(0x5C); out.append(0x72)
        case 0x09: out.append(0x5C); out.append(0x74)
        case 0..<0x20, 0x7F:
            @inline(__always) func hex(_ v: UInt8) -> UInt8 { v < 10 ? 0x30 + v : 0x61 + v - 10 }
            out.append(0x5C); out.append(0x75); out.append(0x30); out.append(0x30)
            out.append(hex(c >> 4)); out.append(hex(c & 0xF))
        default: out.append(c)
        }
    }
}
