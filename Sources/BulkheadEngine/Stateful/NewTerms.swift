import BulkheadEvent
import BulkheadSources
import Foundation

/// Counters of one baseline rule, for the scan summary and tests.
public struct BaselineStats: Sendable, Equatable {
    /// Records the rule's detection fed to the baseline.
    public var observations = 0
    /// Observations inside the learning period (recorded, never alerting).
    public var learningObservations = 0
    /// Terms (or numeric groups) learned for the first time, during learning or after.
    public var learned = 0
    /// Entries held now and at most.
    public var entries = 0
    public var peakEntries = 0
    /// Entries dropped because their retention passed (TTL) or the cap was reached (least recently seen).
    public var expired = 0
    public var evictedLRU = 0
    /// New terms that would have alerted but their group had fewer than `min-observations` records.
    public var youngGroup = 0
    public var alerts = 0
    public init() {}
}

/// One baseline rule's state: learned terms per group (new terms) or running statistics per
/// group (numeric baseline), the learning period and retention. Event time throughout.
/// One instance per engine (not thread-safe).
public final class BaselineRule {
    public let rule: RuleInfo
    public let spec: BaselineSpec
    /// Event time the rule first saw a record; learning ends at `learningEnd`.
    public internal(set) var learningStart: Int64?
    public internal(set) var learningEnd: Int64?
    /// Latest event time seen (retention is measured from it).
    public internal(set) var lastTime: Int64 = 0
    public internal(set) var stats = BaselineStats()

    struct Term { var firstSeen: Int64; var lastSeen: Int64; var count: Int }
    struct Group {
        var firstSeen: Int64, lastSeen: Int64, count: Int
        // Numeric baselines: Welford mean and M2, maximum.
        var mean = 0.0, m2 = 0.0, max = 0.0
    }
    /// `group \u{1F} term` → term.
    var terms: [String: Term] = [:]
    var groups: [String: Group] = [:]

    /// Whether a group, term or value field reads the alert entity (`entity.namespace`): the
    /// entity is then extracted for every record the rule matches, else only for an alert.
    public let readsEntity: Bool

    public init(rule: RuleInfo, spec: BaselineSpec) {
        self.rule = rule
        self.spec = spec
        let refs = spec.groupBy + spec.terms + (spec.value.map { [$0] } ?? [])
        readsEntity = refs.contains { $0.alternatives.contains { $0.hasPrefix("entity.") } }
        groupLabels = spec.groupBy.map { Self.shortName($0) + "=" }
    }

    /// `namespace=` and the like, per group-by field (made once, used per record).
    private let groupLabels: [String]

    public var isLearning: Bool { learningEnd.map { lastTime < $0 } ?? true }
    public var termCount: Int { terms.count }
    public var groupCount: Int { groups.count }

    /// Known terms of a group (tests, `baseline show`).
    public func knownTerms(group: String) -> [String] {
        terms.keys.compactMap { k in
            let p = k.split(separator: "\u{1F}", maxSplits: 1, omittingEmptySubsequences: false)
            return p.count == 2 && p[0] == group ? String(p[1]) : nil
        }.sorted()
    }

    public func numeric(group: String) -> (count: Int, mean: Double, max: Double)? {
        groups[group].map { ($0.count, $0.mean, $0.max) }
    }

    // MARK: Observation

    public struct NewTermFinding: Sendable {
        public var group: String
        public var terms: [String]
        public var groupObservations: Int
        public var knownTerms: Int
        public var groupFirstSeen: Int64
    }

    public struct NumericFinding: Sendable {
        public var group: String
        public var value: Double
        public var mean: Double
        public var max: Double
        public var observations: Int
        public var threshold: Double
    }

    public enum Finding: Sendable {
        case newTerms(NewTermFinding)
        case numeric(NumericFinding)
    }

    /// Begins an observation at `time` (nil: the latest time seen); true while learning.
    func begin(time: Int64?) -> (t: Int64, learning: Bool) {
        let t = time ?? lastTime
        if learningStart == nil { learningStart = t; learningEnd = t + spec.learning }
        lastTime = max(lastTime, t)
        stats.observations += 1
        let learning = t < (learningEnd ?? Int64.max)
        if learning { stats.learningObservations += 1 }
        return (t, learning)
    }

    /// Records the terms of one record; a finding when, past learning, a term is new for a group
    /// that has enough history. New terms are learned either way.
    public func observe(group: String, terms newValues: [String], time: Int64?, alerting: Bool = true) -> Finding? {
        let (t, learning) = begin(time: time)
        // Updated in place: one lookup per table and record.
        let g: Group
        if let i = groups.index(forKey: group) {
            groups.values[i].count += 1
            groups.values[i].lastSeen = max(groups.values[i].lastSeen, t)
            groups.values[i].firstSeen = min(groups.values[i].firstSeen, t)
            g = groups.values[i]
        } else {
            g = Group(firstSeen: t, lastSeen: t, count: 1)
            groups[group] = g
        }
        let priorObservations = g.count - 1
        var fresh: [String] = []
        for v in newValues {
            let key = group + "\u{1F}" + v
            if let i = terms.index(forKey: key) {
                terms.values[i].lastSeen = max(terms.values[i].lastSeen, t)
                terms.values[i].count += 1
                continue
            }
            if terms.count >= spec.maxEntries { evict(now: t) }
            terms[key] = Term(firstSeen: t, lastSeen: t, count: 1)
            stats.learned += 1
            if !fresh.contains(v) { fresh.append(v) }
        }
        stats.entries = terms.count
        stats.peakEntries = max(stats.peakEntries, terms.count)
        guard !fresh.isEmpty, !learning, alerting else { return nil }
        guard priorObservations >= spec.minObservations else { stats.youngGroup += 1; return nil }
        stats.alerts += 1
        let known = knownCount(group: group) - fresh.count
        return .newTerms(NewTermFinding(group: group, terms: fresh, groupObservations: priorObservations, knownTerms: known, groupFirstSeen: g.firstSeen))
    }

    private func knownCount(group: String) -> Int {
        let prefix = group + "\u{1F}"
        return terms.keys.reduce(0) { $0 + ($1.hasPrefix(prefix) ? 1 : 0) }
    }

    /// Records one numeric value; a finding when, past learning and with enough history, it is
    /// above `factor` x the group's mean and above its maximum. The value is learned either way.
    public func observe(group: String, value: Double, time: Int64?, alerting: Bool = true) -> Finding? {
        let (t, learning) = begin(time: time)
        var finding: Finding?
        if groups[group] == nil {
            if groups.count >= spec.maxEntries { evict(now: t) }
            groups[group] = Group(firstSeen: t, lastSeen: t, count: 0)
            stats.learned += 1
        }
        var g = groups[group]!
        if !learning, alerting {
            let threshold = Swift.max(g.mean * spec.factor, g.max)
            if g.count >= spec.minObservations, value > threshold {
                stats.alerts += 1
                finding = .numeric(NumericFinding(group: group, value: value, mean: g.mean, max: g.max, observations: g.count, threshold: threshold))
            } else if g.count < spec.minObservations, value > g.max {
                stats.youngGroup += 1
            }
        }
        g.count += 1
        let delta = value - g.mean
        g.mean += delta / Double(g.count)
        g.m2 += delta * (value - g.mean)
        g.max = Swift.max(g.max, value)
        g.lastSeen = Swift.max(g.lastSeen, t)
        groups[group] = g
        stats.entries = groups.count
        stats.peakEntries = Swift.max(stats.peakEntries, groups.count)
        return finding
    }

    /// Expires the entries of `table` older than `horizon`, then drops the least recently seen
    /// tenth when it is at the cap; both counted.
    private func prune<Key: Hashable, Value>(_ table: inout [Key: Value], horizon: Int64, lastSeen: (Value) -> Int64) {
        let before = table.count
        table = table.filter { lastSeen($0.value) >= horizon }
        stats.expired += before - table.count
        if table.count >= spec.maxEntries {
            let drop = Swift.max(1, spec.maxEntries / 10)
            for k in table.sorted(by: { lastSeen($0.value) < lastSeen($1.value) }).prefix(drop).map(\.key) { table.removeValue(forKey: k) }
            stats.evictedLRU += drop
        }
    }

    /// Drops entries past retention, then the least recently seen tenth while over the cap.
    func evict(now: Int64) {
        let horizon = now - spec.retention
        switch spec.kind {
        case .newTerms:
            prune(&terms, horizon: horizon) { $0.lastSeen }
            // Group counters follow their terms.
            if groups.count > spec.maxEntries { pruneGroups(horizon: horizon) }
            stats.entries = terms.count
        case .numeric:
            prune(&groups, horizon: horizon) { $0.lastSeen }
            stats.entries = groups.count
        }
    }

    func pruneGroups(horizon: Int64) {
        groups = groups.filter { $0.value.lastSeen >= horizon }
        if groups.count > spec.maxEntries {
            for k in groups.sorted(by: { $0.value.lastSeen < $1.value.lastSeen }).prefix(groups.count - spec.maxEntries).map(\.key) {
                groups.removeValue(forKey: k)
            }
        }
    }

    /// Forgets entries whose retention passed relative to the latest event time (also done
    /// before a snapshot is taken). Returns how many were dropped.
    @discardableResult
    public func pruneExpired() -> Int {
        let horizon = lastTime - spec.retention
        let before = terms.count + groups.count
        terms = terms.filter { $0.value.lastSeen >= horizon }
        groups = groups.filter { $0.value.lastSeen >= horizon }
        let dropped = before - terms.count - groups.count
        stats.expired += dropped
        stats.entries = spec.kind == .newTerms ? terms.count : groups.count
        return dropped
    }

    // MARK: Fields

    /// Every value a field reaches in a record (arrays fan out), transformed; `entity.<name>`
    /// reads the resolved entity. The first alternative with a value wins.
    func values(_ ref: BaselineSpec.FieldRef, _ e: EventView, mapping: SourceMapping, entity: Entity, psl: PublicSuffixList) -> [String] {
        for alt in ref.alternatives {
            var out: [String] = []
            if alt.hasPrefix("entity."), Entity.fieldNames.contains(String(alt.dropFirst(7))) {
                if let v = entity[String(alt.dropFirst(7))] { out.append(v) }
            } else {
                for p in paths(alt, mapping) {
                    e.forEachValue(p) { n in
                        let k = e.kind(n)
                        if k == .string || k == .number || k == .true || k == .false {
                            let s = e.string(n)
                            if !s.isEmpty, out.count < 64 { out.append(s) }
                        }
                        return false
                    }
                    if !out.isEmpty { break }
                }
            }
            if out.isEmpty { continue }
            return out.compactMap { v in
                var x: String? = v
                for t in ref.transforms { x = x.flatMap { TermTransforms.apply(t, $0, psl: psl) } }
                return x
            }
        }
        return []
    }

    /// Resolved paths of a field, per mapping (resolving parses the field's text).
    private var pathCache: [String: [FieldPath]] = [:]
    private var pathCacheMapping = ""

    private func paths(_ field: String, _ mapping: SourceMapping) -> [FieldPath] {
        if mapping.id != pathCacheMapping {
            pathCache = [:]
            pathCacheMapping = mapping.id
        }
        if let known = pathCache[field] { return known }
        let resolved = mapping.paths(for: field)
        pathCache[field] = resolved
        return resolved
    }

    /// The group key (`namespace=payments`, fields joined by `, `), or nil when none of the
    /// group-by fields is present (a record with no group is not observed).
    func group(_ e: EventView, mapping: SourceMapping, entity: Entity, psl: PublicSuffixList) -> String? {
        if spec.groupBy.isEmpty { return "*" }
        var key = ""
        var any = false
        for (i, ref) in spec.groupBy.enumerated() {
            let v = values(ref, e, mapping: mapping, entity: entity, psl: psl).first
            if v != nil { any = true }
            if i > 0 { key += ", " }
            key += groupLabels[i]
            key += v ?? "-"
        }
        return any ? key : nil
    }

    static func shortName(_ ref: BaselineSpec.FieldRef) -> String {
        let f = ref.alternatives.first ?? "?"
        let base = f.hasPrefix("entity.") ? String(f.dropFirst(7)) : f
        return base + ref.transforms.map { "|" + $0.rawValue }.joined()
    }

    /// The combinations of the term fields' values (capped at 64), each as `a / b`.
    func termValues(_ e: EventView, mapping: SourceMapping, entity: Entity, psl: PublicSuffixList) -> [String] {
        var combos: [String] = [""]
        for (i, ref) in spec.terms.enumerated() {
            let vs = values(ref, e, mapping: mapping, entity: entity, psl: psl)
            if vs.isEmpty { return [] }
            var next: [String] = []
            for c in combos {
                for v in vs where next.count < 64 {
                    let combined = i == 0 ? v : c + " / " + v
                    if !next.contains(combined) { next.append(combined) }
                }
            }
            combos = next
        }
        return combos
    }

    /// The numeric value of a record: every value of the field, parsed as quantities, summed.
    func numericValue(_ e: EventView, mapping: SourceMapping, entity: Entity, psl: PublicSuffixList) -> Double? {
        guard let ref = spec.value else { return nil }
        let vs = values(ref, e, mapping: mapping, entity: entity, psl: psl).compactMap(Quantity.parse)
        if vs.isEmpty { return spec.missing }
        return vs.reduce(0, +)
    }
}
