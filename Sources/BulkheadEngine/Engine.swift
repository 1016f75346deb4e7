import BulkheadEvent
import BulkheadRules
import BulkheadSources

/// The stateless detection engine: routes a decoded record to its candidate rules and turns
/// matches into alerts. No I/O; one `Engine` per worker thread (it owns scratch state).
public final class Engine {
    public let ruleSet: RuleSet
    /// Rule matching (RecordMatcher.swift); the rest of this class is the state around it.
    public let matcher: RecordMatcher
    var evaluator: Evaluator { matcher.evaluator }
    var extractors: [EntityExtractor] { matcher.extractors }
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

    /// Per format: whether entities are completed from the inventory by source IP.
    let resolvesByIP: [Bool]
    // The current record's event time and resolved entity, made on first use: several rules,
    // baselines and analytics may ask for them (`beginRecord` forgets them).
    private var memoTime: Int64?? = nil
    private var memoEntity: Entity?

    public init(ruleSet: RuleSet) {
        self.ruleSet = ruleSet
        self.resolvesByIP = ruleSet.mappings.map(Inventory.resolvesByIP)
        self.matcher = RecordMatcher(ruleSet: ruleSet)
        self.matchCounts = Array(repeating: 0, count: ruleSet.rules.count)
        self.analytics = Self.makeAnalytics(ruleSet)
        self.correlator = ruleSet.correlation.isEmpty ? nil : Correlator(plan: ruleSet.correlation)
        self.baselines = BaselineAnalytics(ruleSet: ruleSet)
    }

    /// Whether every record, matched or not, feeds learned state (the telemetry-gap analytic):
    /// a parallel scan then hands each record's `GapObservation` over in order.
    public var observesEveryRecord: Bool { baselines.gap != nil }

    /// Evaluates one record of `format`/`kind`; calls `emit` for each alert.
    @inline(__always)
    public func evaluate(_ event: EventView, format: Int, kind: Int, origin: () -> Origin, emit: (Alert) -> Void) {
        beginRecord()
        if let gap = baselines.gap { observeTelemetry(gap, event, format: format, origin: origin, emit: emit) }
        matcher.match(event, format: format, kind: kind)
        react(to: matcher.matched, event, format: format, kind: kind, origin: origin, emit: emit)
    }

    /// `evaluate` for a record whose matching rules a `RecordMatcher` on another thread already
    /// found (a parallel scan): only the stateful part runs here.
    /// `gap`: the record's telemetry-gap observation, when that thread made it too.
    public func evaluate(_ event: EventView, format: Int, kind: Int, matched: ArraySlice<Int>, gap observed: GapObservation? = nil,
                         origin: () -> Origin, emit: (Alert) -> Void) {
        beginRecord()
        if let observed {
            observeTelemetry(observed, origin: origin, emit: emit)
        } else if let gap = baselines.gap {
            observeTelemetry(gap, event, format: format, origin: origin, emit: emit)
        }
        // Exceptions evaluate against this record: forget the previous record's lookups.
        evaluator.beginEvent()
        react(to: matched, event, format: format, kind: kind, origin: origin, emit: emit)
    }

    /// Analytics, baselines, exceptions, correlation and alerts for the rules a record matched.
    @inline(__always)
    private func react<Rules: Collection<Int>>(to matched: Rules, _ event: EventView, format: Int, kind: Int, origin: () -> Origin, emit: (Alert) -> Void) {
        for rule in matched {
            // An analytic's rule feeds it (Stateful/DNSTunnelAnalytic.swift); it alerts on its own terms.
            var stateful: Alert?
            if let a = analytics[rule] {
                guard let alert = analyticAlert(a, event, format: format, origin: origin) else { continue }
                stateful = alert
            } else if let b = baselines.byRule[rule] {
                guard let alert = baselineAlert(b, event, format: format, origin: origin) else { continue }
                stateful = alert
            }
            if !exceptions.isEmpty,
               let x = exceptions.suppressing(rule: rule, event, format: format, kind: kind, evaluator: evaluator) {
                suppressedCounts[x] += 1
                continue
            }
            matchCounts[rule] += 1
            if correlator != nil {
                // Only matches of rules a correlation refers to touch correlation state.
                correlate(rule: rule, event, format: format, origin: origin(), emit: emit)
                // `generate: false` (the default): the correlation speaks for the rule.
                if ruleSet.correlation.silent[rule] { continue }
            }
            emit(stateful ?? makeAlert(rule, event, format: format, origin: origin()))
        }
    }

    /// Indices of the rules a record matches (for validation and tests).
    public func matchingRules(_ event: EventView, format: Int, kind: Int) -> [Int] {
        matcher.match(event, format: format, kind: kind)
        return matcher.matched
    }

    /// Known pods and containers (Inventory.swift): alert entities are completed from it.
    public var inventory = Inventory()

    func makeAlert(_ rule: Int, _ e: EventView, format: Int, origin: Origin) -> Alert {
        Alert(rule: ruleSet.rules[rule], time: recordTime(e, format: format), origin: origin,
              source: ruleSet.mappings[format].id, entity: recordEntity(e, format: format),
              event: String(decoding: e.recordBytes, as: UTF8.self))
    }

    func beginRecord() {
        memoTime = nil
        memoEntity = nil
    }

    /// The current record's event time (made once per record).
    func recordTime(_ e: EventView, format: Int) -> Int64? {
        if let t = memoTime { return t }
        let t = extractors[format].time(of: e)
        memoTime = .some(t)
        return t
    }

    /// The current record's entity, completed from the inventory (made once per record).
    func recordEntity(_ e: EventView, format: Int) -> Entity {
        if let known = memoEntity { return known }
        var entity = extractors[format].entity(of: e)
        if !inventory.isEmpty {
            entity = inventory.resolve(entity: entity, time: recordTime(e, format: format), byIP: resolvesByIP[format])
        }
        memoEntity = entity
        return entity
    }

    public func entity(_ e: EventView, format: Int) -> Entity { extractors[format].entity(of: e) }
    public func time(_ e: EventView, format: Int) -> Int64? { extractors[format].time(of: e) }
}
