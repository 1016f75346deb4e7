import BulkheadEvent
import BulkheadRules

/// The evaluation plan of one rule: everything a rule needs at match time, resolved once.
public struct RulePlan: Sendable {
    public var searches: [SearchPlan]
    public var condition: ConditionPlan

    /// Gives every field path a slot in the evaluator's per-event lookup cache, so a path
    /// many rules test is walked once per record.
    mutating func assignSlots(_ interner: inout [FieldPath: Int]) {
        for i in searches.indices {
            guard case .maps(var maps) = searches[i] else { continue }
            for m in maps.indices {
                for t in maps[m].indices {
                    maps[m][t].slots = maps[m][t].paths.map { p in
                        if let s = interner[p] { return s }
                        let s = interner.count
                        interner[p] = s
                        return s
                    }
                }
            }
            searches[i] = .maps(maps)
        }
    }
}

public enum SearchPlan: Sendable, Hashable {
    /// OR over maps; each map is AND over its field tests.
    case maps([[FieldTest]])
    /// Keywords matched against every scalar in the record.
    case keywords([ValueTest], all: Bool)
}

public indirect enum ConditionPlan: Sendable {
    case search(Int)
    case not(ConditionPlan)
    case and([ConditionPlan])
    case or([ConditionPlan])
    /// At least `count` of the searches match (`all of` sets count to the number of searches).
    case atLeast(Int, [Int])
    case constant(Bool)
}

public struct FieldTest: Sendable, Hashable {
    /// Where the field may be: the native path, or several when a mapping gives alternatives.
    public var paths: [FieldPath]
    public var tests: [ValueTest]
    /// `|all`: every test must match some value; otherwise any test.
    public var all: Bool
    /// `|exists`: presence test instead of value tests.
    public var exists: Bool?
    /// `|neq`: the item's result is inverted (absent fields match).
    public var negated: Bool
    public var line: Int
    /// Per-event lookup cache slot of each path (assigned by the rule set; empty = no cache).
    public var slots: [Int] = []

    /// Equal tests evaluate equally on every record: the line and slots do not count.
    public static func == (a: FieldTest, b: FieldTest) -> Bool {
        a.paths == b.paths && a.tests == b.tests && a.all == b.all && a.exists == b.exists && a.negated == b.negated
    }

    public func hash(into h: inout Hasher) {
        h.combine(paths); h.combine(tests); h.combine(all); h.combine(exists); h.combine(negated)
    }
}

public enum CompareOp: String, Sendable, Hashable {
    case lt, lte, gt, gte, neq, eq

    func holds(_ a: Double, _ b: Double) -> Bool {
        switch self {
        case .lt: return a < b
        case .lte: return a <= b
        case .gt: return a > b
        case .gte: return a >= b
        case .neq: return a != b
        case .eq: return a == b
        }
    }
}

public enum TimePart: String, Sendable, Hashable {
    case minute, hour, day, week, month, year
}

public enum FieldRefMode: Sendable, Hashable { case equal, prefix, suffix, contains }

public indirect enum ValueTest: Sendable, Hashable {
    /// String comparison with Sigma wildcards (also how numbers and booleans written as
    /// strings compare).
    case glob(GlobPattern)
    case regex(SigmaRegex)
    case cidr(CIDR)
    case compare(CompareOp, Double)
    /// A number in the rule: equal numerically when the event holds a number, textually otherwise.
    case number(Double, GlobPattern)
    case bool(Bool)
    /// Field is null or absent.
    case null
    case fieldref([FieldPath], FieldRefMode, caseSensitive: Bool, negated: Bool)
    case timePart(TimePart, CompareOp, Double)
}
