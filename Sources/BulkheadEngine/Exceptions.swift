import BulkheadEvent
import BulkheadRules
import BulkheadSources

/// Tuning exceptions compiled against a rule set: each `match` selection is compiled with the
/// source's field mapping, like a Sigma filter, so it is evaluated on the record itself.
/// Expired entries are kept aside (reported, never applied).
public struct CompiledExceptions: Sendable {
    struct Check: Sendable {
        var exception: Int
        /// Rule indices the exception covers; nil for every rule.
        var rules: Set<Int>?
        var plan: RulePlan
    }
    /// checks[format][kind] lowered: entry i of programs[format][kind] is checks[format][kind][i].
    private(set) var programs: [[MatchProgram]] = []

    /// Entries in force (indices used by `Engine.suppressedCounts`).
    public private(set) var active: [ExceptionEntry] = []
    /// Entries past their expiry date: not applied.
    public private(set) var expired: [ExceptionEntry] = []
    public private(set) var diagnostics: [Diagnostic] = []
    /// checks[format][kind]
    var checks: [[[Check]]]

    public static let none = CompiledExceptions()

    init() { checks = [] }

    /// - Parameter today: the current day, YYYY-MM-DD (UTC); entries expiring before it are not applied.
    public init(entries: [ExceptionEntry], ruleSet: RuleSet, today: String, options: RuleCompiler.Options = .init()) {
        checks = ruleSet.mappings.map { m in Array(repeating: [], count: m.kinds.count) }
        var byName: [String: [Int]] = [:]
        for (i, r) in ruleSet.rules.enumerated() {
            byName[r.id, default: []].append(i)
            byName[r.title, default: []].append(i)
        }
        for entry in entries {
            if entry.isExpired(today: today) { expired.append(entry); continue }
            var rules: Set<Int>?
            if !entry.appliesToAllRules {
                var set = Set<Int>()
                for id in entry.rules {
                    if let found = byName[id] { set.formUnion(found) } else {
                        diagnostics.append(Diagnostic(.correlationUnknownRule, "exception `\(entry.name)`: no loaded rule has id or title `\(id)`",
                                                      at: entry.location, severity: .warning))
                    }
                }
                if set.isEmpty { continue }
                rules = set
            }
            let index = active.count
            var compiled = false
            var failure: String?
            for (fi, mapping) in ruleSet.mappings.enumerated() {
                let compiler = RuleCompiler(options: options, resolve: { mapping.paths(for: $0) })
                let plan: RulePlan
                do {
                    plan = try compiler.compile(searches: entry.searches, condition: entry.condition)
                } catch {
                    failure = error.message
                    continue
                }
                for (ki, kind) in mapping.kinds.enumerated() where entry.logsource?.applies(to: kind.logsource) ?? true {
                    checks[fi][ki].append(Check(exception: index, rules: rules, plan: plan))
                    compiled = true
                }
            }
            if compiled {
                active.append(entry)
            } else {
                diagnostics.append(Diagnostic(.invalidValue, "exception `\(entry.name)`: " + (failure ?? "its logsource matches no known source"),
                                              at: entry.location))
            }
        }
        // Slots continue the rule set's, so the evaluator's per-record lookups are shared.
        var slots = ruleSet.pathSlots
        programs = checks.map { kinds in
            kinds.map { list in MatchProgram(entries: list.map { ($0.exception, $0.plan, []) }, slots: &slots, prefilter: false) }
        }
    }

    public var isEmpty: Bool { active.isEmpty }

    /// The exception that suppresses an alert of `rule` on this record, if any.
    func suppressing(rule: Int, _ e: EventView, format: Int, kind: Int, evaluator: Evaluator) -> Int? {
        guard format < checks.count else { return nil }
        for (i, c) in checks[format][kind].enumerated() where c.rules?.contains(rule) ?? true {
            if evaluator.matches(entry: i, of: programs[format][kind], e) { return c.exception }
        }
        return nil
    }
}
