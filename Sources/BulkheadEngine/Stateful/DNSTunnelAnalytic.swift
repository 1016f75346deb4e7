import BulkheadEvent
import BulkheadRules
import BulkheadSources
import Foundation

/// A rule that names a stateful analytic (`x-bulkhead-analytic: <kind>`): the rule's detection
/// selects the records fed to the analytic, the analytic decides when to alert.
public struct AnalyticSpec: Sendable {
    public var rule: Int
    public var kind: String
    /// The rule's `x-*` keys, raw (`x-bulkhead-parameters` holds `key=value;...`).
    public var extensions: [String: String]
}

/// Parameters of the DNS tunnelling analytic; every one can be set in the rule's
/// `x-bulkhead-parameters` mapping (see docs/dns-analytics.md).
public struct DNSTunnelParameters: Sendable, Equatable {
    /// Score (0-100) at or above which a key alerts.
    public var threshold = 60.0
    /// Queries a key needs in its window before it may alert.
    public var minQueries = 20
    /// Window length (tumbling per key, from its first query), nanoseconds.
    public var window: Int64 = 600 * 1_000_000_000
    /// Keys (source, registered domain) kept at once; least recently seen evicted past it.
    public var maxKeys = 10_000
    /// Distinct subdomains remembered exactly per key; past it the count is a lower bound.
    public var maxSubdomains = 1_024
    /// Names under these suffixes are not scored (benign high-volume and cluster-internal).
    public var allowlist: [String] = DNSTunnelParameters.defaultAllowlist
    /// Feature weights (sum 100): each feature's value in 0...1 times its weight.
    public var weights: [String: Double] = DNSTunnelParameters.defaultWeights

    public static let defaultWeights: [String: Double] = [
        "unique_subdomains": 20, "unique_ratio": 10, "label_length": 15, "entropy": 10,
        "encoding": 25, "record_types": 10, "query_bytes": 10,
    ]

    /// Suffixes whose authoritative servers no attacker runs, or that never leave the cluster,
    /// and that legitimately carry many unique generated names.
    public static let defaultAllowlist = [
        // Cluster and host internal names, search-path expansions, reverse lookups.
        "cluster.local", "svc", "local", "internal", "localdomain", "localhost", "home.arpa", "in-addr.arpa", "ip6.arpa",
        // Reputation and blocklist services that put hashes or addresses in names by design.
        "sophosxl.net", "spamhaus.org", "spamcop.net", "surbl.org", "uribl.com", "barracudacentral.org",
        "mailspike.net", "senderbase.org", "dnswl.org",
    ]

    public init() {}

    /// Parameters from a rule's `x-bulkhead-parameters` (`threshold=70;min_queries=30;
    /// window=5m;allowlist=a.example,b.example;allowlist_replace=true;weight.encoding=30`).
    public init(extensions: [String: String]) throws {
        self.init()
        guard let text = extensions["x-bulkhead-parameters"] else { return }
        var replaceAllowlist = false
        var extra: [String] = []
        for pair in text.split(separator: ";") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2 else { throw AnalyticError("parameter `\(pair)` is not key=value") }
            let (k, v) = (kv[0], kv[1])
            switch k {
            case "threshold": threshold = try Self.number(k, v)
            case "min_queries": minQueries = Int(try Self.number(k, v))
            case "window": window = try Self.duration(v)
            case "max_keys": maxKeys = max(16, Int(try Self.number(k, v)))
            case "max_subdomains": maxSubdomains = max(16, Int(try Self.number(k, v)))
            case "allowlist": extra = v.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
            case "allowlist_replace": replaceAllowlist = v == "true"
            default:
                if k.hasPrefix("weight."), weights[String(k.dropFirst(7))] != nil {
                    weights[String(k.dropFirst(7))] = try Self.number(k, v)
                } else {
                    throw AnalyticError("unknown parameter `\(k)`")
                }
            }
        }
        allowlist = (replaceAllowlist ? [] : allowlist) + extra
    }

    static func number(_ k: String, _ v: String) throws -> Double {
        guard let d = Double(v) else { throw AnalyticError("`\(k)` needs a number, got `\(v)`") }
        return d
    }

    static func duration(_ v: String) throws -> Int64 {
        let units: [(String, Int64)] = [("ms", 1_000_000), ("s", 1_000_000_000), ("m", 60_000_000_000), ("h", 3_600_000_000_000)]
        for (u, ns) in units where v.hasSuffix(u) {
            if let n = Double(v.dropLast(u.count)), n > 0 { return Int64(n * Double(ns)) }
        }
        throw AnalyticError("`window` needs a duration such as 10m, got `\(v)`")
    }
}

public struct AnalyticError: Error, CustomStringConvertible {
    public var description: String
    init(_ s: String) { description = s }
}

/// DNS tunnelling and exfiltration analytic: per (source entity, registered domain) and
/// window, how many distinct subdomains, how long and random their labels are, how much of
/// them looks encoded, how many queries use data-carrying record types, and how many bytes
/// went out in names. The score is a weighted sum; the alert lists every feature with its
/// value and contribution. One instance per engine (not thread-safe).
public final class DNSTunnelAnalytic {
    public let rule: RuleInfo
    public let parameters: DNSTunnelParameters
    let psl: PublicSuffixList
    private let allowSuffixes: [String]

    final class KeyState {
        var windowStart: Int64
        var lastTime: Int64
        var lastSeen: UInt64
        var queries = 0
        var subdomains = Set<UInt64>()
        var saturated = false
        var queriesWhileExact = 0
        var uniqueBytes = 0
        var totalBytes = 0
        var longestLabelSum = 0
        var encoded: [DNSEncoding: Int] = [:]
        var encodedQueries = 0
        var tunnelTypes = 0
        var types: [String: Int] = [:]
        var histogram = [UInt32](repeating: 0, count: 128)
        var examples: [String] = []
        var alerted = false
        init(time: Int64, seen: UInt64) { windowStart = time; lastTime = time; lastSeen = seen }
    }

    struct Key: Hashable {
        var source: String
        var domain: String
    }

    private var states: [Key: KeyState] = [:]
    private var sequence: UInt64 = 0

    /// Counters for summaries and tests.
    public struct Stats: Sendable, Equatable {
        public var queries = 0
        public var allowlisted = 0
        public var noDomain = 0
        public var keys = 0
        public var peakKeys = 0
        public var windowsClosed = 0
        public var evictedExpired = 0
        public var evictedLRU = 0
        public var alerts = 0
    }
    public private(set) var stats = Stats()

    public init(rule: RuleInfo, parameters: DNSTunnelParameters = .init(), psl: PublicSuffixList = .shared) {
        self.rule = rule
        self.parameters = parameters
        self.psl = psl
        self.allowSuffixes = parameters.allowlist.map { $0.hasPrefix(".") ? String($0.dropFirst()) : $0 }
    }

    /// A feature's share of the score, for the explanation.
    public struct Feature: Sendable, Equatable {
        public var name: String
        public var value: Double
        /// The value mapped to 0...1.
        public var normalized: Double
        public var weight: Double
        public var contribution: Double
        public var detail: String
    }

    /// What crossed the threshold.
    public struct Finding: Sendable {
        public var source: String
        public var registeredDomain: String
        public var score: Double
        public var features: [Feature]
        public var queries: Int
        public var uniqueSubdomains: Int
        public var uniqueIsLowerBound: Bool
        public var windowStart: Int64
        public var windowEnd: Int64
        public var recordTypes: [String: Int]
        public var encodings: [String: Int]
        public var examples: [String]
        public var query: String
    }

    public func isAllowlisted(_ name: String) -> Bool {
        var n = Substring(name.lowercased())
        while n.hasSuffix(".") { n = n.dropLast() }
        for s in allowSuffixes where n == s || (n.hasSuffix(s) && n.dropLast(s.count).hasSuffix(".")) { return true }
        return false
    }

    /// Feeds one query from `source` (a stable entity key: `pod ns/name` or `ip 10.0.0.7`).
    /// Returns a finding the first time the key's score reaches the threshold in a window.
    public func observe(query: String, recordType: String?, source: String, time: Int64?) -> Finding? {
        stats.queries += 1
        sequence += 1
        if isAllowlisted(query) { stats.allowlisted += 1; return nil }
        guard let domain = psl.registeredDomain(query) else { stats.noDomain += 1; return nil }
        let key = Key(source: source, domain: domain)
        // Without event time, records are one window in arrival order.
        let t = time ?? states[key]?.lastTime ?? 0
        let state: KeyState
        if let s = states[key] {
            if t - s.windowStart >= parameters.window || t < s.windowStart - parameters.window {
                stats.windowsClosed += 1
                state = KeyState(time: t, seen: sequence)
                states[key] = state
            } else {
                state = s
            }
        } else {
            if states.count >= parameters.maxKeys { evict(now: t) }
            state = KeyState(time: t, seen: sequence)
            states[key] = state
            stats.keys = states.count
            stats.peakKeys = max(stats.peakKeys, states.count)
        }
        state.lastSeen = sequence
        state.lastTime = max(state.lastTime, t)
        let f = DNSFeatures.extract(query: query, registeredDomain: domain)
        state.queries += 1
        state.totalBytes += f.subdomainBytes
        state.longestLabelSum += f.longestLabel
        if let e = f.encoding { state.encoded[e, default: 0] += 1; state.encodedQueries += 1 }
        let type = (recordType ?? "").uppercased()
        if !type.isEmpty { state.types[type, default: 0] += 1 }
        if DNSFeatures.isTunnelRecordType(type) { state.tunnelTypes += 1 }
        if !state.saturated {
            state.queriesWhileExact += 1
            let (inserted, _) = state.subdomains.insert(Self.hash(f.subdomain))
            if inserted {
                state.uniqueBytes += f.subdomainBytes
                for b in f.subdomain.utf8 { state.histogram[Int(b & 0x7F)] += 1 }
                if state.examples.count < 3 && !f.subdomain.isEmpty { state.examples.append(query) }
                if state.subdomains.count >= parameters.maxSubdomains { state.saturated = true }
            }
        }
        guard !state.alerted, state.queries >= parameters.minQueries else { return nil }
        let features = score(state)
        let total = features.reduce(0) { $0 + $1.contribution }
        guard total >= parameters.threshold else { return nil }
        state.alerted = true
        stats.alerts += 1
        return Finding(source: source, registeredDomain: domain, score: Self.round(total), features: features, queries: state.queries,
                       uniqueSubdomains: state.subdomains.count, uniqueIsLowerBound: state.saturated,
                       windowStart: state.windowStart, windowEnd: state.lastTime, recordTypes: state.types,
                       encodings: Dictionary(uniqueKeysWithValues: state.encoded.map { ($0.key.rawValue, $0.value) }),
                       examples: state.examples, query: query)
    }

    /// The current score of a (source, domain) key, for tests and measurements.
    public func currentScore(source: String, domain: String) -> (score: Double, features: [Feature])? {
        guard let s = states[Key(source: source, domain: domain)] else { return nil }
        let f = score(s)
        return (Self.round(f.reduce(0) { $0 + $1.contribution }), f)
    }

    /// Every live key's score (source, domain, queries, score), for measurements.
    public func scores() -> [(source: String, domain: String, queries: Int, score: Double)] {
        states.map { k, s in (k.source, k.domain, s.queries, Self.round(score(s).reduce(0) { $0 + $1.contribution })) }
    }

    func score(_ s: KeyState) -> [Feature] {
        let w = parameters.weights
        let n = Double(max(s.queries, 1))
        let unique = Double(s.subdomains.count)
        let ratio = unique / Double(max(s.queriesWhileExact, 1))
        let meanLongest = Double(s.longestLabelSum) / n
        let entropy = DNSFeatures.entropy(s.histogram)
        let encodedShare = Double(s.encodedQueries) / n
        let typeShare = Double(s.tunnelTypes) / n
        func clamp(_ x: Double) -> Double { min(1, max(0, x)) }
        func feature(_ name: String, _ value: Double, _ normalized: Double, _ detail: String) -> Feature {
            let weight = w[name] ?? 0
            return Feature(name: name, value: Self.round(value), normalized: Self.round(normalized), weight: weight,
                           contribution: Self.round(normalized * weight), detail: detail)
        }
        let encodings = DNSEncoding.allCases.compactMap { e in s.encoded[e].map { "\(e.rawValue) \($0)" } }.joined(separator: ", ")
        let types = s.types.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.prefix(3).map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        return [
            feature("unique_subdomains", unique, clamp(unique / 100),
                    "\(s.subdomains.count)\(s.saturated ? "+" : "") distinct subdomains (full weight at 100)"),
            feature("unique_ratio", ratio, clamp((ratio - 0.5) / 0.5),
                    "\(Int(ratio * 100))% of \(s.queriesWhileExact) queries had a new subdomain (from 50%)"),
            feature("label_length", meanLongest, clamp((meanLongest - 10) / 30),
                    "longest label \(Int(meanLongest.rounded())) characters on average (10 to 40)"),
            feature("entropy", entropy, clamp((entropy - 4.0) / 1.2),
                    "\(String(format: "%.2f", entropy)) bits per character over distinct subdomains (4.0 to 5.2)"),
            feature("encoding", encodedShare, clamp(encodedShare / 0.5),
                    "\(Int(encodedShare * 100))% of queries carry an encoded-looking label" + (encodings.isEmpty ? "" : " (\(encodings))") + " (full weight at 50%)"),
            feature("record_types", typeShare, clamp(typeShare / 0.5),
                    "\(Int(typeShare * 100))% TXT/NULL/CNAME/MX/KEY/other" + (types.isEmpty ? "" : " (\(types))") + " (full weight at 50%)"),
            feature("query_bytes", Double(s.uniqueBytes), clamp(Double(s.uniqueBytes) / 4000),
                    "\(s.uniqueBytes) bytes in distinct subdomains, \(s.totalBytes) in all (full weight at 4000)"),
        ]
    }

    func evict(now: Int64) {
        let before = states.count
        states = states.filter { now - $0.value.lastTime < parameters.window }
        stats.evictedExpired += before - states.count
        if states.count >= parameters.maxKeys {
            // Drop the least recently seen tenth.
            let drop = max(1, parameters.maxKeys / 10)
            let oldest = states.sorted { $0.value.lastSeen < $1.value.lastSeen }.prefix(drop).map(\.key)
            for k in oldest { states.removeValue(forKey: k) }
            stats.evictedLRU += oldest.count
        }
        stats.keys = states.count
    }

    static func hash(_ s: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return h
    }

    static func round(_ x: Double) -> Double { (x * 100).rounded() / 100 }

    // MARK: Alerts

    /// The stable key of a record's source: the pod when known, else the client address.
    public static func sourceKey(_ entity: Entity) -> String {
        if let pod = entity["pod"] { return "pod " + (entity["namespace"].map { "\($0)/" } ?? "") + pod }
        if let ip = entity["source_ip"] { return "ip " + ip }
        return "unknown"
    }

    /// The alert's `event`: the finding as JSON, explanation first.
    public static func explanationJSON(_ f: Finding, threshold: Double, window: Int64, entity: Entity) -> String {
        let ranked = f.features.sorted { $0.contribution > $1.contribution }
        let why = ranked.filter { $0.contribution > 0 }.map { "\($0.name) +\(fmt($0.contribution))" }.joined(separator: ", ")
        var o: [(String, Any)] = [
            ("analytic", "dns_tunnel"),
            ("registered_domain", f.registeredDomain),
            ("score", f.score),
            ("threshold", threshold),
            ("why", why),
            ("source", f.source),
            ("queries", f.queries),
            ("unique_subdomains", f.uniqueSubdomains),
            ("unique_subdomains_lower_bound", f.uniqueIsLowerBound),
            ("window_start", Timestamps.format(epochNanos: f.windowStart)),
            ("window_end", Timestamps.format(epochNanos: f.windowEnd)),
            ("window_seconds", Double(window) / 1e9),
            ("features", ranked.map { ft -> [String: Any] in
                ["name": ft.name, "value": ft.value, "normalized": ft.normalized, "weight": ft.weight,
                 "contribution": ft.contribution, "detail": ft.detail]
            }),
            ("record_types", f.recordTypes),
            ("encodings", f.encodings),
            ("examples", f.examples),
            ("query", f.query),
        ]
        if let ip = entity["source_ip"] { o.append(("SourceIp", ip)) }
        if !entity.isEmpty { o.append(("entity", entity.values)) }
        return JSONText.object(o)
    }

    static func fmt(_ d: Double) -> String { String(format: "%.1f", d) }
}

/// Minimal ordered JSON writer for the explanation (keys in the given order).
enum JSONText {
    static func object(_ pairs: [(String, Any)]) -> String {
        "{" + pairs.map { "\(string($0.0)):\(value($0.1))" }.joined(separator: ",") + "}"
    }

    static func value(_ v: Any) -> String {
        switch v {
        case let s as String: return string(s)
        case let b as Bool: return b ? "true" : "false"
        case let i as Int: return String(i)
        case let d as Double: return d.isFinite ? (d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : String(d)) : "null"
        case let a as [Any]: return "[" + a.map(value).joined(separator: ",") + "]"
        case let m as [String: Any]:
            let order = ["name", "value", "normalized", "weight", "contribution", "detail"]
            let keys = m.keys.sorted { (order.firstIndex(of: $0) ?? 99, $0) < (order.firstIndex(of: $1) ?? 99, $1) }
            return "{" + keys.map { "\(string($0)):\(value(m[$0]!))" }.joined(separator: ",") + "}"
        case let m as [String: Int]: return value(m.mapValues { $0 as Any })
        case let m as [String: String]: return value(m.mapValues { $0 as Any })
        default: return "null"
        }
    }

    static func string(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }
}

extension Engine {
    static let dnsQueryPath = FieldPath("query")
    static let dnsTypePath = FieldPath("record_type")

    /// Builds the analytics a rule set asks for, indexed by rule (nil: an ordinary rule).
    static func makeAnalytics(_ ruleSet: RuleSet) -> [DNSTunnelAnalytic?] {
        var out = [DNSTunnelAnalytic?](repeating: nil, count: ruleSet.rules.count)
        for spec in ruleSet.analytics where spec.kind == "dns_tunnel" {
            // Parameters were checked when the rule set was built; bad ones fall back to defaults.
            let p = (try? DNSTunnelParameters(extensions: spec.extensions)) ?? DNSTunnelParameters()
            out[spec.rule] = DNSTunnelAnalytic(rule: ruleSet.rules[spec.rule], parameters: p)
        }
        return out
    }

    /// Feeds a record the analytic rule's detection selected; an alert when it crosses the threshold.
    func analyticAlert(_ a: DNSTunnelAnalytic, _ e: EventView, format: Int, origin: () -> Origin) -> Alert? {
        guard let query = e.firstString(Self.dnsQueryPath), !query.isEmpty else { return nil }
        let time = recordTime(e, format: format)
        let entity = recordEntity(e, format: format)
        guard let f = a.observe(query: query, recordType: e.firstString(Self.dnsTypePath),
                                source: DNSTunnelAnalytic.sourceKey(entity), time: time) else { return nil }
        var info = a.rule
        info.title = "DNS tunnelling to \(f.registeredDomain)"
        return Alert(rule: info, time: time, origin: origin(), source: ruleSet.mappings[format].id, entity: entity,
                     event: DNSTunnelAnalytic.explanationJSON(f, threshold: a.parameters.threshold, window: a.parameters.window, entity: entity))
    }
}

extension Engine {
    /// The DNS tunnelling analytics this engine runs (one per analytic rule loaded).
    public var dnsTunnelAnalytics: [DNSTunnelAnalytic] { analytics.compactMap { $0 } }
}
