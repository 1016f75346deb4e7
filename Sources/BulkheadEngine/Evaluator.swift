import BulkheadEvent

/// Evaluates rule plans against one record. Holds per-thread scratch state (regex thread
/// lists), so one evaluator per worker; it allocates nothing per event.
public final class Evaluator {
    let regexState = RegexState()
    /// Search results memoised per rule evaluation: 0 unknown, 1 false, 2 true.
    private var memo: [UInt8] = Array(repeating: 0, count: 64)

    // Per-event path lookup cache: slot → range of value nodes in `cachedValues`, valid while
    // `cacheGeneration[slot] == generation`. Reused across events: no allocation in steady state.
    private var generation: UInt32 = 1
    private var cacheGeneration: [UInt32] = []
    private var cacheStart: [Int32] = []
    private var cacheCount: [Int32] = []
    private var cachedValues: [Int32] = []

    // Prefilter candidates of the current record: entry i is a candidate when
    // `candidateStamp[i] == candidateGeneration`.
    private var candidateStamp: [UInt32] = []
    private var candidateGeneration: UInt32 = 0

    public init() {}

    /// Marks the route entries the record can match (see `Prefilter`). Call after `beginEvent`.
    public func selectCandidates(_ p: Prefilter, _ e: EventView) {
        if candidateStamp.count < p.entryCount {
            candidateStamp = Array(repeating: 0, count: p.entryCount)
            candidateGeneration = 0
        }
        candidateGeneration &+= 1
        if candidateGeneration == 0 {
            for i in candidateStamp.indices { candidateStamp[i] = 0 }
            candidateGeneration = 1
        }
        let g = candidateGeneration
        for i in p.always.indices { candidateStamp[Int(p.always[i])] = g }
        for k in p.keys.indices {
            let key = p.keys[k]
            for i in values(slot: key.slot, path: key.path, e) {
                let n = Int(cachedValues[i])
                let kind = e.kind(n)
                if kind == .object || kind == .array || kind == .null { continue }
                let h = e.withText(n) { Prefilter.hash($0) }
                p.forEachPosting(key: k, hash: h) { candidateStamp[$0] = g }
            }
        }
    }

    /// Whether route entry `i` was selected by the last `selectCandidates`.
    @inline(__always)
    public func isCandidate(_ i: Int) -> Bool { candidateStamp[i] == candidateGeneration }

    /// Starts a new record: forgets the previous record's cached lookups.
    public func beginEvent() {
        generation &+= 1
        if generation == 0 {
            for i in cacheGeneration.indices { cacheGeneration[i] = 0 }
            generation = 1
        }
        cachedValues.removeAll(keepingCapacity: true)
    }

    /// Value nodes a path reaches in the current record, walked once per record and slot.
    @inline(__always)
    private func values(slot: Int, path: FieldPath, _ e: EventView) -> Range<Int> {
        if slot >= cacheGeneration.count {
            let n = slot + 64
            cacheGeneration += Array(repeating: 0, count: n - cacheGeneration.count)
            cacheStart += Array(repeating: 0, count: n - cacheStart.count)
            cacheCount += Array(repeating: 0, count: n - cacheCount.count)
        }
        if cacheGeneration[slot] != generation {
            let start = cachedValues.count
            e.forEachValue(path) { node in
                cachedValues.append(Int32(node))
                return false
            }
            cacheGeneration[slot] = generation
            cacheStart[slot] = Int32(start)
            cacheCount[slot] = Int32(cachedValues.count - start)
        }
        let start = Int(cacheStart[slot])
        return start..<(start + Int(cacheCount[slot]))
    }

    /// Calls `body` for each value of the test's `k`-th path until it returns true.
    @inline(__always)
    private func anyNode(_ f: UnsafePointer<FieldTest>, _ k: Int, _ e: EventView, _ body: (Int) -> Bool) -> Bool {
        if f.pointee.slots.isEmpty {
            return e.forEachValue(f.pointee.paths[k], body)
        }
        for i in values(slot: f.pointee.slots[k], path: f.pointee.paths[k], e) where body(Int(cachedValues[i])) { return true }
        return false
    }

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
            // Pointer loops, not copies: no reference counting of the field tests on the hot path.
            r = maps.withUnsafeBufferPointer { mp in
                for m in mp.indices {
                    let all = mp[m].withUnsafeBufferPointer { tp in
                        for t in tp.indices where !fieldTest(tp.baseAddress! + t, e) { return false }
                        return true
                    }
                    if all { return true }
                }
                return false
            }
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
        withUnsafePointer(to: f) { fieldTest($0, e) }
    }

    func fieldTest(_ f: UnsafePointer<FieldTest>, _ e: EventView) -> Bool {
        let pathCount = f.pointee.paths.count
        if let wanted = f.pointee.exists {
            var present = false
            for k in 0..<pathCount where anyNode(f, k, e, { _ in true }) { present = true; break }
            return present == wanted
        }
        let all = f.pointee.all
        var hit = all
        f.pointee.tests.withUnsafeBufferPointer { tests in
            for i in tests.indices {
                let h = anyValue(f, pathCount, tests.baseAddress! + i, e)
                if all && !h { hit = false; break }
                if !all && h { hit = true; break }
            }
        }
        return hit != f.pointee.negated
    }

    private func anyValue(_ f: UnsafePointer<FieldTest>, _ pathCount: Int, _ t: UnsafePointer<ValueTest>, _ e: EventView) -> Bool {
        if case .null = t.pointee {
            // Null matches an absent field or a JSON null.
            var sawValue = false
            for k in 0..<pathCount {
                let isNull = anyNode(f, k, e) { n in
                    sawValue = true
                    return e.kind(n) == .null
                }
                if isNull { return true }
            }
            return !sawValue
        }
        if case .glob(let g) = t.pointee {
            // The common case, inlined: a plain value of pointers, no reference counting.
            for k in 0..<pathCount where anyNode(f, k, e, { n in
                let kind = e.kind(n)
                if kind == .object || kind == .array || kind == .null { return false }
                return e.withText(n) { g.matches($0) }
            }) { return true }
            return false
        }
        for k in 0..<pathCount where anyNode(f, k, e, { n in valueTest(t.pointee, n, e) }) { return true }
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
                // Dotted IPv4, the common case, without allocating.
                if let v4 = IPAddress.parseV4Word(v) { return c.containsV4(v4) }
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
    /// Compares two values of the same record in place (no copy: this runs per event).
    static func compare(_ v: UnsafeBufferPointer<UInt8>, _ o: UnsafeBufferPointer<UInt8>, mode: FieldRefMode, folding: Bool) -> Bool {
        guard v.count >= o.count else { return false }
        switch mode {
        case .equal: return v.count == o.count && equal(v, at: 0, o, folding)
        case .prefix: return equal(v, at: 0, o, folding)
        case .suffix: return equal(v, at: v.count - o.count, o, folding)
        case .contains:
            for at in 0...(v.count - o.count) where equal(v, at: at, o, folding) { return true }
            return false
        }
    }

    @inline(__always)
    static func equal(_ v: UnsafeBufferPointer<UInt8>, at: Int, _ o: UnsafeBufferPointer<UInt8>, _ folding: Bool) -> Bool {
        for k in 0..<o.count {
            let a = v[at + k], b = o[k]
            if a != b && !(folding && asciiLower(a) == asciiLower(b)) { return false }
        }
        return true
    }
}
