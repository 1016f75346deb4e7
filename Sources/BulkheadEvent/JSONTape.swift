/// A validated structural index of one JSON document: every value is a node holding byte
/// offsets into the input, so nothing is decoded until a rule asks for it.
///
/// The tape is reused from record to record (`parse` clears it but keeps its capacity), so
/// steady-state parsing does not allocate.
public struct JSONTape: Sendable {
    public enum Kind: UInt8, Sendable {
        case object, array, string, number, `true`, `false`, null
    }

    public struct Node: Sendable {
        public var kind: Kind
        /// For strings: the content contains a backslash escape and must be decoded.
        public var escaped: Bool
        /// Start offset (for strings: first byte after the opening quote).
        public var start: UInt32
        /// End offset, exclusive (for strings: the closing quote).
        public var end: UInt32
        /// Index of the first node after this value's subtree: skipping a value is O(1).
        public var after: UInt32
    }

    public struct Limits: Sendable {
        public var maxDepth: Int
        public var maxBytes: Int
        public init(maxDepth: Int = 256, maxBytes: Int = 16 << 20) {
            self.maxDepth = maxDepth
            self.maxBytes = maxBytes
        }
    }

    public private(set) var nodes: [Node] = []
    private var stack: [Int] = []
    public var limits: Limits

    public init(limits: Limits = Limits()) {
        self.limits = limits
        nodes.reserveCapacity(256)
        stack.reserveCapacity(32)
    }

    public var isEmpty: Bool { nodes.isEmpty }

    /// Parses `bytes` (one complete JSON value, surrounding whitespace allowed).
    public mutating func parse(_ bytes: UnsafeRawBufferPointer) throws(JSONError) {
        nodes.removeAll(keepingCapacity: true)
        stack.removeAll(keepingCapacity: true)
        guard bytes.count <= limits.maxBytes else {
            throw JSONError(.tooLarge, offset: limits.maxBytes)
        }
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            throw JSONError(.empty, offset: 0)
        }
        var scanner = Scanner(p: base, count: bytes.count, maxDepth: limits.maxDepth)
        try scanner.run(nodes: &nodes, stack: &stack)
    }
}

public struct JSONError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case empty = "empty record"
        case unexpectedEnd = "truncated JSON (unexpected end of input)"
        case unexpectedByte = "unexpected character"
        case invalidUTF8 = "invalid UTF-8 in string"
        case invalidEscape = "invalid escape in string"
        case controlCharacter = "unescaped control character in string"
        case invalidNumber = "invalid number"
        case tooDeep = "nesting deeper than the limit"
        case tooLarge = "record larger than the limit"
        case trailingData = "data after the JSON value"
    }
    public var code: Code
    public var offset: Int
    public init(_ code: Code, offset: Int) {
        self.code = code
        self.offset = offset
    }
    public var description: String { "\(code.rawValue) at byte \(offset)" }
}

private struct Scanner {
    let p: UnsafePointer<UInt8>
    let count: Int
    let maxDepth: Int
    var i = 0

    init(p: UnsafePointer<UInt8>, count: Int, maxDepth: Int) {
        self.p = p
        self.count = count
        self.maxDepth = maxDepth
    }

    @inline(__always) mutating func skipWhitespace() {
        while i < count {
            let c = p[i]
            if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { i += 1 } else { break }
        }
    }

    /// Iterative parse: containers are pushed on `stack` so hostile nesting cannot overflow
    /// the call stack.
    mutating func run(nodes: inout [JSONTape.Node], stack: inout [Int]) throws(JSONError) {
        skipWhitespace()
        if i >= count { throw JSONError(.empty, offset: 0) }
        var needValue = true
        while true {
            if needValue {
                needValue = try value(nodes: &nodes, stack: &stack)
                continue
            }
            skipWhitespace()
            guard let top = stack.last else { break }
            guard i < count else { throw JSONError(.unexpectedEnd, offset: i) }
            let c = p[i]
            let isObject = nodes[top].kind == .object
            if c == 0x2C { // ,
                i += 1
                skipWhitespace()
                if isObject { try key(nodes: &nodes) }
                needValue = true
            } else if (c == 0x7D && isObject) || (c == 0x5D && !isObject) {
                i += 1
                close(top, nodes: &nodes, stack: &stack)
            } else {
                throw JSONError(.unexpectedByte, offset: i)
            }
        }
        skipWhitespace()
        if i != count { throw JSONError(.trailingData, offset: i) }
    }

    @inline(__always) mutating func close(_ top: Int, nodes: inout [JSONTape.Node], stack: inout [Int]) {
        nodes[top].end = UInt32(i)
        nodes[top].after = UInt32(nodes.count)
        stack.removeLast()
    }

    mutating func key(nodes: inout [JSONTape.Node]) throws(JSONError) {
        guard i < count else { throw JSONError(.unexpectedEnd, offset: i) }
        guard p[i] == 0x22 else { throw JSONError(.unexpectedByte, offset: i) }
        try string(nodes: &nodes)
        skipWhitespace()
        guard i < count else { throw JSONError(.unexpectedEnd, offset: i) }
        guard p[i] == 0x3A else { throw JSONError(.unexpectedByte, offset: i) }
        i += 1
        skipWhitespace()
    }

    /// Parses a scalar, or opens a container; returns true when a non-empty container was
    /// opened and its first value comes next.
    mutating func value(nodes: inout [JSONTape.Node], stack: inout [Int]) throws(JSONError) -> Bool {
        guard i < count else { throw JSONError(.unexpectedEnd, offset: i) }
        let c = p[i]
        switch c {
        case 0x7B, 0x5B: // { [
            if stack.count >= maxDepth { throw JSONError(.tooDeep, offset: i) }
            let kind: JSONTape.Kind = c == 0x7B ? .object : .array
            let index = nodes.count
            nodes.append(.init(kind: kind, escaped: false, start: UInt32(i), end: 0, after: 0))
            i += 1
            skipWhitespace()
            guard i < count else { throw JSONError(.unexpectedEnd, offset: i) }
            if (kind == .object && p[i] == 0x7D) || (kind == .array && p[i] == 0x5D) {
                i += 1
                nodes[index].end = UInt32(i)
                nodes[index].after = UInt32(nodes.count)
                return false
            }
            stack.append(index)
            if kind == .object { try key(nodes: &nodes) }
            return true
        case 0x22:
            try string(nodes: &nodes)
        case 0x74: try literal("true", .true, nodes: &nodes)
        case 0x66: try literal("false", .false, nodes: &nodes)
        case 0x6E: try literal("null", .null, nodes: &nodes)
        case 0x2D, 0x30...0x39: try number(nodes: &nodes)
        default: throw JSONError(.unexpectedByte, offset: i)
        }
        return false
    }

    mutating func literal(_ word: StaticString, _ kind: JSONTape.Kind, nodes: inout [JSONTape.Node]) throws(JSONError) {
        let n = word.utf8CodeUnitCount
        guard i + n <= count else { throw JSONError(.unexpectedEnd, offset: i) }
        let w = word.utf8Start
        for k in 0..<n where p[i + k] != w[k] { throw JSONError(.unexpectedByte, offset: i + k) }
        nodes.append(.init(kind: kind, escaped: false, start: UInt32(i), end: UInt32(i + n), after: UInt32(nodes.count + 1)))
        i += n
    }

    mutating func number(nodes: inout [JSONTape.Node]) throws(JSONError) {
        let start = i
        if p[i] == 0x2D { i += 1 }
        guard i < count else { throw JSONError(.unexpectedEnd, offset: i) }
        if p[i] == 0x30 {
            i += 1
        } else if p[i] >= 0x31 && p[i] <= 0x39 {
            while i < count && p[i] >= 0x30 && p[i] <= 0x39 { i += 1 }
        } else {
            throw JSONError(.invalidNumber, offset: i)
        }
        if i < count && p[i] == 0x2E {
            i += 1
            let d = i
            while i < count && p[i] >= 0x30 && p[i] <= 0x39 { i += 1 }
            if i == d { throw JSONError(.invalidNumber, offset: i) }
        }
        if i < count && (p[i] == 0x65 || p[i] == 0x45) {
            i += 1
            if i < count && (p[i] == 0x2B || p[i] == 0x2D) { i += 1 }
            let d = i
            while i < count && p[i] >= 0x30 && p[i] <= 0x39 { i += 1 }
            if i == d { throw JSONError(.invalidNumber, offset: i) }
        }
        nodes.append(.init(kind: .number, escaped: false, start: UInt32(start), end: UInt32(i), after: UInt32(nodes.count + 1)))
    }

    /// Validates a string (escapes, control characters, UTF-8) and records its content range.
    mutating func string(nodes: inout [JSONTape.Node]) throws(JSONError) {
        i += 1 // opening quote
        let start = i
        var escaped = false
        while true {
            // Fast path: plain ASCII run, eight bytes at a time (SWAR: a word holds a quote,
            // a backslash, a control character or a non-ASCII byte, or it is skipped whole),
            // then byte by byte to the exact position.
            while i &+ 8 <= count {
                let w = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
                let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
                let quote = w ^ (ones &* 0x22), backslash = w ^ (ones &* 0x5C)
                let special = ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | ((w &- ones &* 0x20) & ~w) | w
                if special & highs != 0 { break }
                i &+= 8
            }
            while i < count {
                let c = p[i]
                if c == 0x22 || c == 0x5C || c < 0x20 || c >= 0x80 { break }
                i += 1
            }
            guard i < count else { throw JSONError(.unexpectedEnd, offset: i) }
            let c = p[i]
            if c == 0x22 { break }
            if c == 0x5C {
                escaped = true
                guard i + 1 < count else { throw JSONError(.unexpectedEnd, offset: i) }
                switch p[i + 1] {
                case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74: i += 2
                case 0x75:
                    guard i + 6 <= count else { throw JSONError(.unexpectedEnd, offset: i) }
                    for k in 2..<6 where hexValue(p[i + k]) == nil { throw JSONError(.invalidEscape, offset: i) }
                    i += 6
                default: throw JSONError(.invalidEscape, offset: i)
                }
            } else if c < 0x20 {
                throw JSONError(.controlCharacter, offset: i)
            } else {
                i = try utf8Sequence(at: i)
            }
        }
        nodes.append(.init(kind: .string, escaped: escaped, start: UInt32(start), end: UInt32(i), after: UInt32(nodes.count + 1)))
        i += 1 // closing quote
    }

    /// Validates one multi-byte UTF-8 sequence starting at `j`, returns the index after it.
    func utf8Sequence(at j: Int) throws(JSONError) -> Int {
        guard let end = UTF8Sequence.end(p, at: j, count: count) else { throw JSONError(.invalidUTF8, offset: j) }
        return end
    }
}

/// UTF-8 validation shared by the JSON reader and the JSON writer.
enum UTF8Sequence {
    /// The index after the well-formed multi-byte sequence starting at `j` (RFC 3629: no
    /// overlongs, no surrogates, nothing past U+10FFFF), or nil.
    @inline(__always) static func end(_ p: UnsafePointer<UInt8>, at j: Int, count: Int) -> Int? {
        let len: Int
        var lower: UInt8 = 0x80, upper: UInt8 = 0xBF
        switch p[j] {
        case 0xC2...0xDF: len = 2
        case 0xE0: len = 3; lower = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: len = 3
        case 0xED: len = 3; upper = 0x9F
        case 0xF0: len = 4; lower = 0x90
        case 0xF1...0xF3: len = 4
        case 0xF4: len = 4; upper = 0x8F
        default: return nil
        }
        guard j + len <= count, p[j + 1] >= lower && p[j + 1] <= upper else { return nil }
        for k in 2..<len where p[j + k] & 0xC0 != 0x80 { return nil }
        return j + len
    }
}

@inline(__always) func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case 0x30...0x39: return c - 0x30
    case 0x41...0x46: return c - 0x41 + 10
    case 0x61...0x66: return c - 0x61 + 10
    default: return nil
    }
}
