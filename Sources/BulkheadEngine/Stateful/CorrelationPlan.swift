import BulkheadEvent
import BulkheadRules
import BulkheadSources

/// Correlation rules resolved against the loaded rules, once, when the rule set is built:
/// which base rule (or correlation) feeds which correlation, where each group-by field and
/// value field lives in each source format (aliases applied per referenced rule), and which
/// rules stay silent because a correlation refers to them without `generate: true`.
public struct CorrelationPlan: Sendable {
    /// One referenced rule or correlation feeding one correlation.
    public struct Feed: Sendable {
        /// The correlation fed.
        public var correlation: Int
        /// Index of the referenced rule among the correlation's distinct references.
        public var ref: Int
        /// Group-by field names as they appear in the referenced rule's records (aliases applied).
        public var groupFields: [String]
        /// The value field for value_* kinds (aliases applied).
        public var valueField: String?
        /// groupPaths[format][group]: native paths for each group-by field, per source format.
        var groupPaths: [[[FieldPath]]]
        /// valuePaths[format]: native paths of the value field.
        var valuePaths: [[FieldPath]]
    }

    public enum Target: Sendable, Hashable {
        case rule(Int), correlation(Int)
    }

    public struct Compiled: Sendable {
        public var rule: CorrelationRule
        public var info: RuleInfo
        /// Distinct referenced rules, in the order the correlation lists them.
        public var targets: [Target]
        /// temporal_ordered: the positions of the rule list as indices into `targets`.
        public var sequence: [Int]
        /// Whether the correlation raises its own alerts (false when a correlation refers to it
        /// without `generate: true`).
        public var emits: Bool
        /// Conditions that can only become true as events arrive (gt/gte on counts and sums,
        /// and temporal's "all rules seen") fire on the event that satisfies them, over a
        /// sliding window; the others are judged when a window closes.
        public var sliding: Bool
        /// Correlations this one feeds (chaining).
        public var parents: [Feed]
        /// The value_percentile percentile (0...100).
        public var percentile: Double
    }

    public private(set) var correlations: [Compiled] = []
    /// ruleFeeds[rule]: the correlations a base rule's matches feed (empty for most rules).
    public private(set) var ruleFeeds: [[Feed]] = []
    /// silent[rule]: the rule's matches raise no alert of their own (`generate: false`).
    public private(set) var silent: [Bool] = []
    public private(set) var diagnostics: [Diagnostic] = []
    /// The base rules' ids (for correlation alert summaries).
    public private(set) var ruleIDs: [String] = []

    public static let empty = CorrelationPlan()
    public var isEmpty: Bool { correlations.isEmpty }

    init() {}

    public init(correlations input: [CorrelationRule], rules: [RuleInfo], names: [String?], mappings: [SourceMapping]) {
        ruleFeeds = Array(repeating: [], count: rules.count)
        silent = Array(repeating: false, count: rules.count)
        ruleIDs = rules.map(\.id)
        guard !input.isEmpty else { return }
        // Names and ids of rules and correlations.
        var ruleByKey: [String: Int] = [:]
        for (i, r) in rules.enumerated() {
            ruleByKey[r.id] = ruleByKey[r.id] ?? i
            if let n = names[i] { ruleByKey[n] = ruleByKey[n] ?? i }
        }
        var corrByKey: [String: Int] = [:]
        for (i, c) in input.enumerated() {
            if let id = c.id { corrByKey[id] = corrByKey[id] ?? i }
            if let n = c.name { corrByKey[n] = corrByKey[n] ?? i }
        }
        var compiled: [Compiled] = []
        var generateForRule = Array(repeating: (referenced: false, generate: false), count: rules.count)
        var generateForCorr = Array(repeating: (referenced: false, generate: false), count: input.count)
        var pendingFeeds: [(target: Target, feed: Feed)] = []
        for (ci, c) in input.enumerated() {
            var targets: [Target] = []
            var targetKeys: [[String]] = []
            var sequence: [Int] = []
            var ok = true
            for ref in c.rules {
                let target: Target
                if let r = ruleByKey[ref] {
                    target = .rule(r)
                } else if let x = corrByKey[ref], x != ci {
                    target = .correlation(x)
                } else {
                    diagnostics.append(Diagnostic(.correlationUnknownRule, "correlation `\(c.title)` refers to `\(ref)`: no loaded rule or correlation has that id or name",
                                                  at: c.location, ruleID: c.id, ruleTitle: c.title))
                    ok = false
                    continue
                }
                if let at = targets.firstIndex(of: target) {
                    sequence.append(at)
                } else {
                    sequence.append(targets.count)
                    targets.append(target)
                    switch target {
                    case .rule(let r): targetKeys.append([names[r], rules[r].id].compactMap { $0 })
                    case .correlation(let x): targetKeys.append([input[x].name, input[x].id].compactMap { $0 })
                    }
                }
            }
            let valueField = c.conditions.first(where: { $0.field != nil })?.field
            let thresholdsMonotonic = !c.conditions.isEmpty && c.conditions.allSatisfy { $0.op == "gt" || $0.op == "gte" }
            let sliding: Bool
            switch c.kind {
            case .eventCount, .valueCount, .valueSum: sliding = thresholdsMonotonic
            case .temporal, .temporalOrdered: sliding = c.conditions.isEmpty || thresholdsMonotonic
            case .valueAvg, .valuePercentile, .valueMedian: sliding = false
            }
            let percentile = c.kind == .valueMedian ? 50 : min(100, max(0, c.conditions.first(where: { $0.percentile != nil })?.percentile ?? 50))
            let level = c.level.flatMap(Level.init(name:)) ?? .medium
            let info = RuleInfo(id: c.id ?? c.name ?? c.title, title: c.title, level: level, status: nil, description: nil,
                                tags: c.tags, techniques: AttackTags.techniques(in: c.tags), tactics: AttackTags.tactics(in: c.tags),
                                falsepositives: [], references: [], seeds: [], related: [], logsource: LogSource(),
                                file: c.location.file, line: c.location.line)
            compiled.append(Compiled(rule: c, info: info, targets: ok ? targets : [], sequence: ok ? sequence : [], emits: true,
                                     sliding: sliding, parents: [], percentile: percentile))
            guard ok else { continue }
            for (ti, target) in targets.enumerated() {
                // Aliases are keyed by the referenced rule's name (the spec), or its id.
                func resolve(_ field: String) -> String {
                    guard let per = c.aliases[field] else { return field }
                    for k in targetKeys[ti] { if let f = per[k] { return f } }
                    return field
                }
                let groupFields = c.groupBy.map(resolve)
                let value = valueField.map(resolve)
                var feed = Feed(correlation: ci, ref: ti, groupFields: groupFields, valueField: value, groupPaths: [], valuePaths: [])
                if case .rule = target {
                    feed.groupPaths = mappings.map { m in groupFields.map { m.paths(for: $0) } }
                    feed.valuePaths = mappings.map { m in value.map { m.paths(for: $0) } ?? [] }
                }
                pendingFeeds.append((target, feed))
                switch target {
                case .rule(let r):
                    generateForRule[r].referenced = true
                    if c.generate { generateForRule[r].generate = true }
                case .correlation(let x):
                    generateForCorr[x].referenced = true
                    if c.generate { generateForCorr[x].generate = true }
                }
            }
        }
        // Chains must not loop (a correlation fed, through others, by itself).
        var edges: [[Int]] = Array(repeating: [], count: input.count)
        for (target, feed) in pendingFeeds { if case .correlation(let x) = target { edges[x].append(feed.correlation) } }
        var cyclic = Set<Int>()
        for start in 0..<input.count {
            var stack = edges[start], seen = Set<Int>()
            while let n = stack.popLast() {
                if n == start { cyclic.insert(start); break }
                if seen.insert(n).inserted { stack += edges[n] }
            }
        }
        for x in cyclic.sorted() {
            diagnostics.append(Diagnostic(.correlationInvalid, "correlation `\(input[x].title)` is part of a reference cycle; it is not evaluated",
                                          at: input[x].location, ruleID: input[x].id, ruleTitle: input[x].title))
            compiled[x].targets = []
        }
        for (target, feed) in pendingFeeds where !cyclic.contains(feed.correlation) {
            switch target {
            case .rule(let r): ruleFeeds[r].append(feed)
            case .correlation(let x): compiled[x].parents.append(feed)
            }
        }
        for r in rules.indices where generateForRule[r].referenced && !generateForRule[r].generate { silent[r] = true }
        for x in input.indices where generateForCorr[x].referenced && !generateForCorr[x].generate { compiled[x].emits = false }
        correlations = compiled
    }
}
