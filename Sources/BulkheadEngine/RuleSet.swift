import BulkheadEvent
import BulkheadRules
import BulkheadSources

/// What an alert says about the rule that raised it.
public struct RuleInfo: Sendable {
    public var id: String
    public var title: String
    public var level: Level
    public var status: String?
    public var description: String?
    public var tags: [String]
    public var techniques: [String]
    public var tactics: [String]
    public var falsepositives: [String]
    public var references: [String]
    public var seeds: [String]
    /// Ids of rules declared related (`related:`); overlaps between them are expected.
    public var related: [String]
    public var logsource: LogSource
    public var file: String
    public var line: Int
}

extension RuleInfo {
    /// A rule as known outside a rule set (an alert read back from a store).
    public init(id: String, title: String, level: Level, status: String? = nil, tags: [String] = [], techniques: [String] = [],
                tactics: [String] = [], logsource: LogSource = LogSource(), file: String = "", line: Int = 0) {
        self.id = id
        self.title = title
        self.level = level
        self.status = status
        self.description = nil
        self.tags = tags
        self.techniques = techniques
        self.tactics = tactics
        self.falsepositives = []
        self.references = []
        self.seeds = []
        self.related = []
        self.logsource = logsource
        self.file = file
        self.line = line
    }
}

public enum Level: Int, Sendable, Comparable, CaseIterable, CustomStringConvertible {
    case informational = 0, low, medium, high, critical

    public init?(name: String) {
        switch name.lowercased() {
        case "informational", "info": self = .informational
        case "low": self = .low
        case "medium": self = .medium
        case "high": self = .high
        case "critical": self = .critical
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .informational: return "informational"
        case .low: return "low"
        case .medium: return "medium"
        case .high: return "high"
        case .critical: return "critical"
        }
    }

    public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
}

/// Rules compiled for every source kind they apply to, indexed by (format, kind) so a record
/// is only tested against the rules written for its logsource.
public struct RuleSet: Sendable {
    public struct Entry: Sendable {
        public var rule: Int
        public var plan: RulePlan
        public var filters: [RulePlan]
    }

    public private(set) var rules: [RuleInfo] = []
    public private(set) var correlations: [CorrelationRule] = []
    public private(set) var diagnostics: [Diagnostic] = []
    /// routes[format][kind] → rules to test.
    public private(set) var routes: [[[Entry]]] = []
    public let mappings: [SourceMapping]
    /// Field path → per-event lookup cache slot (shared by all routed plans).
    public private(set) var pathSlots: [FieldPath: Int] = [:]
    /// Rules whose logsource no known source produces (kept, reported, never evaluated).
    public private(set) var unrouted: [Int] = []
    /// Rules that name a stateful analytic (`x-bulkhead-analytic`, Stateful/DNSTunnelAnalytic.swift):
    /// routed like any rule; their matches feed the analytic instead of alerting.
    public private(set) var analytics: [AnalyticSpec] = []
    /// programs[format][kind]: `routes[format][kind]` lowered for evaluation, with its literal
    /// prefilter (Compiler/MatchProgram.swift, Compiler/Prefilter.swift).
    public private(set) var programs: [[MatchProgram]] = []
    /// Each rule's Sigma `name` (indexed like `rules`), for correlation references.
    public private(set) var ruleNames: [String?] = []
    /// Correlation rules resolved against the rules (Stateful/CorrelationPlan.swift).
    public private(set) var correlation = CorrelationPlan.empty

    public init(documents: [SigmaDocument], mappings: [SourceMapping] = Formats.mappings, options: RuleCompiler.Options = .init()) {
        self.mappings = mappings
        routes = mappings.map { m in Array(repeating: [], count: m.kinds.count) }
        let filterDocs = documents.compactMap { if case .filter(let f) = $0 { return f } else { return nil } }
        var seenIDs: [String: SourceLocation] = [:]
        for doc in documents {
            switch doc {
            case .filter: continue
            case .correlation(let c): correlations.append(c)
            case .rule(let rule):
                if let id = rule.id {
                    if let first = seenIDs[id] {
                        diagnostics.append(Diagnostic(.duplicateID, "rule id \(id) already used at \(first)", at: rule.location,
                                                      severity: .warning, ruleID: id, ruleTitle: rule.title))
                    } else {
                        seenIDs[id] = rule.location
                    }
                }
                add(rule, filters: filterDocs, options: options)
            }
        }
        var slots = pathSlots
        programs = routes.map { kinds in
            kinds.map { entries in MatchProgram(entries: entries.map { ($0.rule, $0.plan, $0.filters) }, slots: &slots, prefilter: options.prefilter) }
        }
        pathSlots = slots
        correlation = CorrelationPlan(correlations: correlations, rules: rules, names: ruleNames, mappings: mappings)
        diagnostics += correlation.diagnostics
    }

    private mutating func add(_ rule: SigmaRule, filters: [FilterRule], options: RuleCompiler.Options) {
        let info = RuleInfo(
            id: rule.id ?? rule.title, title: rule.title, level: rule.level.flatMap(Level.init(name:)) ?? .medium,
            status: rule.status, description: rule.description, tags: rule.tags, techniques: rule.techniques,
            tactics: rule.tactics, falsepositives: rule.falsepositives, references: rule.references, seeds: rule.seeds,
            related: rule.related.map(\.id), logsource: rule.logsource, file: rule.location.file, line: rule.location.line)
        // Compile once with native paths to surface errors even when no source routes the rule.
        do {
            _ = try RuleCompiler(options: options).compile(rule)
        } catch {
            diagnostics.append(error.diagnostic)
            return
        }
        let index = rules.count
        rules.append(info)
        // Baselines and the telemetry-gap analytic (Stateful/StateStore.swift, docs/baselines.md).
        if let (kind, error) = BaselineAnalytics.declaredKind(rule.extensions) {
            if let error { diagnostics.append(Diagnostic(.invalidValue, "\(kind): \(error)", at: rule.location, ruleID: rule.id, ruleTitle: rule.title)) }
            analytics.append(AnalyticSpec(rule: index, kind: kind, extensions: rule.extensions))
        } else if let kind = rule.extensions["x-bulkhead-analytic"] {
            if kind != "dns_tunnel" {
                diagnostics.append(Diagnostic(.invalidValue, "unknown analytic `\(kind)` (known: dns_tunnel)", at: rule.location, severity: .warning, ruleID: rule.id, ruleTitle: rule.title))
            } else {
                do { _ = try DNSTunnelParameters(extensions: rule.extensions) } catch {
                    diagnostics.append(Diagnostic(.invalidValue, "x-bulkhead-parameters: \(error)", at: rule.location, ruleID: rule.id, ruleTitle: rule.title))
                }
            }
            analytics.append(AnalyticSpec(rule: index, kind: kind, extensions: rule.extensions))
        }
        ruleNames.append(rule.name)
        let applicableFilters = filters.filter { f in
            f.rules.contains { $0 == rule.id || $0 == rule.name || $0 == rule.title }
        }
        var routed = false
        for (fi, mapping) in mappings.enumerated() {
            for (ki, kind) in mapping.kinds.enumerated() where rule.logsource.applies(to: kind.logsource) {
                let compiler = RuleCompiler(options: options, resolve: { mapping.paths(for: $0) })
                guard var plan = try? compiler.compile(rule) else { continue }
                plan.assignSlots(&pathSlots)
                var filterPlans: [RulePlan] = []
                for f in applicableFilters where f.logsource.applies(to: kind.logsource) {
                    do {
                        filterPlans.append(try compiler.compile(searches: f.searches, condition: f.condition))
                    } catch {
                        diagnostics.append(Diagnostic(error.code, "filter `\(f.title)`: \(error.message)", at: f.location, ruleID: f.id))
                    }
                }
                routes[fi][ki].append(Entry(rule: index, plan: plan, filters: filterPlans))
                routed = true
            }
        }
        if !routed { unrouted.append(index) }
    }

    public var ruleCount: Int { rules.count }

    /// How one route is evaluated (`bulkhead rules check --routes`): its rules, how many the
    /// prefilter indexes, the fields it reads for every record, and searches shared between rules.
    public struct RouteStats: Sendable {
        public var source: String
        public var logsource: LogSource
        public var rules: Int
        public var indexed: Int
        public var indexedFields: [String]
        public var searches: Int
        public var distinctSearches: Int
    }

    public var routeStats: [RouteStats] {
        var out: [RouteStats] = []
        for (f, kinds) in programs.enumerated() {
            for (k, program) in kinds.enumerated() where program.entryCount > 0 {
                let paths = Dictionary(uniqueKeysWithValues: pathSlots.map { ($1, $0.description) })
                out.append(RouteStats(source: mappings[f].id, logsource: mappings[f].kinds[k].logsource, rules: program.entryCount,
                                      indexed: program.prefilter?.indexedCount ?? 0,
                                      indexedFields: program.prefilter.map { p in (0..<p.keys.count).map { paths[p.keys[$0].slot] ?? "?" } } ?? [],
                                      searches: program.searchesBeforeSharing, distinctSearches: program.searchCount))
            }
        }
        return out
    }
}
