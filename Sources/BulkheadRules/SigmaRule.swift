import BulkheadEvent

/// The Sigma rule AST: what a rule file says, with source locations, before compilation.

/// A scalar value in a detection.
public enum SigmaValue: Sendable, Hashable, CustomStringConvertible {
    case string(String)
    /// Numbers keep their text: Sigma compares them as written, and numeric modifiers parse them.
    case number(String)
    case bool(Bool)
    case null

    public var description: String {
        switch self {
        case .string(let s): return s
        case .number(let n): return n
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        }
    }
}

/// `field|mod1|mod2: values` (or a keyword list when `field` is nil).
public struct FieldItem: Sendable {
    public var field: String?
    public var modifiers: [String]
    public var values: [SigmaValue]
    public var line: Int

    public init(field: String?, modifiers: [String], values: [SigmaValue], line: Int) {
        self.field = field
        self.modifiers = modifiers
        self.values = values
        self.line = line
    }
}

/// A search identifier: a list of maps (OR) each a conjunction of items, or keywords.
public struct Search: Sendable {
    public enum Body: Sendable {
        /// OR over maps; each map is AND over its items.
        case maps([[FieldItem]])
        /// Field-less values matched anywhere in the record (OR unless `|all`).
        case keywords(FieldItem)
    }
    public var name: String
    public var body: Body
    public var line: Int
}

public indirect enum Condition: Sendable, Equatable, CustomStringConvertible {
    case identifier(String)
    case not(Condition)
    case and([Condition])
    case or([Condition])
    /// `1 of x*`, `all of them`, `3 of sel_*`: `count` nil means all.
    case quantified(count: Int?, pattern: String)

    public var description: String {
        switch self {
        case .identifier(let s): return s
        case .not(let c): return "not \(c)"
        case .and(let cs): return "(" + cs.map(\.description).joined(separator: " and ") + ")"
        case .or(let cs): return "(" + cs.map(\.description).joined(separator: " or ") + ")"
        case .quantified(let n, let p): return "\(n.map(String.init) ?? "all") of \(p)"
        }
    }
}

public struct RelatedRule: Sendable, Hashable {
    public var id: String
    public var type: String
}

public struct SigmaRule: Sendable {
    public var title: String
    public var id: String?
    public var name: String?
    public var status: String?
    public var description: String?
    public var references: [String]
    public var author: String?
    public var date: String?
    public var modified: String?
    public var tags: [String]
    public var level: String?
    public var falsepositives: [String]
    public var fields: [String]
    public var related: [RelatedRule]
    public var license: String?
    public var taxonomy: String?
    public var logsource: LogSource
    public var searches: [Search]
    /// Several conditions (a YAML list) are ORed.
    public var condition: Condition
    public var conditionText: String
    /// Bulkhead extension: seed patterns the rule covers.
    public var seeds: [String]
    /// Bulkhead extension: new-terms / baseline settings, kept raw for the stateful engine.
    public var extensions: [String: String]
    public var location: SourceLocation

    public var techniques: [String] { AttackTags.techniques(in: tags) }
    public var tactics: [String] { AttackTags.tactics(in: tags) }
}

public enum AttackTags {
    /// ATT&CK technique ids from tags (`attack.t1611.001` → `T1611.001`).
    public static func techniques(in tags: [String]) -> [String] {
        tags.compactMap { tag in
            let t = tag.lowercased()
            guard t.hasPrefix("attack.t") else { return nil }
            let id = t.dropFirst(8)
            let parts = id.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count <= 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }) else { return nil }
            return "T" + id
        }
    }

    /// ATT&CK tactic short names from tags (`attack.privilege-escalation`).
    public static func tactics(in tags: [String]) -> [String] {
        tags.compactMap { tag in
            let t = tag.lowercased()
            guard t.hasPrefix("attack.") else { return nil }
            let name = t.dropFirst(7)
            // Technique (t1234), group (g0001), software (s0001) and campaign ids are not tactics.
            if let first = name.first, "tgsc".contains(first), name.dropFirst().allSatisfy({ $0.isNumber || $0 == "." }) { return nil }
            return String(name.map { $0 == "_" ? "-" : $0 })
        }
    }
}

public struct CorrelationRule: Sendable {
    public enum Kind: String, Sendable {
        case eventCount = "event_count", valueCount = "value_count", temporal, temporalOrdered = "temporal_ordered"
        case valueSum = "value_sum", valueAvg = "value_avg", valuePercentile = "value_percentile", valueMedian = "value_median"
    }
    public struct Threshold: Sendable {
        public var op: String  // gt, gte, lt, lte, eq, neq
        public var value: Double
        public var field: String?
        public var percentile: Double?
    }
    public var title: String
    public var id: String?
    public var name: String?
    public var level: String?
    public var tags: [String]
    public var kind: Kind
    public var rules: [String]
    public var groupBy: [String]
    public var timespanSeconds: Double
    public var conditions: [Threshold]
    public var aliases: [String: [String: String]]
    public var generate: Bool
    public var location: SourceLocation
}

public struct FilterRule: Sendable {
    public var title: String
    public var id: String?
    public var logsource: LogSource
    public var rules: [String]
    public var searches: [Search]
    public var condition: Condition
    public var location: SourceLocation
}

public enum SigmaDocument: Sendable {
    case rule(SigmaRule)
    case correlation(CorrelationRule)
    case filter(FilterRule)

    public var title: String {
        switch self {
        case .rule(let r): return r.title
        case .correlation(let c): return c.title
        case .filter(let f): return f.title
        }
    }
    public var id: String? {
        switch self {
        case .rule(let r): return r.id
        case .correlation(let c): return c.id
        case .filter(let f): return f.id
        }
    }
}
