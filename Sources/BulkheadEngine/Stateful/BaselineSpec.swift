import BulkheadEvent
import BulkheadRules
import BulkheadSources
import Foundation

/// What a baseline rule declares in its YAML (docs/baselines.md):
///
/// ```yaml
/// x-bulkhead-new-terms:
///     group-by: [entity.namespace]                          # entity.<name> or a record field; "a or b" falls back
///     terms: [requestObject.spec.containers.image|registry] # field|transform; several fields: their combination
///     learning: 7d          # from the rule's first record, in event time; 0: no learning period
///     retention: 90d        # a term (or group) unseen this long is forgotten
///     min-observations: 1   # records a group needs before its new terms alert
///     max-terms: 100000     # cap (least recently seen evicted past it)
/// x-bulkhead-numeric-baseline:
///     group-by: [entity.namespace]
///     value: requestObject.spec.containers.resources.requests.cpu   # every value in the record is summed
///     unit: cpu             # cpu (cores), memory (bytes), gpu (devices), number
///     factor: 10            # alert above factor x the learned mean and above the learned maximum
///     missing: 0            # a record without the value counts as this (else it is not observed)
/// ```
public struct BaselineSpec: Sendable, Equatable {
    public enum Kind: String, Sendable { case newTerms = "new_terms", numeric = "numeric_baseline" }
    public enum Unit: String, Sendable { case cpu, memory, gpu, number }

    public var kind: Kind
    public var groupBy: [FieldRef] = []
    public var terms: [FieldRef] = []
    public var value: FieldRef?
    public var unit: Unit = .number
    public var factor = 10.0
    public var missing: Double?
    public var learning: Int64 = 7 * 86_400 * 1_000_000_000
    public var retention: Int64 = 90 * 86_400 * 1_000_000_000
    public var minObservations = 1
    public var maxEntries = 100_000

    /// A field with fallbacks (`a or b`) and value transforms (`|registry`).
    public struct FieldRef: Sendable, Equatable, CustomStringConvertible {
        public var alternatives: [String]
        public var transforms: [Transform]
        public var description: String {
            alternatives.joined(separator: " or ") + transforms.map { "|" + $0.rawValue }.joined()
        }

        init(_ text: String) throws {
            var parts = text.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let head = parts.first, !head.isEmpty else { throw AnalyticError("empty field") }
            parts.removeFirst()
            alternatives = head.components(separatedBy: " or ").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            transforms = try parts.map { p in
                guard let t = Transform(rawValue: p) else {
                    throw AnalyticError("unknown transform `\(p)` (known: \(Transform.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                return t
            }
        }
    }

    /// Value transforms applied to a term or group value.
    public enum Transform: String, Sendable, CaseIterable {
        /// Image reference → registry host (`nginx` → `docker.io`, `ghcr.io/a/b:1` → `ghcr.io`).
        case registry
        /// Image reference → registry and repository without tag or digest (`nginx:1` → `docker.io/library/nginx`).
        case repository
        /// Domain name → registered domain (Public Suffix List).
        case domain
        /// Pod name → workload name (`api-5f6c7d9b8-kq4zt` → `api`).
        case workload
        case lower
    }

    public init(kind: Kind) { self.kind = kind }

    /// The spec a rule declares, nil when it declares none.
    public static func from(extensions: [String: String]) throws -> BaselineSpec? {
        if let text = extensions["x-bulkhead-new-terms"] {
            var s = BaselineSpec(kind: .newTerms)
            try s.parse(text)
            guard !s.terms.isEmpty else { throw AnalyticError("x-bulkhead-new-terms needs `terms`") }
            return s
        }
        if let text = extensions["x-bulkhead-numeric-baseline"] {
            var s = BaselineSpec(kind: .numeric)
            s.minObservations = 5
            s.maxEntries = 10_000
            try s.parse(text)
            guard s.value != nil else { throw AnalyticError("x-bulkhead-numeric-baseline needs `value`") }
            return s
        }
        return nil
    }

    mutating func parse(_ text: String) throws {
        // The loader flattens a mapping to `key=value;key=a,b`.
        for pair in text.split(separator: ";") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2 else { throw AnalyticError("`\(pair)` is not key: value") }
            let (k, v) = (kv[0], kv[1])
            let list = v.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            switch k {
            case "group-by": groupBy = try list.map(FieldRef.init)
            case "terms" where kind == .newTerms: terms = try list.map(FieldRef.init)
            case "value" where kind == .numeric: value = try FieldRef(v)
            case "unit" where kind == .numeric:
                guard let u = Unit(rawValue: v) else { throw AnalyticError("`unit` must be cpu, memory, gpu or number") }
                unit = u
            case "factor" where kind == .numeric:
                guard let f = Double(v), f >= 1 else { throw AnalyticError("`factor` needs a number >= 1") }
                factor = f
            case "missing" where kind == .numeric:
                guard let m = Double(v) else { throw AnalyticError("`missing` needs a number") }
                missing = m
            case "learning": learning = try Self.duration(k, v, allowZero: true)
            case "retention": retention = try Self.duration(k, v, allowZero: false)
            case "min-observations":
                guard let n = Int(v), n >= 0 else { throw AnalyticError("`min-observations` needs a count") }
                minObservations = n
            case "max-terms", "max-groups":
                guard let n = Int(v), n >= 16 else { throw AnalyticError("`\(k)` needs a count >= 16") }
                maxEntries = n
            default: throw AnalyticError("unknown key `\(k)`")
            }
        }
    }

    /// `0`, `90s`, `10m`, `1h`, `7d`, `2w` in nanoseconds.
    public static func duration(_ key: String, _ v: String, allowZero: Bool) throws -> Int64 {
        if allowZero, v == "0" { return 0 }
        let units: [(String, Double)] = [("s", 1), ("m", 60), ("h", 3600), ("d", 86_400), ("w", 604_800)]
        for (u, secs) in units where v.hasSuffix(u) {
            if let n = Double(v.dropLast(u.count)), n >= 0, allowZero || n > 0, n * secs < 1e9 { return Int64(n * secs * 1e9) }
        }
        throw AnalyticError("`\(key)` needs a duration such as 7d or 12h, got `\(v)`")
    }
}

/// `text` without surrounding whitespace; Foundation's trimming only when there is some to
/// trim (it is slow, and record values go through here per record).
func trimmed(_ text: String) -> String {
    let isSpace: (Character) -> Bool = { $0.unicodeScalars.contains { CharacterSet.whitespaces.contains($0) } }
    guard text.first.map(isSpace) == true || text.last.map(isSpace) == true else { return text }
    return text.trimmingCharacters(in: .whitespaces)
}

/// Kubernetes resource quantities (`500m`, `2`, `1.5`, `2Gi`, `512Mi`, `1G`, `100k`, `1e3`).
public enum Quantity {
    static let suffixes: [(String, Double)] = [
        ("Ki", 1024), ("Mi", 1_048_576), ("Gi", 1_073_741_824), ("Ti", 1_099_511_627_776), ("Pi", 1_125_899_906_842_624),
        ("Ei", 1_152_921_504_606_846_976),
        ("n", 1e-9), ("u", 1e-6), ("m", 1e-3), ("k", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12), ("P", 1e15), ("E", 1e18),
    ]

    /// The quantity's value in base units (cores, bytes, devices); nil when it is not one.
    public static func parse(_ text: String) -> Double? {
        let s = trimmed(text)
        guard !s.isEmpty else { return nil }
        if let d = Double(s), d.isFinite, d >= 0 { return d }
        for (suffix, scale) in suffixes where s.hasSuffix(suffix) {
            if let d = Double(s.dropLast(suffix.count)), d.isFinite, d >= 0 { return d * scale }
        }
        return nil
    }

    /// A value for people: `16 cores`, `250m`, `64 GiB`, `2 GPUs`.
    public static func display(_ v: Double, unit: BaselineSpec.Unit) -> String {
        func num(_ d: Double) -> String { d == d.rounded() ? String(Int(d)) : String(format: "%.2f", d) }
        switch unit {
        case .cpu: return v < 1 ? "\(Int((v * 1000).rounded()))m" : "\(num(v)) cores"
        case .memory:
            for (name, scale) in [("TiB", 1_099_511_627_776.0), ("GiB", 1_073_741_824.0), ("MiB", 1_048_576.0), ("KiB", 1024.0)] where v >= scale {
                return "\(num((v / scale * 100).rounded() / 100)) \(name)"
            }
            return "\(num(v)) B"
        case .gpu: return "\(num(v)) GPU" + (v == 1 ? "" : "s")
        case .number: return num(v)
        }
    }
}

/// Value transforms.
public enum TermTransforms {
    /// Splits an image reference into registry, repository path, tag and digest.
    public static func image(_ ref: String) -> (registry: String, path: String, tag: String?, digest: String?) {
        var rest = Substring(trimmed(ref))
        var digest: String?
        if let at = rest.firstIndex(of: "@") { digest = String(rest[rest.index(after: at)...]); rest = rest[..<at] }
        var tag: String?
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
            tag = String(rest[rest.index(after: colon)...])
            rest = rest[..<colon]
        }
        var registry = "docker.io"
        var path = String(rest)
        if let slash = rest.firstIndex(of: "/") {
            let first = rest[..<slash]
            if first.contains(".") || first.contains(":") || first == "localhost" {
                registry = first.lowercased()
                path = String(rest[rest.index(after: slash)...])
            }
        }
        if registry == "index.docker.io" || registry == "registry-1.docker.io" { registry = "docker.io" }
        if registry == "docker.io", !path.contains("/") { path = "library/" + path }
        return (registry, path, tag, digest)
    }

    /// `payments-api-5f6c7d9b8-kq4zt` → `payments-api` (Deployment), `fluent-bit-x7k2p` → `fluent-bit`
    /// (DaemonSet, Job); other names as they are.
    public static func workload(_ pod: String) -> String {
        var parts = pod.split(separator: "-", omittingEmptySubsequences: false)
        // Kubernetes generates suffixes from an alphabet without vowels and 0, 1, 3
        // (`bcdfghjklmnpqrstvwxz2456789`), so words such as `cache` stay.
        func isSuffix(_ s: Substring, _ lengths: ClosedRange<Int>) -> Bool {
            lengths.contains(s.count) && s.allSatisfy { "bcdfghjklmnpqrstvwxz2456789".contains($0) }
        }
        guard parts.count >= 2, let last = parts.last, isSuffix(last, 5...5) else { return pod }
        parts.removeLast()
        if parts.count >= 2, let hash = parts.last, isSuffix(hash, 6...10) { parts.removeLast() }
        return parts.joined(separator: "-")
    }

    static func apply(_ t: BaselineSpec.Transform, _ v: String, psl: PublicSuffixList) -> String? {
        switch t {
        case .registry: return image(v).registry
        case .repository: let i = image(v); return i.registry + "/" + i.path
        case .domain:
            var n = Substring(v.lowercased())
            while n.hasSuffix(".") { n = n.dropLast() }
            return psl.registeredDomain(String(n)) ?? String(n)
        case .workload: return workload(v)
        case .lower: return v.lowercased()
        }
    }
}
