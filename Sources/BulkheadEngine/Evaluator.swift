import BulkheadEvent

/// Evaluates rule plans against one record. Holds per-thread scratch state (regex thread
/// lists), so one evaluator per worker; it allocates nothing per event.
public final class Evaluator {
    let regexState = RegexState()
    /// Search results memoised per rule evaluation: 0 unknown, 1 false, 2 true.
    private var memo: [UInt8] = Array(repeating: 0, count: 64)

    public init() {}

    public func matches(_ plan: RulePlan, _ event: EventView) -> Bool {
        if memo.count < plan.searches.count { memo = Array(repeating: 0, count: plan.searches.count) }
        for i in 0..<plan.searches.count { memo[i] = 0 }
        return eval(plan.condition, plan, event)
    }

    private func eval(_ c: ConditionPlan, _ plan: RulePlan, _ e: EventView) -> Bool {
        switch c {
        case .search(let i): return search(i, plan, e)
        case .not(let inner): return !eval(inner, plan, e)
        case .and(let cs):
            for x in cs where !eval(x, plan, e) { return false }
            return true
        case .or(let cs):
            for x in cs where eval(x, plan, e) { return true }
            return false
        case .atLeast(let n, let indices):
            var hits = 0
            for (k, i) in indices.enumerated() {
                if search(i, plan, e) { hits += 1; if hits >= n { return true } }
                if hits + (indices.count - k - 1) < n { return false }
            }
            return false
        case .constant(let b): return b
        }
    }

    private func search(_ i: Int, _ plan: RulePlan, _ e: EventView) -> Bool {
        switch memo[i] {
        case 1: return false
        case 2: return true
        default: break
        }
        let r: Bool
        switch plan.searches[i] {
        case .maps(let maps):
            r = maps.contains { map in map.allSatisfy { fieldTest($0, e) } }
        case .keywords(let tests, let all):
            if all {
                r = tests.allSatisfy { t in e.forEachLeaf { leaf in valueTest(t, leaf, e) } }
            } else {
                r = e.forEachLeaf { leaf in tests.contains { valueTest($0, leaf, e) } }
            }
        }
        memo[i] = r ? 2 : 1
        return r
    }

    func fieldTest(_ f: FieldTest, _ e: EventView) -> Bool {
        if let wanted = f.exists {
            let present = f.paths.contains { e.exists($0) }
            return present == wanted
        }
        let hit = f.all ? f.tests.allSatisfy { t in anyValue(f, t, e) } : f.tests.contains { t in anyValue(f, t, e) }
        return hit != f.negated
    }

    private func anyValue(_ f: FieldTest, _ t: ValueTest, _ e: EventView) -> Bool {
        if case .null = t {
            // Null matches an absent field or a JSON null.
            var sawValue = false
            for p in f.paths {
                var isNull = false
                e.forEachValue(p) { n in
                    sawValue = true
                    if e.kind(n) == .null { isNull = true; return true }
                    return false
                }
                if isNull { return true }
            }
            return !sawValue
        }
        for p in f.paths where e.forEachValue(p, { n in valueTest(t, n, e) }) { return true }
        return false
    }

    func valueTest(_ t: ValueTest, _ n: Int, _ e: EventView) -> Bool {
        let kind = e.kind(n)
        switch t {
        case .glob(let g):
            if kind == .object || kind == .array || kind == .null { return false }
            return e.withText(n) { g.matches($0) }
        case .number(let value, let g):
            if kind == .number {
                return e.withText(n) { Numbers.parse($0) == value }
            }
            if kind == .string { return e.withText(n) { g.matches($0) } }
            return false
        case .bool(let b):
            if kind == .true { return b }
            if kind == .false { return !b }
            if kind == .string {
                return e.withText(n) { v in
                    let want: StaticString = b ? "true" : "false"
                    guard v.count == want.utf8CodeUnitCount else { return false }
                    for i in 0..<v.count where asciiLower(v[i]) != want.utf8Start[i] { return false }
                    return true
                }
            }
            return false
        case .null:
            return kind == .null
        case .regex(let r):
            if kind == .object || kind == .array || kind == .null { return false }
            return e.withText(n) { v in
                if !r.requiredLiteral.isEmpty,
                   Bytes.find(r.requiredLiteral, in: v, from: 0, folding: r.flags.caseInsensitive) == nil { return false }
                return r.matches(v, state: regexState)
            }
        case .cidr(let c):
            guard kind == .string else { return false }
            return e.withText(n) { v in
                guard let ip = IPAddress.parse(v) else { return false }
                return c.contains(ip)
            }
        case .compare(let op, let value):
            guard kind == .number || kind == .string else { return false }
            return e.withText(n) { v in
                guard let x = Numbers.parse(v) else { return op == .neq && kind == .string }
                return op.holds(x, value)
            }
        case .fieldref(let paths, let mode, let cased, let negated):
            // A JSON null has no value to compare (as in `.glob`): its text `null` must not
            // equal the other field's null, nor the string "null".
            if kind == .object || kind == .array || kind == .null { return false }
            return e.withText(n) { v in
                var hit = false
                for p in paths {
                    e.forEachValue(p) { other in
                        if e.kind(other) == .null { return false }
                        e.withText(other) { o in
                            hit = FieldRef.compare(v, o, mode: mode, folding: !cased)
                        }
                        return hit
                    }
                    if hit { break }
                }
                return hit != negated
            }
        case .timePart(let part, let op, let value):
            return e.withText(n) { v in
                guard let x = TimeParts.part(part, of: v, isNumber: kind == .number) else { return false }
                return op.holds(Double(x), value)
            }
        }
    }
}

enum FieldRef {
    static func compare(_ v: UnsafeBufferPointer<UInt8>, _ o: UnsafeBufferPointer<UInt8>, mode: FieldRefMode, folding: Bool) -> Bool {
        let l = Array(o).map { folding ? asciiLower($0) : $0 }
        switch mode {
        case .equal: return v.count == l.count && Bytes.equal(v, 0, l, folding: folding)
        case .prefix: return v.count >= l.count && Bytes.equal(v, 0, l, folding: folding)
        case .suffix: return v.count >= l.count && Bytes.equal(v, v.count - l.count, l, folding: folding)
        case .contains: return Bytes.find(l, in: v, from: 0, folding: folding) != nil
        }
    }
}
