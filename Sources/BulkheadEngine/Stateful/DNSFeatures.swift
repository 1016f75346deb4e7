/// Per-query features of DNS tunnelling: how the part of a name left of its registered domain
/// (the "subdomain", where tunnels put their data) is shaped.
public enum DNSEncoding: String, Sendable, CaseIterable {
    /// Hex digits only, with digits and letters (`dnscat2`, `xxd -p`).
    case hex
    /// One case of letters mixed with digits, no `-` (RFC 4648 base32, iodine's base32,
    /// base36): random alphanumerics that are not words.
    case base32
    /// Both cases, or `+ / = _` (base64, base64url, iodine's base64u and base128 in ASCII).
    case base64
}

public struct DNSQueryFeatures: Sendable, Equatable {
    /// The subdomain as used for the features (lowercased when the whole name is
    /// 0x20-randomised by a resolver: case then carries no data).
    public var subdomain: String
    public var subdomainBytes: Int
    public var labels: Int
    public var longestLabel: Int
    /// The strongest encoding among the subdomain's labels, if one looks encoded.
    public var encoding: DNSEncoding?
    /// Characters in labels that look encoded.
    public var encodedBytes: Int
}

public enum DNSFeatures {
    /// Labels shorter than this are never called encoded (words, counters, `www`).
    public static let minEncodedLabel = 8

    /// Features of `query`, given its registered domain (nil: no subdomain, features zero).
    public static func extract(query: String, registeredDomain: String) -> DNSQueryFeatures {
        var name = Substring(query)
        while name.hasSuffix(".") { name = name.dropLast() }
        let sub: Substring
        if name.count > registeredDomain.count,
           name.utf8.count > registeredDomain.utf8.count,
           name.lowercased().hasSuffix("." + registeredDomain) {
            sub = name.dropLast(registeredDomain.count + 1)
        } else {
            sub = ""
        }
        // DNS 0x20: resolvers randomise letter case of the whole name; a registered domain in
        // mixed case means the case is not the client's.
        let domainPart = name.suffix(registeredDomain.count)
        let randomisedCase = domainPart.contains(where: \.isUppercase) && domainPart.contains(where: \.isLowercase)
        let subdomain = randomisedCase ? sub.lowercased() : String(sub)
        var longest = 0, encodedBytes = 0, labels = 0
        var best: DNSEncoding?
        for label in subdomain.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: true) {
            labels += 1
            longest = max(longest, label.count)
            if let e = classify(label) {
                encodedBytes += label.count
                if best == nil || rank(e) > rank(best!) { best = e }
            }
        }
        return DNSQueryFeatures(subdomain: subdomain, subdomainBytes: subdomain.utf8.count, labels: labels,
                                longestLabel: longest, encoding: best, encodedBytes: encodedBytes)
    }

    static func rank(_ e: DNSEncoding) -> Int {
        switch e { case .hex: return 0; case .base32: return 1; case .base64: return 2 }
    }

    /// Whether one label looks like encoded data, and which alphabet.
    public static func classify<C: Collection>(_ label: C) -> DNSEncoding? where C.Element == UInt8 {
        let n = label.count
        guard n >= minEncodedLabel else { return nil }
        var upper = 0, lower = 0, digits = 0, hexLetters = 0, b64Symbols = 0, hyphens = 0, other = 0
        var transitions = 0, previousDigit: Bool?
        for c in label {
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"):
                upper += 1
                if c <= UInt8(ascii: "F") { hexLetters += 1 }
            case UInt8(ascii: "a")...UInt8(ascii: "z"):
                lower += 1
                if c <= UInt8(ascii: "f") { hexLetters += 1 }
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digits += 1
            case UInt8(ascii: "-"): hyphens += 1
            case UInt8(ascii: "_"), UInt8(ascii: "+"), UInt8(ascii: "/"), UInt8(ascii: "="): b64Symbols += 1
            default: other += 1
            }
            let isDigit = c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")
            let isLetter = (c | 0x20) >= UInt8(ascii: "a") && (c | 0x20) <= UInt8(ascii: "z")
            if isDigit || isLetter {
                if let p = previousDigit, p != isDigit { transitions += 1 }
                previousDigit = isDigit
            }
        }
        if other > 0 { return nil }
        let letters = upper + lower
        // Hex: only 0-9a-f in one case, both digits and letters.
        if hyphens == 0, b64Symbols == 0, hexLetters == letters, n >= 12, digits >= 2, letters >= 1, upper == 0 || lower == 0 {
            return .hex
        }
        // Base64 family: both cases with several of each, or base64 symbols among alphanumerics.
        if upper >= 2 && lower >= 2 && (digits > 0 || b64Symbols > 0 || n >= 16) { return .base64 }
        if b64Symbols > 0 && letters + digits >= n - b64Symbols - hyphens && letters > 0 && digits > 0 && n >= 12 { return .base64 }
        // Base32/base36: one case, letters and digits interleaved, no hyphen.
        if hyphens == 0, b64Symbols == 0, upper == 0 || lower == 0, digits >= 2, letters >= 2, transitions >= 3 { return .base32 }
        return nil
    }

    /// Shannon entropy in bits per character of a byte histogram.
    public static func entropy(_ histogram: [UInt32]) -> Double {
        var total = 0.0
        for c in histogram { total += Double(c) }
        guard total > 0 else { return 0 }
        var h = 0.0
        for c in histogram where c > 0 {
            let p = Double(c) / total
            h -= p * log2(p)
        }
        return h
    }

    /// Entropy of one string (bits per character).
    public static func entropy(_ s: String) -> Double {
        var hist = [UInt32](repeating: 0, count: 128)
        for b in s.utf8 { hist[Int(b & 0x7F)] += 1 }
        return entropy(hist)
    }

    /// Record types that carry more data or are rare for ordinary clients: TXT, NULL, CNAME,
    /// MX, KEY, PRIVATE/unknown numeric types, ANY.
    public static func isTunnelRecordType(_ type: String?) -> Bool {
        guard let t = type?.uppercased(), !t.isEmpty else { return false }
        switch t {
        case "TXT", "NULL", "CNAME", "MX", "KEY", "ANY", "PRIVATE", "DNSKEY": return true
        default: return t.first!.isNumber || t.hasPrefix("TYPE")
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
