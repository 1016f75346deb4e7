import BulkheadEvent
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A glob pattern (`*`, `?`) over bytes, lowered from a Sigma string value. Case folding is
/// ASCII, like the SQL backends' LIKE; the pattern is stored folded unless case-sensitive.
///
/// Compiled patterns live for the whole process (rule sets are built once): the literal and
/// the tokens are kept in immortal storage, so a `GlobPattern` is a plain value of pointers
/// and copying it on the match path costs no reference counting.
public struct GlobPattern: @unchecked Sendable, Hashable {
    public enum Token: Sendable, Hashable {
        case literal([UInt8])
        case star
        case one
    }
    /// The shape of the pattern, so the common cases skip the general matcher.
    public enum Shape: Sendable, Hashable {
        case exact([UInt8]), prefix([UInt8]), suffix([UInt8]), contains([UInt8]), any, general
    }
    enum ShapeKind: UInt8, Sendable { case exact, prefix, suffix, contains, any, general }

    private let tokenStorage: UnsafeBufferPointer<Token>
    /// The literal of the exact/prefix/suffix/contains shapes (immortal; empty otherwise).
    let literal: UnsafeBufferPointer<UInt8>
    let kind: ShapeKind
    public let caseSensitive: Bool

    public var tokens: [Token] { Array(tokenStorage) }

    /// The empty pattern (a placeholder where a value test has no pattern).
    static let none = GlobPattern(tokens: [], caseSensitive: false)

    public var shape: Shape {
        let l = Array(literal)
        switch kind {
        case .exact: return .exact(l)
        case .prefix: return .prefix(l)
        case .suffix: return .suffix(l)
        case .contains: return .contains(l)
        case .any: return .any
        case .general: return .general
        }
    }

    public static func == (a: GlobPattern, b: GlobPattern) -> Bool {
        a.caseSensitive == b.caseSensitive && a.tokenStorage.elementsEqual(b.tokenStorage)
    }

    public func hash(into h: inout Hasher) {
        h.combine(caseSensitive)
        for t in tokenStorage { h.combine(t) }
    }

    private static func immortal<T>(_ a: [T]) -> UnsafeBufferPointer<T> {
        if a.isEmpty { return UnsafeBufferPointer(start: nil, count: 0) }
        let p = UnsafeMutableBufferPointer<T>.allocate(capacity: a.count)
        _ = p.initialize(from: a)
        return UnsafeBufferPointer(p)
    }

    public init(tokens: [Token], caseSensitive: Bool) {
        var merged: [Token] = []
        for t in tokens {
            switch (merged.last, t) {
            case (.star?, .star): continue
            case (.literal(let a)?, .literal(let b)): merged[merged.count - 1] = .literal(a + b)
            default: merged.append(caseSensitive ? t : Self.folded(t))
            }
        }
        self.caseSensitive = caseSensitive
        var kind = ShapeKind.general
        var lit: [UInt8] = []
        switch merged.count {
        case 0: kind = .exact
        case 1:
            if case .literal(let l) = merged[0] { kind = .exact; lit = l } else if merged[0] == .star { kind = .any }
        case 2:
            if case .literal(let l) = merged[0], merged[1] == .star { kind = .prefix; lit = l }
            else if case .literal(let l) = merged[1], merged[0] == .star { kind = .suffix; lit = l }
        case 3:
            if merged[0] == .star, merged[2] == .star, case .literal(let l) = merged[1] { kind = .contains; lit = l }
        default: break
        }
        self.kind = kind
        self.literal = Self.immortal(lit)
        self.tokenStorage = Self.immortal(merged)
    }

    static func folded(_ t: Token) -> Token {
        if case .literal(let l) = t { return .literal(l.map(asciiLower)) }
        return t
    }

    /// Parses Sigma wildcard syntax: `*`, `?`, and `\*`, `\?`, `\\` escapes; any other
    /// backslash is literal (Sigma's rule for Windows paths).
    public static func sigma(_ text: String, caseSensitive: Bool, prefixStar: Bool = false, suffixStar: Bool = false) -> GlobPattern {
        var tokens: [Token] = prefixStar ? [.star] : []
        var lit: [UInt8] = []
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\\"), i + 1 < bytes.count, [UInt8(ascii: "*"), UInt8(ascii: "?"), UInt8(ascii: "\\")].contains(bytes[i + 1]) {
                lit.append(bytes[i + 1]); i += 2; continue
            }
            if c == UInt8(ascii: "*") || c == UInt8(ascii: "?") {
                if !lit.isEmpty { tokens.append(.literal(lit)); lit = [] }
                tokens.append(c == UInt8(ascii: "*") ? .star : .one)
            } else {
                lit.append(c)
            }
            i += 1
        }
        if !lit.isEmpty { tokens.append(.literal(lit)) }
        if suffixStar { tokens.append(.star) }
        return GlobPattern(tokens: tokens, caseSensitive: caseSensitive)
    }

    /// A pattern that matches `bytes` literally (no wildcard interpretation).
    public static func literal(_ bytes: [UInt8], caseSensitive: Bool, prefixStar: Bool = false, suffixStar: Bool = false) -> GlobPattern {
        var tokens: [Token] = prefixStar ? [.star] : []
        if !bytes.isEmpty { tokens.append(.literal(bytes)) }
        if suffixStar { tokens.append(.star) }
        return GlobPattern(tokens: tokens, caseSensitive: caseSensitive)
    }

    @inline(__always)
    public func matches(_ v: UnsafeBufferPointer<UInt8>) -> Bool {
        let l = literal
        switch kind {
        case .exact: return v.count == l.count && Bytes.equal(v, 0, l, folding: !caseSensitive)
        case .prefix: return v.count >= l.count && Bytes.equal(v, 0, l, folding: !caseSensitive)
        case .suffix: return v.count >= l.count && Bytes.equal(v, v.count - l.count, l, folding: !caseSensitive)
        case .contains: return Bytes.find(l, in: v, from: 0, folding: !caseSensitive) != nil
        case .any: return true
        case .general: return generalMatch(v)
        }
    }

    /// Greedy wildcard matching with single-star backtracking: O(n·m), never exponential.
    private func generalMatch(_ v: UnsafeBufferPointer<UInt8>) -> Bool {
        var ti = 0, vi = 0
        var starToken = -1, starValue = 0
        let fold = !caseSensitive
        let tokens = tokenStorage
        while true {
            if ti < tokens.count {
                switch tokens[ti] {
                case .star:
                    starToken = ti; starValue = vi; ti += 1; continue
                case .one:
                    if vi < v.count { vi += decodeScalar(v, vi).1; ti += 1; continue }
                case .literal(let l):
                    // After a star, search forward for the literal instead of stepping byte by byte.
                    if starToken == ti - 1, ti > 0 {
                        if let at = Bytes.find(l, in: v, from: vi, folding: fold) {
                            // Last literal must end the value: prefer the last occurrence.
                            if ti == tokens.count - 1 {
                                return v.count - l.count >= at && Bytes.equal(v, v.count - l.count, l, folding: fold)
                            }
                            vi = at + l.count; starValue = at; ti += 1; continue
                        }
                        return false
                    }
                    if vi + l.count <= v.count && Bytes.equal(v, vi, l, folding: fold) { vi += l.count; ti += 1; continue }
                }
            } else if vi == v.count {
                return true
            }
            // Mismatch: retry from the last star, one position further.
            guard starToken >= 0, starValue < v.count else { return false }
            starValue += 1
            vi = starValue
            ti = starToken + 1
        }
    }
}

enum Bytes {
    @inline(__always)
    static func equal(_ v: UnsafeBufferPointer<UInt8>, _ at: Int, _ l: [UInt8], folding: Bool) -> Bool {
        l.withUnsafeBufferPointer { equal(v, at, $0, folding: folding) }
    }

    @inline(__always)
    static func find(_ l: [UInt8], in v: UnsafeBufferPointer<UInt8>, from: Int, folding: Bool) -> Int? {
        l.withUnsafeBufferPointer { find($0, in: v, from: from, folding: folding) }
    }

    @inline(__always)
    static func equal(_ v: UnsafeBufferPointer<UInt8>, _ at: Int, _ lp: UnsafeBufferPointer<UInt8>, folding: Bool) -> Bool {
        do {
            var k = 0
            let n = lp.count
            if folding {
                while k < n {
                    if asciiLower(v[at + k]) != lp[k] { return false }
                    k += 1
                }
            } else {
                while k < n {
                    if v[at + k] != lp[k] { return false }
                    k += 1
                }
            }
            return true
        }
    }

    /// First index ≥ `from` where `lp` occurs in `v`.
    @inline(__always)
    static func find(_ lp: UnsafeBufferPointer<UInt8>, in v: UnsafeBufferPointer<UInt8>, from: Int, folding: Bool) -> Int? {
        let n = lp.count
        if n == 0 { return from <= v.count ? from : nil }
        guard v.count - from >= n else { return nil }
        do {
            let first = lp[0]
            let firstUpper: UInt8 = (folding && first >= 0x61 && first <= 0x7A) ? first - 32 : first
            var i = from
            let last = v.count - n
            while i <= last {
                let c = v[i]
                if c == first || c == firstUpper {
                    var k = 1
                    if folding {
                        while k < n && asciiLower(v[i + k]) == lp[k] { k += 1 }
                    } else {
                        while k < n && v[i + k] == lp[k] { k += 1 }
                    }
                    if k == n { return i }
                }
                i += 1
            }
            return nil
        }
    }
}

/// An IPv4 or IPv6 network.
public struct CIDR: Sendable, Hashable {
    public var address: [UInt8]  // 4 or 16 bytes
    public var prefix: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1)
        guard let first = parts.first, let addr = IPAddress.parse(Array(first.utf8)) else { return nil }
        let bits = addr.count * 8
        if parts.count == 2 {
            guard let p = Int(parts[1]), p >= 0, p <= bits else { return nil }
            prefix = p
        } else {
            prefix = bits
        }
        address = addr
    }

    /// `contains` for an IPv4 address given as a big-endian word (no allocation).
    @inline(__always)
    func containsV4(_ ip: UInt32) -> Bool {
        guard address.count == 4 else { return false }
        let net = UInt32(address[0]) << 24 | UInt32(address[1]) << 16 | UInt32(address[2]) << 8 | UInt32(address[3])
        let mask: UInt32 = prefix == 0 ? 0 : ~UInt32(0) << UInt32(32 - prefix)
        return ip & mask == net & mask
    }

    public func contains(_ ip: [UInt8]) -> Bool {
        var candidate = ip
        // IPv4-mapped IPv6 (::ffff:a.b.c.d) compares as IPv4.
        if address.count == 4, ip.count == 16, ip[0..<10].allSatisfy({ $0 == 0 }), ip[10] == 0xFF, ip[11] == 0xFF {
            candidate = Array(ip[12..<16])
        }
        guard candidate.count == address.count else { return false }
        var remaining = prefix
        for k in 0..<address.count where remaining > 0 {
            let mask: UInt8 = remaining >= 8 ? 0xFF : UInt8(0xFF << (8 - remaining) & 0xFF)
            if candidate[k] & mask != address[k] & mask { return false }
            remaining -= 8
        }
        return true
    }
}

public enum IPAddress {
    /// Parses dotted IPv4 or IPv6 text (with `::`, embedded IPv4, and `%zone`) into bytes
    /// (4 or 16).
    public static func parse(_ s: some Collection<UInt8>) -> [UInt8]? {
        let bytes = Array(s)
        guard let (word, isV4) = bytes.withUnsafeBufferPointer({ parseWord($0) }) else { return nil }
        let n = isV4 ? 4 : 16
        return (0..<n).map { UInt8(truncatingIfNeeded: word >> UInt128(8 * (n - 1 - $0))) }
    }

    /// An IPv4 or IPv6 address as a 128-bit word (IPv4 in the low 32 bits) and whether it is
    /// IPv4, without allocating (the hot path of `|cidr`).
    static func parseWord(_ s: UnsafeBufferPointer<UInt8>) -> (UInt128, isV4: Bool)? {
        if s.isEmpty || s.count > 64 { return nil }
        guard s.contains(UInt8(ascii: ":")) else { return parseV4Word(s).map { (UInt128($0), true) } }
        var lo = 0, hi = s.count
        if let pct = s.firstIndex(of: UInt8(ascii: "%")) { hi = pct }
        if hi - lo >= 2, s[lo] == UInt8(ascii: "["), s[hi - 1] == UInt8(ascii: "]") { lo += 1; hi -= 1 }
        return withUnsafeTemporaryAllocation(of: (Int, Int).self, capacity: 66) { groups -> (UInt128, isV4: Bool)? in
            var n = 0
            var start = lo
            for i in lo...hi where i == hi || s[i] == UInt8(ascii: ":") {
                groups[n] = (start, i)
                n += 1
                start = i + 1
            }
            var first = 0, last = n
            // Leading or trailing "::" yields two empty groups: one stands for the gap.
            if last - first >= 2, groups[first].0 == groups[first].1, groups[first + 1].0 == groups[first + 1].1 { first += 1 }
            if last - first >= 2, groups[last - 1].0 == groups[last - 1].1, groups[last - 2].0 == groups[last - 2].1 { last -= 1 }
            var head: UInt128 = 0, tail: UInt128 = 0
            var headCount = 0, tailCount = 0
            var seenDouble = false
            var v4: UInt32?
            for k in first..<last {
                let (a, b) = groups[k]
                if a == b {
                    if seenDouble { return nil }
                    seenDouble = true
                    continue
                }
                let g = UnsafeBufferPointer(rebasing: s[a..<b])
                if k == last - 1, g.contains(UInt8(ascii: ".")) {
                    guard let word = parseV4Word(g) else { return nil }
                    v4 = word
                    continue
                }
                guard g.count <= 4 else { return nil }
                var v: UInt128 = 0
                for c in g {
                    guard let h = hexValue(c) else { return nil }
                    v = v << 4 | UInt128(h)
                }
                if seenDouble { tail = tail << 16 | v; tailCount += 1 } else { head = head << 16 | v; headCount += 1 }
            }
            let words = headCount + tailCount + (v4 == nil ? 0 : 2)
            if seenDouble ? words > 7 : words != 8 { return nil }
            let v4Bits = v4 == nil ? 0 : 32
            let address = (head << (16 * (8 - headCount))) | (tail << v4Bits) | UInt128(v4 ?? 0)
            return (address, false)
        }
    }

    /// Dotted IPv4 text as a big-endian word, or nil (same rules as `parseV4`; no allocation).
    static func parseV4Word(_ s: UnsafeBufferPointer<UInt8>) -> UInt32? {
        var word: UInt32 = 0
        var parts = 0, v = 0, digits = 0
        for c in s {
            if c == UInt8(ascii: ".") {
                guard digits > 0, parts < 3 else { return nil }
                word = word << 8 | UInt32(v); parts += 1; v = 0; digits = 0
            } else if c >= 0x30 && c <= 0x39 {
                v = v * 10 + Int(c - 0x30); digits += 1
                guard v <= 255, digits <= 3 else { return nil }
            } else {
                return nil
            }
        }
        guard digits > 0, parts == 3 else { return nil }
        return word << 8 | UInt32(v)
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

/// Parses a JSON/decimal number from bytes without allocating.
enum Numbers {
    static func parse(_ v: UnsafeBufferPointer<UInt8>) -> Double? {
        guard !v.isEmpty, v.count < 64 else { return nil }
        // Fast path: integers.
        var i = 0
        var negative = false
        if v[0] == UInt8(ascii: "-") { negative = true; i = 1 } else if v[0] == UInt8(ascii: "+") { i = 1 }
        guard i < v.count else { return nil }
        var int: Int64 = 0
        var allDigits = true
        var k = i
        while k < v.count {
            let c = v[k]
            if c < 0x30 || c > 0x39 { allDigits = false; break }
            if int > (Int64.max - 9) / 10 { allDigits = false; break }
            int = int * 10 + Int64(c - 0x30)
            k += 1
        }
        if allDigits { return Double(negative ? -int : int) }
        // The general case through strtod on a stack copy (no allocation per value), with
        // `Double(String)`'s rules: no leading space, the whole text consumed.
        if v[0] == 0x20 || (v[0] >= 0x09 && v[0] <= 0x0D) { return nil }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: v.count + 1) { buf -> Double? in
            for k in 0..<v.count {
                guard v[k] != 0 else { return nil }
                buf[k] = CChar(bitPattern: v[k])
            }
            buf[v.count] = 0
            var end: UnsafeMutablePointer<CChar>?
            let x = strtod(buf.baseAddress!, &end)
            guard let end, end == buf.baseAddress! + v.count else { return nil }
            return x
        }
    }
}
