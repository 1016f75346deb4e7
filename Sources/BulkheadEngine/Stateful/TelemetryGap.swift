import BulkheadEvent
import BulkheadSources
import Foundation

/// Parameters of the telemetry-gap analytic (`x-bulkhead-parameters` of the rule with
/// `x-bulkhead-analytic: telemetry_gap`; docs/baselines.md).
public struct TelemetryGapParameters: Sendable, Equatable {
    /// A key alerts when silent for max(min_silence, multiplier x its mean interval between records).
    public var minSilence: Int64 = 15 * 60 * 1_000_000_000
    public var multiplier = 10.0
    /// A key needs this many records and this much history before its silence can alert.
    public var minEvents = 20
    public var learning: Int64 = 3_600 * 1_000_000_000
    /// Keys kept (least recently seen evicted past it).
    public var maxKeys = 10_000
    /// Audit level/stage mix: tumbling window, records needed in it, total variation distance that alerts.
    public var mixWindow: Int64 = 15 * 60 * 1_000_000_000
    public var mixMinEvents = 50
    public var mixThreshold = 0.4
    /// Silence is checked at most this often (event time).
    public var checkEvery: Int64 = 60 * 1_000_000_000

    public init() {}

    public init(extensions: [String: String]) throws {
        self.init()
        guard let text = extensions["x-bulkhead-parameters"] else { return }
        for pair in text.split(separator: ";") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2 else { throw AnalyticError("parameter `\(pair)` is not key=value") }
            let (k, v) = (kv[0], kv[1])
            func number() throws -> Double {
                guard let d = Double(v), d >= 0 else { throw AnalyticError("`\(k)` needs a number, got `\(v)`") }
                return d
            }
            switch k {
            case "min_silence": minSilence = try BaselineSpec.duration(k, v, allowZero: false)
            case "multiplier": multiplier = try number()
            case "min_events": minEvents = Int(try number())
            case "learning": learning = try BaselineSpec.duration(k, v, allowZero: true)
            case "max_keys": maxKeys = max(16, Int(try number()))
            case "mix_window": mixWindow = try BaselineSpec.duration(k, v, allowZero: false)
            case "mix_min_events": mixMinEvents = max(1, Int(try number()))
            case "mix_threshold": mixThreshold = try number()
            case "check_every": checkEvery = try BaselineSpec.duration(k, v, allowZero: true)
            default: throw AnalyticError("unknown parameter `\(k)`")
            }
        }
    }
}

/// Telemetry-gap analytic: learns, per source and scope (node for runtime sources, account and
/// region for cloud sources, cluster for the Kubernetes audit log), how often records arrive,
/// and reports a key silent past its threshold relative to the latest event time of any source;
/// a node whose runtime records stopped while the audit log still shows its kubelet or pods; and
/// a shift of the Kubernetes audit level or stage mix against the learned mix (an audit policy
/// downgrade). Event time throughout. One instance per engine (not thread-safe).
public final class TelemetryGapMonitor {
    public let rule: RuleInfo
    public let parameters: TelemetryGapParameters

    public struct Key: Hashable, Sendable {
        public var source: String
        public var scope: String
    }

    public struct KeyState: Sendable {
        public var firstSeen: Int64
        public var lastSeen: Int64
        public var count: Int
        public var alerted = false
    }

    /// Audit level/stage counts: learned baseline and the current window, per cluster.
    public struct MixState: Sendable {
        public var learningEnd: Int64
        public var baseline: [String: Int] = [:]
        public var windowStart: Int64 = 0
        public var window: [String: Int] = [:]
        public var shifted = false
    }

    public internal(set) var keys: [Key: KeyState] = [:]
    public internal(set) var mixes: [String: MixState] = [:]
    /// Latest time the audit log showed each node alive (its kubelet's requests, pods bound to it).
    public internal(set) var auditNodeSeen: [String: Int64] = [:]
    /// Latest event time over every source.
    public internal(set) var watermark: Int64?
    private var lastCheck: Int64 = .min

    public struct Stats: Sendable, Equatable {
        public var records = 0
        public var untimed = 0
        public var keys = 0
        public var peakKeys = 0
        public var evictedLRU = 0
        public var silenceAlerts = 0
        public var runtimeStoppedAlerts = 0
        public var mixAlerts = 0
        public var resumed = 0
    }
    public internal(set) var stats = Stats()

    public enum Finding: Sendable {
        case silent(key: Key, state: KeyState, threshold: Int64, now: Int64, auditSeen: Int64?)
        case mixShift(cluster: String, baseline: [String: Int], window: [String: Int], distance: Double, dimension: String, windowStart: Int64, windowEnd: Int64)
    }

    public init(rule: RuleInfo, parameters: TelemetryGapParameters = .init()) {
        self.rule = rule
        self.parameters = parameters
    }

    static let runtimeSources: Set<String> = ["falco", "tetragon", "auditd", "auoms", "docker_events"]
    static let cloudSources: Set<String> = ["cloudtrail", "azure_activity", "gcp_audit", "vpc_flow", "route53_resolver"]

    /// The key's scope for a record of `source` with these entity fields.
    static func scope(source: String, node: String?, cluster: String?, account: String?, region: String?) -> String {
        if runtimeSources.contains(source) { return "node " + (node ?? "-") }
        if cloudSources.contains(source) { return "account " + (account ?? "-") + (region.map { " " + $0 } ?? "") }
        if source == "k8s_audit" { return "cluster " + (cluster ?? "default") }
        if let node { return "node " + node }
        return "all"
    }

    /// The silence threshold of a key: max(min_silence, multiplier x mean interval).
    public func threshold(_ s: KeyState) -> Int64 {
        let mean = s.count > 1 ? Double(s.lastSeen - s.firstSeen) / Double(s.count - 1) : 0
        return max(parameters.minSilence, Int64(min(mean * parameters.multiplier, 9e18)))
    }

    /// Feeds one record. `auditNode`: a node the record shows alive (audit only). `level`,
    /// `stage`: the audit record's. Returns findings revealed by the time it carries.
    public func observe(source: String, scope: String, time: Int64?, auditNode: String? = nil, cluster: String? = nil,
                        level: String? = nil, stage: String? = nil) -> [Finding] {
        stats.records += 1
        guard let t = time else { stats.untimed += 1; return [] }
        var out: [Finding] = []
        let key = Key(source: source, scope: scope)
        if let i = keys.index(forKey: key) {
            // In place: one lookup per record.
            if keys.values[i].alerted { keys.values[i].alerted = false; stats.resumed += 1 }
            keys.values[i].lastSeen = max(keys.values[i].lastSeen, t)
            keys.values[i].firstSeen = min(keys.values[i].firstSeen, t)
            keys.values[i].count += 1
        } else {
            if keys.count >= parameters.maxKeys { evict() }
            keys[key] = KeyState(firstSeen: t, lastSeen: t, count: 1)
            stats.keys = keys.count
            stats.peakKeys = max(stats.peakKeys, keys.count)
        }
        if let auditNode { sawNode(auditNode, at: t) }
        if source == "k8s_audit", level != nil || stage != nil {
            if let f = observeMix(cluster: cluster ?? "default", time: t, level: level, stage: stage) { out.append(f) }
        }
        if watermark == nil || t > watermark! { watermark = t }
        if let w = watermark, lastCheck == .min || w &- lastCheck >= parameters.checkEvery {
            lastCheck = w
            out += check(now: w)
        }
        return out
    }

    /// Keys silent past their threshold at `now` (each alerts once per silence).
    public func check(now: Int64) -> [Finding] {
        var out: [Finding] = []
        for (k, s) in keys where !s.alerted {
            guard s.count >= parameters.minEvents, s.lastSeen - s.firstSeen >= parameters.learning else { continue }
            let limit = threshold(s)
            guard now - s.lastSeen > limit else { continue }
            var audit: Int64?
            if k.scope.hasPrefix("node "), Self.runtimeSources.contains(k.source), let seen = auditNodeSeen[String(k.scope.dropFirst(5))], seen > s.lastSeen {
                audit = seen
                stats.runtimeStoppedAlerts += 1
            } else {
                stats.silenceAlerts += 1
            }
            keys[k]?.alerted = true
            out.append(.silent(key: k, state: s, threshold: limit, now: now, auditSeen: audit))
        }
        return out.sorted { a, b in
            if case .silent(let ka, _, _, _, _) = a, case .silent(let kb, _, _, _, _) = b { return (ka.source, ka.scope) < (kb.source, kb.scope) }
            return false
        }
    }

    func observeMix(cluster: String, time t: Int64, level: String?, stage: String?) -> Finding? {
        var i = mixes.index(forKey: cluster)
        if i == nil {
            // Cluster names come from records: bounded like the keys.
            if mixes.count >= parameters.maxKeys { Self.dropOldestTenth(&mixes, parameters.maxKeys) { $0.windowStart } }
            mixes[cluster] = MixState(learningEnd: t + parameters.learning, windowStart: t)
            i = mixes.index(forKey: cluster)
        }
        // In place: a copy of the state would copy its counts on every record.
        return updateMix(&mixes.values[i!], cluster: cluster, time: t, level: level.map { mixEntry("level=", $0) },
                         stage: stage.map { mixEntry("stage=", $0) })
    }

    private func updateMix(_ m: inout MixState, cluster: String, time t: Int64, level: String?, stage: String?) -> Finding? {
        if t < m.learningEnd {
            if let level { m.baseline[level, default: 0] += 1 }
            if let stage { m.baseline[stage, default: 0] += 1 }
            m.windowStart = m.learningEnd
            return nil
        }
        var finding: Finding?
        if t - m.windowStart >= parameters.mixWindow {
            finding = judge(&m, cluster: cluster, end: t)
            // Tumbling windows aligned to the learning end.
            let n = (t - m.windowStart) / parameters.mixWindow
            m.windowStart += n * parameters.mixWindow
            m.window = [:]
        }
        if let level { m.window[level, default: 0] += 1 }
        if let stage { m.window[stage, default: 0] += 1 }
        return finding
    }

    /// Distinct levels and stages counted per dimension; values past it (only a hostile or
    /// broken sender has so many) count together.
    static let maxMixValues = 64
    /// `level=Metadata` and the like, made once per value instead of once per record.
    private var levelEntries: [String: String] = [:]
    private var stageEntries: [String: String] = [:]

    private func mixEntry(_ dimension: String, _ value: String) -> String {
        let level = dimension == "level="
        if let known = level ? levelEntries[value] : stageEntries[value] { return known }
        guard (level ? levelEntries.count : stageEntries.count) < Self.maxMixValues else { return dimension + "(other)" }
        let entry = dimension + value
        if level { levelEntries[value] = entry } else { stageEntries[value] = entry }
        return entry
    }

    /// Records that a node was alive at `t` (bounded: node names come from records).
    private func sawNode(_ node: String, at t: Int64) {
        if let seen = auditNodeSeen[node] {
            if t > seen { auditNodeSeen[node] = t }
            return
        }
        if auditNodeSeen.count >= parameters.maxKeys { Self.dropOldestTenth(&auditNodeSeen, parameters.maxKeys) { $0 } }
        auditNodeSeen[node] = t
    }

    /// Drops the tenth of `table` seen longest ago (amortised: once per tenth of the cap).
    static func dropOldestTenth<V>(_ table: inout [String: V], _ cap: Int, _ time: (V) -> Int64) {
        let drop = max(1, cap / 10)
        for k in table.sorted(by: { time($0.value) < time($1.value) }).prefix(drop).map(\.key) { table[k] = nil }
    }

    /// Compares a closed window with the baseline, per dimension (level, stage).
    func judge(_ m: inout MixState, cluster: String, end: Int64) -> Finding? {
        var worst: (String, Double)?
        for dim in ["level=", "stage="] {
            let base = m.baseline.filter { $0.key.hasPrefix(dim) }
            let win = m.window.filter { $0.key.hasPrefix(dim) }
            let nb = base.values.reduce(0, +), nw = win.values.reduce(0, +)
            guard nb >= parameters.mixMinEvents, nw >= parameters.mixMinEvents else { continue }
            let d = Self.distance(base, nb, win, nw)
            if worst == nil || d > worst!.1 { worst = (String(dim.dropLast()), d) }
        }
        guard let (dim, d) = worst else { return nil }
        if d < parameters.mixThreshold { m.shifted = false; return nil }
        if m.shifted { return nil }
        m.shifted = true
        stats.mixAlerts += 1
        return .mixShift(cluster: cluster, baseline: m.baseline, window: m.window, distance: d, dimension: dim,
                         windowStart: m.windowStart, windowEnd: end)
    }

    /// Total variation distance between two count distributions (0: identical, 1: disjoint).
    static func distance(_ a: [String: Int], _ na: Int, _ b: [String: Int], _ nb: Int) -> Double {
        let keys = Set(a.keys).union(b.keys)
        return keys.reduce(0) { $0 + abs(Double(a[$1] ?? 0) / Double(na) - Double(b[$1] ?? 0) / Double(nb)) } / 2
    }

    /// End of input: keys silent relative to the latest event time, and open mix windows.
    public func finish() -> [Finding] {
        guard let w = watermark else { return [] }
        var out: [Finding] = []
        for c in mixes.keys.sorted() {
            var m = mixes[c]!
            if w >= m.learningEnd, let f = judge(&m, cluster: c, end: w) { out.append(f) }
            mixes[c] = m
        }
        return out + check(now: w)
    }

    func evict() {
        let drop = max(1, parameters.maxKeys / 10)
        for k in keys.sorted(by: { $0.value.lastSeen < $1.value.lastSeen }).prefix(drop).map(\.key) { keys.removeValue(forKey: k) }
        stats.evictedLRU += drop
        stats.keys = keys.count
    }

    /// Level names from least to most detailed, for the downgrade wording.
    static let levelRank = ["None": 0, "Metadata": 1, "Request": 2, "RequestResponse": 3]

    static func meanLevel(_ counts: [String: Int]) -> Double? {
        var sum = 0.0, n = 0
        for (k, c) in counts where k.hasPrefix("level=") {
            if let r = levelRank[String(k.dropFirst(6))] { sum += Double(r * c); n += c }
        }
        return n > 0 ? sum / Double(n) : nil
    }
}
