import BulkheadEvent

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
    /// Parses dotted IPv4 or IPv6 text (with `::`, embedded IPv4, and `%zone`) into bytes.
    public static func parse(_ s: some Collection<UInt8>) -> [UInt8]? {
        let bytes = Array(s)
        if bytes.isEmpty || bytes.count > 64 { return nil }
        if !bytes.contains(UInt8(ascii: ":")) { return parseV4(bytes[...]) }
        var text = bytes[...]
        if let pct = text.firstIndex(of: UInt8(ascii: "%")) { text = text[..<pct] }
        if text.first == UInt8(ascii: "["), text.last == UInt8(ascii: "]") { text = text.dropFirst().dropLast() }
        var head: [UInt16] = [], tail: [UInt16] = []
        var seenDouble = false
        var groups = text.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
        // Leading or trailing "::" yields empty groups: normalise.
        if groups.count >= 2, groups.first!.isEmpty, groups[1].isEmpty { groups.removeFirst() }
        if groups.count >= 2, groups.last!.isEmpty, groups[groups.count - 2].isEmpty { groups.removeLast() }
        var v4: [UInt8]? = nil
        for (k, g) in groups.enumerated() {
            if g.isEmpty {
                if seenDouble { return nil }
                seenDouble = true
                continue
            }
            if k == groups.count - 1, g.contains(UInt8(ascii: ".")) {
                guard let four = parseV4(g) else { return nil }
                v4 = four
                continue
            }
            guard g.count <= 4 else { return nil }
            var v: UInt16 = 0
            for c in g {
                guard let h = hexValue(c) else { return nil }
                v = v << 4 | UInt16(h)
            }
            if seenDouble { tail.append(v) } else { head.append(v) }
        }
        let words = head.count + tail.count + (v4 == nil ? 0 : 2)
        if seenDouble ? words > 7 : words != 8 { return nil }
        var out: [UInt8] = []
        for w in head { out.append(UInt8(w >> 8)); out.append(UInt8(w & 0xFF)) }
        if seenDouble { out.append(contentsOf: repeatElement(0, count: 16 - words * 2)) }
        for w in tail { out.append(UInt8(w >> 8)); out.append(UInt8(w & 0xFF)) }
        if let v4 { out.append(contentsOf: v4) }
        return out.count == 16 ? out : nil
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

    static func parseV4(_ s: ArraySlice<UInt8>) -> [UInt8]? {
        var out: [UInt8] = []
        var v = 0, digits = 0
        for c in s {
            if c == UInt8(ascii: ".") {
                guard digits > 0, out.count < 3 else { return nil }
                out.append(UInt8(v)); v = 0; digits = 0
            } else if c >= 0x30 && c <= 0x39 {
                v = v * 10 + Int(c - 0x30); digits += 1
                guard v <= 255, digits <= 3 else { return nil }
            } else {
                return nil
            }
        }
        guard digits > 0, out.count == 3 else { return nil }
        out.append(UInt8(v))
        return out
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
        return Double(String(decoding: v, as: UTF8.self))
    }
}
