import Foundation

/// The Public Suffix List (https://publicsuffix.org): which part of a name a registrant
/// controls. `registeredDomain("a.b.example.co.uk")` is `example.co.uk`.
///
/// Rules follow the list's algorithm: normal rules, wildcards (`*.ck`) and exceptions
/// (`!www.ck`); the longest matching rule wins, an exception beats a wildcard, and a name under
/// no rule falls under the implicit `*` (its last label is the suffix). Both the ICANN and the
/// private sections are used (so `github.io` and `cloudfront.net` are suffixes). Unicode rules
/// are also stored in their punycode (`xn--`) form, as names appear in DNS; query labels are
/// taken as they are, lowercased.
///
/// The list is read from the Debian package `publicsuffix`
/// (`/usr/share/publicsuffix/public_suffix_list.dat`) when present, else from the copy bundled
/// in this module (MPL-2.0; see `Resources/public_suffix_list.NOTICE`).
public struct PublicSuffixList: Sendable {
    public static let systemPath = "/usr/share/publicsuffix/public_suffix_list.dat"

    private var rules: Set<String> = []
    private var wildcards: Set<String> = []   // `*.ck` stored as `ck`
    private var exceptions: Set<String> = []  // `!www.ck` stored as `www.ck`
    /// Where the list came from (a path, or `bundled`).
    public private(set) var origin: String
    public var ruleCount: Int { rules.count + wildcards.count + exceptions.count }

    /// The list this machine has, else the bundled copy (loaded once).
    public static let shared: PublicSuffixList = {
        if let text = try? String(contentsOfFile: systemPath, encoding: .utf8) {
            let list = PublicSuffixList(text: text, origin: systemPath)
            if list.ruleCount > 1000 { return list }
        }
        return bundled
    }()

    /// The copy bundled with bulkhead (deterministic: tests use it).
    public static let bundled: PublicSuffixList = {
        guard let url = Bundle.module.url(forResource: "public_suffix_list", withExtension: "dat"),
              let text = try? String(contentsOf: url, encoding: .utf8) else {
            return PublicSuffixList(text: "", origin: "missing")
        }
        return PublicSuffixList(text: text, origin: "bundled")
    }()

    public init(text: String, origin: String = "text") {
        self.origin = origin
        for raw in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            // A rule is the first whitespace-delimited token of a non-comment line.
            guard let token = raw.split(whereSeparator: { $0 == " " || $0 == "\t" }).first, !token.hasPrefix("//") else { continue }
            var rule = token.lowercased()
            if rule.hasPrefix(".") { rule.removeFirst() }
            let forms = Set([rule, Punycode.domainToASCII(rule)])
            for r in forms {
                if r.hasPrefix("!") {
                    exceptions.insert(String(r.dropFirst()))
                } else if r.hasPrefix("*.") {
                    wildcards.insert(String(r.dropFirst(2)))
                } else {
                    rules.insert(r)
                }
            }
        }
    }

    /// The number of labels of the public suffix of `labels` (lowercased, in order).
    func suffixLabelCount(_ labels: [Substring]) -> Int {
        var best = 1  // the implicit `*` rule
        // Try suffixes from the longest down; the first (longest) hit decides, exceptions first.
        for n in stride(from: labels.count, through: 1, by: -1) {
            let candidate = labels[(labels.count - n)...].joined(separator: ".")
            if exceptions.contains(candidate) { return n - 1 }
            if rules.contains(candidate) { best = max(best, n); break }
            if n >= 2 {
                let parent = labels[(labels.count - n + 1)...].joined(separator: ".")
                if wildcards.contains(parent) { best = max(best, n); break }
            }
        }
        return best
    }

    /// The public suffix of a name (`co.uk` for `www.example.co.uk`).
    public func publicSuffix(_ name: String) -> String? {
        let labels = Self.labels(name)
        guard !labels.isEmpty else { return nil }
        let n = suffixLabelCount(labels)
        return labels.suffix(n).joined(separator: ".")
    }

    /// The registered domain (public suffix plus one label), or nil when the name is itself a
    /// public suffix or empty.
    public func registeredDomain(_ name: String) -> String? {
        let labels = Self.labels(name)
        guard !labels.isEmpty else { return nil }
        let n = suffixLabelCount(labels)
        guard labels.count > n else { return nil }
        return labels.suffix(n + 1).joined(separator: ".")
    }

    static func labels(_ name: String) -> [Substring] {
        var s = Substring(name.lowercased())
        while s.hasSuffix(".") { s = s.dropLast() }
        while s.hasPrefix(".") { s = s.dropFirst() }
        guard !s.isEmpty else { return [] }
        return s.split(separator: ".", omittingEmptySubsequences: false)
    }
}

/// RFC 3492 punycode, encoding only (for the list's Unicode rules).
enum Punycode {
    static func domainToASCII(_ domain: String) -> String {
        guard domain.unicodeScalars.contains(where: { !$0.isASCII }) else { return domain }
        return domain.split(separator: ".", omittingEmptySubsequences: false).map { label -> String in
            let prefix = label.hasPrefix("!") ? "!" : ""
            let body = label.hasPrefix("!") ? label.dropFirst() : label[...]
            guard body.unicodeScalars.contains(where: { !$0.isASCII }), let enc = encode(String(body)) else { return String(label) }
            return prefix + "xn--" + enc
        }.joined(separator: ".")
    }

    static func encode(_ input: String) -> String? {
        let base = 36, tMin = 1, tMax = 26, skew = 38, damp = 700
        let scalars = input.unicodeScalars.map { Int($0.value) }
        var output = scalars.filter { $0 < 0x80 }.map { Character(Unicode.Scalar(UInt8($0))) }
        let basicCount = output.count
        var h = basicCount
        if basicCount > 0 { output.append("-") }
        var n = 0x80, delta = 0, bias = 72
        func digit(_ d: Int) -> Character { Character(Unicode.Scalar(UInt8(d < 26 ? d + 97 : d + 22))) }
        func adapt(_ delta: Int, _ numPoints: Int, _ first: Bool) -> Int {
            var d = first ? delta / damp : delta / 2
            d += d / numPoints
            var k = 0
            while d > ((base - tMin) * tMax) / 2 { d /= base - tMin; k += base }
            return k + (base - tMin + 1) * d / (d + skew)
        }
        while h < scalars.count {
            guard let m = scalars.filter({ $0 >= n }).min() else { return nil }
            delta += (m - n) * (h + 1)
            n = m
            for c in scalars {
                if c < n { delta += 1 }
                if c == n {
                    var q = delta
                    var k = base
                    while true {
                        let t = k <= bias ? tMin : (k >= bias + tMax ? tMax : k - bias)
                        if q < t { break }
                        output.append(digit(t + (q - t) % (base - t)))
                        q = (q - t) / (base - t)
                        k += base
                    }
                    output.append(digit(q))
                    bias = adapt(delta, h + 1, h == basicCount)
                    delta = 0
                    h += 1
                }
            }
            delta += 1
            n += 1
        }
        return String(output)
    }
}
