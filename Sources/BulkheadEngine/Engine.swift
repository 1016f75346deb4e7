import BulkheadEvent
import BulkheadRules
import BulkheadSources

/// The stateless detection engine: routes a decoded record to its candidate rules and turns
/// matches into alerts. No I/O; one `Engine` per worker thread (it owns scratch state).
public final class Engine {
    public let ruleSet: RuleSet
    let evaluator = Evaluator()
    let extractors: [EntityExtractor]
    /// Stateful analytics, indexed by rule (nil for ordinary rules; Stateful/DNSTunnelAnalytic.swift).
    let analytics: [DNSTunnelAnalytic?]
    /// Per-rule match counts, for summaries.
    public private(set) var matchCounts: [Int]
    /// Tuning exceptions (Exceptions.swift): matching alerts are suppressed and counted, per exception.
    public var exceptions = CompiledExceptions.none {
        didSet { suppressedCounts = Array(repeating: 0, count: exceptions.active.count) }
    }
    /// Alerts suppressed, indexed like `exceptions.active`.
    public private(set) var suppressedCounts: [Int] = []
    /// Correlation state (Stateful/CorrelationEngine.swift); nil when no correlation is loaded,
    /// so the stateless path never touches it.
    public let correlator: Correlator?
    /// Baselines (new terms, numeric) and the telemetry-gap analytic (Stateful/StateStore.swift).
    public let baselines: BaselineAnalytics

    public init(ruleSet: RuleSet) {
        self.ruleSet = ruleSet
        self.extractors = ruleSet.mappings.map { EntityExtractor(mapping: $0) }
        self.matchCounts = Array(repeating: 0, count: ruleSet.rules.count)
        self.analytics = Self.makeAnalytics(ruleSet)
        self.correlator = ruleSet.correlation.isEmpty ? nil : Correlator(plan: ruleSet.correlation)
        self.baselines = BaselineAnalytics(ruleSet: ruleSet)
    }

    /// Evaluates one record of `format`/`kind`; calls `emit` for each alert.
    @inline(__always)
    public func evaluate(_ event: EventView, format: Int, kind: Int, origin: () -> Origin, emit: (Alert) -> Void) {
        evaluator.beginEvent()
        if let gap = baselines.gap { observeTelemetry(gap, event, format: format, origin: origin, emit: emit) }
        let entries = ruleSet.routes[format][kind]
        let prefilter = ruleSet.prefilters[format][kind]
        if let prefilter { evaluator.selectCandidates(prefilter, event) }
        for i in entries.indices where prefilter == nil || evaluator.isCandidate(i) {
            let entry = entries[i]
            guard evaluator.matches(entry.plan, event) else { continue }
            if entry.filters.contains(where: { evaluator.matches($0, event) }) { continue }
            // An analytic's rule feeds it (Stateful/DNSTunnelAnalytic.swift); it alerts on its own terms.
            var stateful: Alert?
            if let a = analytics[entry.rule] {
                guard let alert = analyticAlert(a, event, format: format, origin: origin) else { continue }
                stateful = alert
            } else if let b = baselines.byRule[entry.rule] {
                guard let alert = baselineAlert(b, event, format: format, origin: origin) else { continue }
                stateful = alert
            }
            if !exceptions.isEmpty,
               let x = exceptions.suppressing(rule: entry.rule, event, format: format, kind: kind, evaluator: evaluator) {
                suppressedCounts[x] += 1
                continue
            }
            matchCounts[entry.rule] += 1
            if correlator != nil {
                // Only matches of rules a correlation refers to touch correlation state.
                correlate(rule: entry.rule, event, format: format, origin: origin(), emit: emit)
                // `generate: false` (the default): the correlation speaks for the rule.
                if ruleSet.correlation.silent[entry.rule] { continue }
            }
            emit(stateful ?? makeAlert(entry.rule, event, format: format, origin: origin()))
        }
    }

    /// Indices of the rules a record matches (for validation and tests).
    public func matchingRules(_ event: EventView, format: Int, kind: Int) -> [Int] {
        evaluator.beginEvent()
        var out: [Int] = []
        let entries = ruleSet.routes[format][kind]
        let prefilter = ruleSet.prefilters[format][kind]
        if let prefilter { evaluator.selectCandidates(prefilter, event) }
        for i in entries.indices where prefilter == nil || evaluator.isCandidate(i) {
            let entry = entries[i]
            guard evaluator.matches(entry.plan, event) else { continue }
            if entry.filters.contains(where: { evaluator.matches($0, event) }) { continue }
            out.append(entry.rule)
        }
        return out
    }

    /// Known pods and containers (Inventory.swift): alert entities are completed from it.
    public var inventory = Inventory()

    func makeAlert(_ rule: Int, _ e: EventView, format: Int, origin: Origin) -> Alert {
        let extractor = extractors[format]
        let time = extractor.time(of: e)
        var entity = extractor.entity(of: e)
        if !inventory.isEmpty {
            entity = inventory.resolve(entity: entity, time: time, byIP: Inventory.resolvesByIP(ruleSet.mappings[format]))
        }
        return Alert(rule: ruleSet.rules[rule], time: time, origin: origin,
                     source: ruleSet.mappings[format].id, entity: entity,
                     event: String(decoding: e.recordBytes, as: UTF8.self))
    }

    public func entity(_ e: EventView, format: Int) -> Entity { extractors[format].entity(of: e) }
    public func time(_ e: EventView, format: Int) -> Int64? { extractors[format].time(of: e) }
}
