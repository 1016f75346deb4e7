/// Correlation state as plain, Codable rows: the reorder buffer, every open window and the
/// watermark. A scale-out worker checkpoints it with the last stream sequence it processed,
/// so that the worker taking over a partition continues the same windows (docs/scale-out.md).
///
/// Correlations are named by rule id, not index, and carry a signature of their definition:
/// a restore under changed rules keeps the windows of unchanged correlations only.
public struct CorrelationSnapshot: Sendable, Equatable, Codable {
    public struct Event: Sendable, Equatable, Codable {
        public var time: Int64
        public var ref: Int32
        public var value: String?
        public var number: Double?
    }
    public struct Site: Sendable, Equatable, Codable {
        public var origin: String
        public var line: Int
        public var source: String
        public var entity: [String: String]
    }
    public struct Pending: Sendable, Equatable, Codable {
        public var correlation: String
        public var ref: Int32
        public var time: Int64
        public var group: [String]
        public var value: String?
        public var chained: Bool
        public var site: Site
    }
    public struct Group: Sendable, Equatable, Codable {
        public var correlation: String
        public var group: [String]
        public var windowStart: Int64
        public var lastTime: Int64
        /// Live events only, oldest first.
        public var events: [Event]
        public var best: [Int64?]
        public var last: Site
    }
    /// Correlation id → definition signature, for the correlations with state.
    public var signatures: [String: String] = [:]
    public var pending: [Pending] = []
    public var groups: [Group] = []
    public var inputMax: Int64?
    public var newest: Int64?
    public var released = Int64.min
    public init() {}

    /// What a restore took back and what it left.
    public struct RestoreReport: Sendable, Equatable {
        public var groups = 0
        public var pending = 0
        /// Correlations whose state was dropped: not loaded now, or defined differently.
        public var skipped: [String] = []
    }
}

extension Correlator {
    /// Everything needed to continue after `restore` on another process.
    public func snapshot() -> CorrelationSnapshot {
        var out = CorrelationSnapshot()
        func id(_ ci: Int) -> String {
            let c = plan.correlations[ci]
            out.signatures[c.info.id] = signature(ci)
            return c.info.id
        }
        for o in pending.items.sorted(by: Correlator.before) {
            out.pending.append(.init(correlation: id(Int(o.correlation)), ref: o.ref, time: o.time, group: o.group, value: o.value,
                                     chained: o.chained, site: .init(o.origin, o.source, o.entity)))
        }
        for (key, s) in store.all() {
            out.groups.append(.init(correlation: id(key.correlation), group: key.group, windowStart: s.windowStart, lastTime: s.lastTime,
                                    events: s.events[s.head...].map { .init(time: $0.time, ref: $0.ref, value: $0.value, number: $0.number) },
                                    best: s.best, last: .init(s.lastOrigin, s.lastSource, s.lastEntity)))
        }
        // A fixed order: equal states give equal checkpoints.
        out.groups.sort { ($0.correlation, $0.group.joined(separator: "\u{1F}")) < ($1.correlation, $1.group.joined(separator: "\u{1F}")) }
        out.inputMax = inputMax
        out.newest = newest
        out.released = released
        return out
    }

    /// Replaces the correlation state with `s` (taken under the same or other rules).
    @discardableResult
    public func restore(_ s: CorrelationSnapshot) -> CorrelationSnapshot.RestoreReport {
        var report = CorrelationSnapshot.RestoreReport()
        var index: [String: Int] = [:]
        for ci in plan.correlations.indices {
            let id = plan.correlations[ci].info.id
            if index[id] == nil, s.signatures[id] == signature(ci) { index[id] = ci }
        }
        report.skipped = s.signatures.keys.filter { index[$0] == nil }.sorted()
        store.removeAll()
        pending = Heap<Observation>(less: Correlator.before)
        for p in s.pending {
            guard let ci = index[p.correlation], Int(p.ref) < plan.correlations[ci].targets.count else { continue }
            pending.push(Observation(time: p.time, correlation: Int32(ci), ref: p.ref, group: p.group, value: p.value,
                                     origin: Origin(name: p.site.origin, line: p.site.line), source: p.site.source,
                                     entity: Entity(values: p.site.entity), chained: p.chained))
            report.pending += 1
        }
        for g in s.groups {
            guard let ci = index[g.correlation] else { continue }
            let c = plan.correlations[ci]
            guard g.best.count == c.sequence.count, g.events.allSatisfy({ Int($0.ref) < c.targets.count }) else { continue }
            var state = GroupState(time: g.windowStart, refs: c.targets.count, positions: c.sequence.count,
                                   origin: Origin(name: g.last.origin, line: g.last.line), source: g.last.source,
                                   entity: Entity(values: g.last.entity))
            for e in g.events { state.append(WindowEvent(time: e.time, ref: e.ref, value: e.value, number: e.number)) }
            state.windowStart = g.windowStart
            state.lastTime = g.lastTime
            state.best = g.best
            store.save(GroupKey(correlation: ci, group: g.group), state)
            report.groups += 1
        }
        inputMax = s.inputMax
        newest = s.newest
        released = s.released
        inputsToCome = 0
        return report
    }

    /// What a correlation's windows mean: kind, span, grouping, references and thresholds.
    func signature(_ ci: Int) -> String {
        let c = plan.correlations[ci]
        let targets = c.targets.map { t -> String in
            switch t {
            case .rule(let r): return "r:" + plan.ruleIDs[r]
            case .correlation(let x): return "c:" + plan.correlations[x].info.id
            }
        }
        let conditions = c.rule.conditions.map { "\($0.op) \($0.value) \($0.field ?? "")" }
        return [c.rule.kind.rawValue, String(c.rule.timespanSeconds), c.rule.groupBy.joined(separator: ","),
                targets.joined(separator: ","), c.sequence.map(String.init).joined(separator: ","),
                conditions.joined(separator: ";"), String(c.percentile)].joined(separator: "|")
    }
}

extension CorrelationSnapshot.Site {
    init(_ origin: Origin, _ source: String, _ entity: Entity) {
        self.init(origin: origin.name, line: origin.line, source: source, entity: entity.values)
    }
}
