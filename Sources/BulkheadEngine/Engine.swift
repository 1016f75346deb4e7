import BulkheadEvent
import BulkheadRules
import BulkheadSources

/// The stateless detection engine: routes a decoded record to its candidate rules and turns
/// matches into alerts. No I/O; one `Engine` per worker thread (it owns scratch state).
public final class Engine {
    public let ruleSet: RuleSet
    let evaluator = Evaluator()
    let extractors: [EntityExtractor]
    /// Per-rule match counts, for summaries.
    public private(set) var matchCounts: [Int]
    /// Tuning exceptions (Exceptions.swift): matching alerts are suppressed and counted, per exception.
    public var exceptions = CompiledExceptions.none {
        didSet { suppressedCounts = Array(repeating: 0, count: exceptions.active.count) }
    }
    /// Alerts suppressed, indexed like `exceptions.active`.
    public private(set) var suppressedCounts: [Int] = []

    public init(ruleSet: RuleSet) {
        self.ruleSet = ruleSet
        self.extractors = ruleSet.mappings.map { EntityExtractor(mapping: $0) }
        self.matchCounts = Array(repeating: 0, count: ruleSet.rules.count)
    }

    /// Evaluates one record of `format`/`kind`; calls `emit` for each alert.
    @inline(__always)
    public func evaluate(_ event: EventView, format: Int, kind: Int, origin: () -> Origin, emit: (Alert) -> Void) {
        evaluator.beginEvent()
        let entries = ruleSet.routes[format][kind]
        for entry in entries where evaluator.matches(entry.plan, event) {
            if entry.filters.contains(where: { evaluator.matches($0, event) }) { continue }
            if !exceptions.isEmpty,
               let x = exceptions.suppressing(rule: entry.rule, event, format: format, kind: kind, evaluator: evaluator) {
                suppressedCounts[x] += 1
                continue
            }
            matchCounts[entry.rule] += 1
            emit(makeAlert(entry.rule, event, format: format, origin: origin()))
        }
    }

    /// Indices of the rules a record matches (for validation and tests).
    public func matchingRules(_ event: EventView, format: Int, kind: Int) -> [Int] {
        evaluator.beginEvent()
        var out: [Int] = []
        for entry in ruleSet.routes[format][kind] where evaluator.matches(entry.plan, event) {
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
