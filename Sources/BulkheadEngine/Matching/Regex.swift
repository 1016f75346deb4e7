/// A linear-time regular expression matcher (Thompson NFA simulated as a Pike VM) for the
/// Sigma regex flavor: `.`, `^`, `$`, `* + ? {n,m}` (greedy or lazy), classes, alternation,
/// groups, the escapes `\d \w \s \D \W \S \b \B`, and the flags i, m, s (also inline `(?i)`).
///
/// Rules come from outside and values from attackers: matching time is O(pattern × input)
/// whatever the pattern, so no value can make a rule backtrack catastrophically.
/// Backreferences and lookaround are outside Sigma's flavor and are refused at compile time.
public struct SigmaRegex: Sendable, Hashable {
    /// The same pattern with the same flags is the same regex.
    public static func == (a: SigmaRegex, b: SigmaRegex) -> Bool { a.pattern == b.pattern && a.flags == b.flags }
    public func hash(into h: inout Hasher) { h.combine(pattern); h.combine(flags) }

    public struct Flags: Sendable, Hashable {
        public var caseInsensitive = false
        public var multiline = false
        public var dotAll = false
        public init(caseInsensitive: Bool = false, multiline: Bool = false, dotAll: Bool = false) {
            self.caseInsensitive = caseInsensitive
            self.multiline = multiline
            self.dotAll = dotAll
        }
    }

    public struct CompileError: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    enum Inst: Sendable {
        case byteClass(ClassSet)        // consumes one scalar in the set
        case any(dotAll: Bool)          // consumes one scalar
        case split(Int, Int)            // try both (priority irrelevant: we only test existence)
        case jump(Int)
        case assertStart(multiline: Bool)
        case assertEnd(multiline: Bool)
        case wordBoundary(Bool)         // true: \b, false: \B
        case match
    }

    let program: [Inst]
    public let pattern: String
    /// Longest literal every match must contain (for a cheap prefilter), lowercased when `i`.
    public let requiredLiteral: [UInt8]
    public let flags: Flags

    static let maxProgram = 20_000

    public init(_ pattern: String, flags: Flags = Flags()) throws {
        var flags = flags
        var text = Substring(pattern)
        // Leading inline flags: (?i), (?s), (?m), (?is) ...
        while text.hasPrefix("(?"), let close = text.firstIndex(of: ")") {
            let inner = text[text.index(text.startIndex, offsetBy: 2)..<close]
            guard !inner.isEmpty, inner.allSatisfy({ "ims".contains($0) }) else { break }
            if inner.contains("i") { flags.caseInsensitive = true }
            if inner.contains("m") { flags.multiline = true }
            if inner.contains("s") { flags.dotAll = true }
            text = text[text.index(after: close)...]
        }
        var parser = RegexParser(scalars: Array(text.unicodeScalars), flags: flags)
        let ast = try parser.parseAlternation()
        if parser.pos < parser.scalars.count {
            throw CompileError(message: "unbalanced `)` at position \(parser.pos)")
        }
        var compiler = RegexCompiler(flags: flags)
        compiler.emit(ast)
        compiler.program.append(.match)
        guard compiler.program.count <= Self.maxProgram else {
            throw CompileError(message: "regex expands to more than \(Self.maxProgram) instructions")
        }
        self.program = compiler.program
        self.pattern = pattern
        self.flags = flags
        var lit = ast.requiredLiteral()
        if flags.caseInsensitive { lit = lit.map(asciiLower) }
        self.requiredLiteral = lit
    }

    /// Whether the regex matches anywhere in `input` (search semantics, as backends use).
    public func matches(_ input: UnsafeBufferPointer<UInt8>, state: RegexState) -> Bool {
        state.prepare(count: program.count)
        // Moved out, not copied: a copy would share the arrays with `state`, and the first
        // write would then copy them (several allocations per call).
        var clist = ThreadList(), nlist = ThreadList()
        swap(&clist, &state.current)
        swap(&nlist, &state.next)
        defer { swap(&clist, &state.current); swap(&nlist, &state.next) }
        clist.clear()
        var pos = 0
        let n = input.count
        var prevWord = false
        while true {
            // Unanchored search: a new thread starts at every position.
            addThread(&clist, 0, pos: pos, input: input, prevWord: prevWord)
            if clist.containsMatch { return true }
            if pos >= n { return false }
            let (scalar, len) = decodeScalar(input, pos)
            nlist.clear()
            for k in 0..<clist.count {
                let pc = clist.dense[k]
                switch program[pc] {
                case .byteClass(let set):
                    if set.contains(scalar, caseInsensitive: flags.caseInsensitive) {
                        addThread(&nlist, pc + 1, pos: pos + len, input: input, prevWord: isWord(scalar))
                    }
                case .any(let dotAll):
                    if dotAll || scalar != 0x0A {
                        addThread(&nlist, pc + 1, pos: pos + len, input: input, prevWord: isWord(scalar))
                    }
                default: break
                }
            }
            swap(&clist, &nlist)
            if clist.containsMatch { return true }
            prevWord = isWord(scalar)
            pos += len
        }
    }

    private func addThread(_ list: inout ThreadList, _ pc: Int, pos: Int, input: UnsafeBufferPointer<UInt8>, prevWord: Bool) {
        // Explicit stack: epsilon closure without recursion.
        var stackTop = 0
        list.stack[stackTop] = pc
        stackTop = 1
        while stackTop > 0 {
            stackTop -= 1
            let pc = list.stack[stackTop]
            if list.contains(pc) { continue }
            list.insert(pc)
            switch program[pc] {
            case .jump(let t):
                list.stack[stackTop] = t; stackTop += 1
            case .split(let a, let b):
                list.stack[stackTop] = b; stackTop += 1
                list.stack[stackTop] = a; stackTop += 1
            case .assertStart(let ml):
                if pos == 0 || (ml && input[pos - 1] == 0x0A) { list.stack[stackTop] = pc + 1; stackTop += 1 }
            case .assertEnd(let ml):
                if pos == input.count || (ml && input[pos] == 0x0A) ||
                    (!ml && pos == input.count - 1 && input[pos] == 0x0A) {
                    list.stack[stackTop] = pc + 1; stackTop += 1
                }
            case .wordBoundary(let want):
                let nextWord = pos < input.count && isWord(UInt32(input[pos]))
                if (prevWord != nextWord) == want { list.stack[stackTop] = pc + 1; stackTop += 1 }
            case .match:
                list.containsMatch = true
            default: break
            }
        }
    }
}

/// Per-evaluator matching state (thread lists), reused across events.
public final class RegexState {
    var current = ThreadList()
    var next = ThreadList()
    public init() {}
    func prepare(count: Int) {
        current.resize(count)
        next.resize(count)
    }
}

/// A sparse set of program counters: O(1) insert, membership and clear.
struct ThreadList {
    var dense: [Int] = []
    var sparse: [Int] = []
    var stack: [Int] = []
    var count = 0
    var containsMatch = false

    mutating func resize(_ n: Int) {
        if sparse.count < n {
            sparse = Array(repeating: 0, count: n)
            dense = Array(repeating: 0, count: n)
            stack = Array(repeating: 0, count: n * 2 + 2)
        }
        count = 0
        containsMatch = false
    }
    mutating func clear() { count = 0; containsMatch = false }
    @inline(__always) func contains(_ pc: Int) -> Bool {
        let i = sparse[pc]
        return i < count && dense[i] == pc
    }
    @inline(__always) mutating func insert(_ pc: Int) {
        sparse[pc] = count
        dense[count] = pc
        count += 1
    }
}

@inline(__always) func isWord(_ s: UInt32) -> Bool {
    (s >= 0x30 && s <= 0x39) || (s >= 0x41 && s <= 0x5A) || (s >= 0x61 && s <= 0x7A) || s == 0x5F
}

@inline(__always) func asciiLower(_ c: UInt8) -> UInt8 { (c >= 0x41 && c <= 0x5A) ? c | 0x20 : c }

/// Decodes one UTF-8 scalar; invalid bytes decode as themselves (length 1).
@inline(__always) func decodeScalar(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> (UInt32, Int) {
    let c0 = b[i]
    if c0 < 0x80 { return (UInt32(c0), 1) }
    let n = b.count
    if c0 & 0xE0 == 0xC0, i + 1 < n { return (UInt32(c0 & 0x1F) << 6 | UInt32(b[i + 1] & 0x3F), 2) }
    if c0 & 0xF0 == 0xE0, i + 2 < n {
        return (UInt32(c0 & 0x0F) << 12 | UInt32(b[i + 1] & 0x3F) << 6 | UInt32(b[i + 2] & 0x3F), 3)
    }
    if c0 & 0xF8 == 0xF0, i + 3 < n {
        return (UInt32(c0 & 0x07) << 18 | UInt32(b[i + 1] & 0x3F) << 12 | UInt32(b[i + 2] & 0x3F) << 6 | UInt32(b[i + 3] & 0x3F), 4)
    }
    return (UInt32(c0), 1)
}

/// A set of scalars: ranges, optionally negated.
struct ClassSet: Sendable {
    var ranges: [ClosedRange<UInt32>]
    var negated: Bool

    func contains(_ s: UInt32, caseInsensitive: Bool) -> Bool {
        var hit = ranges.contains { $0.contains(s) }
        if !hit && caseInsensitive {
            let alt: UInt32
            if s >= 0x41 && s <= 0x5A { alt = s + 32 } else if s >= 0x61 && s <= 0x7A { alt = s - 32 } else { alt = s }
            if alt != s { hit = ranges.contains { $0.contains(alt) } }
        }
        return hit != negated
    }

    static let digit = ClassSet(ranges: [0x30...0x39], negated: false)
    static let word = ClassSet(ranges: [0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x5F...0x5F], negated: false)
    static let space = ClassSet(ranges: [0x09...0x0D, 0x20...0x20], negated: false)
}

indirect enum RegexNode {
    case empty
    case literal(UInt32)
    case set(ClassSet)
    case any
    case start, end
    case wordBoundary(Bool)
    case concat([RegexNode])
    case alternation([RegexNode])
    case repeatNode(RegexNode, min: Int, max: Int?) // max nil = unbounded

    /// The longest run of literal scalars every match must contain (ASCII only).
    func requiredLiteral() -> [UInt8] {
        switch self {
        case .literal(let s): return s < 0x80 ? [UInt8(s)] : []
        case .concat(let parts):
            var best: [UInt8] = [], run: [UInt8] = []
            for p in parts {
                if case .literal(let s) = p, s < 0x80 { run.append(UInt8(s)); continue }
                if case .start = p { continue }
                if case .end = p { continue }
                if case .wordBoundary = p { continue }
                if run.count > best.count { best = run }
                run = []
                let inner = p.requiredLiteral()
                if inner.count > best.count { best = inner }
            }
            return run.count > best.count ? run : best
        case .repeatNode(let n, let min, _): return min >= 1 ? n.requiredLiteral() : []
        default: return []
        }
    }
}

struct RegexParser {
    let scalars: [Unicode.Scalar]
    let flags: SigmaRegex.Flags
    var pos = 0
    var depth = 0

    init(scalars: [Unicode.Scalar], flags: SigmaRegex.Flags) {
        self.scalars = scalars
        self.flags = flags
    }

    func fail(_ m: String) -> SigmaRegex.CompileError { .init(message: m) }
    var peek: Unicode.Scalar? { pos < scalars.count ? scalars[pos] : nil }

    mutating func parseAlternation() throws -> RegexNode {
        depth += 1
        defer { depth -= 1 }
        if depth > 100 { throw fail("regex nested deeper than 100 groups") }
        var alts = [try parseConcat()]
        while peek == "|" {
            pos += 1
            alts.append(try parseConcat())
        }
        return alts.count == 1 ? alts[0] : .alternation(alts)
    }

    mutating func parseConcat() throws -> RegexNode {
        var parts: [RegexNode] = []
        while let c = peek, c != "|", c != ")" {
            var atom = try parseAtom()
            atom = try parseQuantifiers(atom)
            parts.append(atom)
        }
        return parts.count == 1 ? parts[0] : (parts.isEmpty ? .empty : .concat(parts))
    }

    mutating func parseQuantifiers(_ atom: RegexNode) throws -> RegexNode {
        var node = atom
        while let c = peek {
            var min = 0, max: Int? = nil
            switch c {
            case "*": pos += 1
            case "+": pos += 1; min = 1
            case "?": pos += 1; max = 1
            case "{":
                guard let (lo, hi, len) = parseBraces(at: pos) else { return node }
                pos += len
                min = lo; max = hi
                if min > 1000 || (max ?? 0) > 1000 { throw fail("repetition count above 1000") }
                if let hi = max, hi < lo { throw fail("repetition {\(lo),\(hi)} has max below min") }
            default: return node
            }
            // Lazy and possessive suffixes do not change whether a match exists.
            if peek == "?" || peek == "+" { pos += 1 }
            if case .start = node { throw fail("quantifier after an anchor") }
            node = .repeatNode(node, min: min, max: max)
        }
        return node
    }

    /// `{n}`, `{n,}`, `{n,m}` at `i`; nil if it is a literal brace.
    func parseBraces(at i: Int) -> (Int, Int?, Int)? {
        var j = i + 1
        var lo = "", hi = ""
        var comma = false
        while j < scalars.count, scalars[j] != "}" {
            let s = scalars[j]
            if s == "," { if comma { return nil }; comma = true }
            else if s.properties.numericType != nil, s.value >= 0x30, s.value <= 0x39 { if comma { hi.unicodeScalars.append(s) } else { lo.unicodeScalars.append(s) } }
            else { return nil }
            j += 1
        }
        guard j < scalars.count, let l = Int(lo) else { return nil }
        let h: Int? = comma ? (hi.isEmpty ? nil : Int(hi)) : l
        return (l, h, j - i + 1)
    }

    mutating func parseAtom() throws -> RegexNode {
        let c = scalars[pos]
        pos += 1
        switch c {
        case ".": return .any
        case "^": return .start
        case "$": return .end
        case "(":
            if peek == "?" {
                guard pos + 1 < scalars.count else { throw fail("incomplete group") }
                let k = scalars[pos + 1]
                if k == ":" { pos += 2 }
                else if k == "P" || k == "<" && pos + 2 < scalars.count && scalars[pos + 2] != "=" && scalars[pos + 2] != "!" {
                    // Named group: (?P<name>...) or (?<name>...)
                    while let s = peek, s != ">" { pos += 1 }
                    guard peek == ">" else { throw fail("unterminated group name") }
                    pos += 1
                } else if k == "=" || k == "!" || k == "<" {
                    throw fail("lookaround `(?\(k)` is not in Sigma's regex flavor")
                } else {
                    throw fail("group syntax `(?\(k)` is not supported")
                }
            }
            let inner = try parseAlternation()
            guard peek == ")" else { throw fail("missing `)`") }
            pos += 1
            return inner
        case "[": return .set(try parseClass())
        case "\\": return try parseEscape(inClass: false).node
        case "*", "+", "?": throw fail("quantifier `\(c)` with nothing to repeat")
        default: return .literal(c.value)
        }
    }

    mutating func parseEscape(inClass: Bool) throws -> (node: RegexNode, scalar: UInt32?) {
        guard let e = peek else { throw fail("trailing backslash") }
        pos += 1
        switch e {
        case "d": return (.set(.digit), nil)
        case "D": var s = ClassSet.digit; s.negated = true; return (.set(s), nil)
        case "w": return (.set(.word), nil)
        case "W": var s = ClassSet.word; s.negated = true; return (.set(s), nil)
        case "s": return (.set(.space), nil)
        case "S": var s = ClassSet.space; s.negated = true; return (.set(s), nil)
        case "b": return inClass ? (.literal(8), 8) : (.wordBoundary(true), nil)
        case "B": return (.wordBoundary(false), nil)
        case "n": return (.literal(10), 10)
        case "r": return (.literal(13), 13)
        case "t": return (.literal(9), 9)
        case "f": return (.literal(12), 12)
        case "v": return (.literal(11), 11)
        case "0": return (.literal(0), 0)
        case "A": return (.start, nil)
        case "z", "Z": return (.end, nil)
        case "x":
            var v: UInt32 = 0
            var digits = 0
            if peek == "{" {
                pos += 1
                while let h = peek, h != "}" { guard let d = hexDigit(h) else { throw fail("bad \\x{...}") }; v = v * 16 + d; pos += 1; digits += 1 }
                pos += 1
            } else {
                while digits < 2, let h = peek, let d = hexDigit(h) { v = v * 16 + d; pos += 1; digits += 1 }
            }
            guard digits > 0 else { throw fail("bad \\x escape") }
            return (.literal(v), v)
        case "1"..."9": throw fail("backreference `\\\(e)` is not in Sigma's regex flavor")
        default:
            if e.properties.isAlphabetic { throw fail("escape `\\\(e)` is not supported") }
            return (.literal(e.value), e.value)
        }
    }

    func hexDigit(_ s: Unicode.Scalar) -> UInt32? {
        switch s.value {
        case 0x30...0x39: return s.value - 0x30
        case 0x41...0x46: return s.value - 0x37
        case 0x61...0x66: return s.value - 0x57
        default: return nil
        }
    }

    mutating func parseClass() throws -> ClassSet {
        var set = ClassSet(ranges: [], negated: false)
        if peek == "^" { set.negated = true; pos += 1 }
        var first = true
        while let c = peek, c != "]" || first {
            first = false
            pos += 1
            var lo: UInt32
            if c == "\\" {
                let (node, scalar) = try parseEscape(inClass: true)
                if let scalar { lo = scalar } else {
                    if case .set(let s) = node {
                        if s.negated {
                            // Complement of a small class inside a class: add its gaps.
                            var start: UInt32 = 0
                            for r in s.ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
                                if r.lowerBound > start { set.ranges.append(start...(r.lowerBound - 1)) }
                                start = r.upperBound + 1
                            }
                            set.ranges.append(start...0x10FFFF)
                        } else {
                            set.ranges.append(contentsOf: s.ranges)
                        }
                    }
                    continue
                }
            } else if c == "[", peek == ":" {
                // POSIX class [:alpha:] etc.
                guard let end = (pos..<scalars.count).first(where: { scalars[$0] == "]" }) else { throw fail("bad POSIX class") }
                let name = String(String.UnicodeScalarView(scalars[(pos + 1)..<(end - 1)]))
                pos = end + 1
                switch name {
                case "alpha": set.ranges += [0x41...0x5A, 0x61...0x7A]
                case "digit": set.ranges += [0x30...0x39]
                case "alnum": set.ranges += [0x30...0x39, 0x41...0x5A, 0x61...0x7A]
                case "space": set.ranges += [0x09...0x0D, 0x20...0x20]
                case "upper": set.ranges += [0x41...0x5A]
                case "lower": set.ranges += [0x61...0x7A]
                case "xdigit": set.ranges += [0x30...0x39, 0x41...0x46, 0x61...0x66]
                case "punct": set.ranges += [0x21...0x2F, 0x3A...0x40, 0x5B...0x60, 0x7B...0x7E]
                default: throw fail("unknown POSIX class [:\(name):]")
                }
                continue
            } else {
                lo = c.value
            }
            if peek == "-", pos + 1 < scalars.count, scalars[pos + 1] != "]" {
                pos += 1
                var hi = scalars[pos].value
                pos += 1
                if hi == 0x5C { // backslash
                    let (_, s) = try parseEscape(inClass: true)
                    guard let s else { throw fail("class range ends in a class escape") }
                    hi = s
                }
                guard hi >= lo else { throw fail("class range out of order") }
                set.ranges.append(lo...hi)
            } else {
                set.ranges.append(lo...lo)
            }
        }
        guard peek == "]" else { throw fail("missing `]`") }
        pos += 1
        return set
    }
}

struct RegexCompiler {
    let flags: SigmaRegex.Flags
    var program: [SigmaRegex.Inst] = []

    init(flags: SigmaRegex.Flags) { self.flags = flags }

    mutating func emit(_ node: RegexNode) {
        if program.count > SigmaRegex.maxProgram { return }
        switch node {
        case .empty: break
        case .literal(let s): program.append(.byteClass(ClassSet(ranges: [s...s], negated: false)))
        case .set(let set): program.append(.byteClass(set))
        case .any: program.append(.any(dotAll: flags.dotAll))
        case .start: program.append(.assertStart(multiline: flags.multiline))
        case .end: program.append(.assertEnd(multiline: flags.multiline))
        case .wordBoundary(let b): program.append(.wordBoundary(b))
        case .concat(let parts): for p in parts { emit(p) }
        case .alternation(let alts):
            var jumps: [Int] = []
            for (k, alt) in alts.enumerated() {
                if k < alts.count - 1 {
                    let split = program.count
                    program.append(.split(split + 1, 0))
                    emit(alt)
                    jumps.append(program.count)
                    program.append(.jump(0))
                    program[split] = .split(split + 1, program.count)
                } else {
                    emit(alt)
                }
            }
            for j in jumps { program[j] = .jump(program.count) }
        case .repeatNode(let inner, let min, let max):
            for _ in 0..<min { emit(inner) }
            if let max {
                // Optional copies: (inner)? repeated max-min times.
                var holes: [Int] = []
                for _ in min..<max {
                    let split = program.count
                    program.append(.split(split + 1, 0))
                    holes.append(split)
                    emit(inner)
                    if program.count > SigmaRegex.maxProgram { return }
                }
                for h in holes { program[h] = .split(h + 1, program.count) }
            } else {
                let split = program.count
                program.append(.split(split + 1, 0))
                emit(inner)
                program.append(.jump(split))
                program[split] = .split(split + 1, program.count)
            }
        }
    }
}
