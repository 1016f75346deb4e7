import BulkheadEvent

/// Evaluates match programs (Compiler/MatchProgram.swift) against one record at a time. Holds
/// per-thread scratch state (lookup cache, search results, regex thread lists), so one
/// evaluator per worker; it allocates nothing per event once its buffers have grown.
public final class Evaluator {
    let regexState = RegexState()
    /// The program being evaluated (its tables, copied: plain pointers).
    private var code = MatchProgram.Code()

    // Search results of the current record and program: valid while
    // `memoStamp[i] == memoGeneration`.
    private var memoStamp = Scratch<UInt32>()
    private var memoValue = Scratch<Bool>()
    private var memoGeneration: UInt32 = 0

    // Per-record path lookup cache: slot → range of value nodes in `cachedValues`, valid while
    // `cacheStamp[slot] == generation`.
    private var generation: UInt32 = 1
    private var cacheStamp = Scratch<UInt32>()
    private var cacheStart = Scratch<Int32>()
    private var cacheCount = Scratch<Int32>()
    private var cachedValues = Scratch<Int32>()
    private var cachedValueCount = 0

    /// Prefilter state of the current record (Prefilter.swift).
    let candidates = CandidateSet()
    /// The current record's root keys by first byte, built on its first lookup.
    private let rootKeys = RootKeyIndex()
    private var rootKeysReady = false

    public init() {}

    deinit {
        memoStamp.free(); memoValue.free()
        cacheStamp.free(); cacheStart.free(); cacheCount.free(); cachedValues.free()
    }

    /// Starts a new record: forgets the previous record's lookups.
    public func beginEvent() {
        generation &+= 1
        if generation == 0 {
            cacheStamp.fill(0)
            generation = 1
        }
        cachedValueCount = 0
        rootKeysReady = false
    }

    /// Starts evaluating `program` on the current record: its search results start unknown.
    private func begin(_ program: MatchProgram) {
        code = program.code
        memoStamp.grow(to: program.searchCount, fill: 0)
        memoValue.grow(to: program.searchCount, fill: false)
        memoGeneration &+= 1
        if memoGeneration == 0 {
            memoStamp.fill(0)
            memoGeneration = 1
        }
        if cacheStamp.count < program.slotLimit {
            cacheStamp.grow(to: program.slotLimit + 64, fill: 0)
            cacheStart.grow(to: program.slotLimit + 64, fill: 0)
            cacheCount.grow(to: program.slotLimit + 64, fill: 0)
        }
    }

    /// Appends to `matched` the rule of every entry of `program` the record matches, in order.
    /// With a prefilter, only the entries whose required literals the record holds are tried.
    func match(_ program: MatchProgram, _ e: EventView, into matched: inout [Int]) {
        begin(program)
        if let p = program.prefilter {
            candidates.select(p, e, self)
            for i in 0..<program.entryCount where candidates.contains(i, p) && entryMatches(Int32(i), e) {
                matched.append(code.entries[i].rule)
            }
        } else {
            for i in 0..<program.entryCount where entryMatches(Int32(i), e) { matched.append(code.entries[i].rule) }
        }
    }

    /// Whether the record matches entry `i` of `program` (exceptions: one entry per check).
    func matches(entry i: Int, of program: MatchProgram, _ e: EventView) -> Bool {
        begin(program)
        return entryMatches(Int32(i), e)
    }

    @inline(__always)
    private func entryMatches(_ i: Int32, _ e: EventView) -> Bool {
        let entry = code.entries[i]
        guard node(entry.root, e) else { return false }
        for f in 0..<entry.filterCount where node(code.filterRoots[entry.filterStart + f], e) { return false }
        return true
    }

    /// Value nodes the path of `slot` reaches in the current record, walked once per record.
    @inline(__always)
    func values(slot: Int, key: PathKey, _ e: EventView) -> Range<Int> {
        if cacheStamp[slot] != generation {
            if !rootKeysReady {
                rootKeys.rebuild(e)
                rootKeysReady = true
            }
            let start = cachedValueCount
            e.forEachValue(key, index: rootKeys) { node in
                if cachedValueCount == cachedValues.count { cachedValues.grow(to: max(256, cachedValueCount * 2), fill: 0) }
                cachedValues[cachedValueCount] = Int32(node)
                cachedValueCount += 1
                return false
            }
            cacheStamp[slot] = generation
            cacheStart[slot] = Int32(start)
            cacheCount[slot] = Int32(cachedValueCount - start)
        }
        let start = Int(cacheStart[slot])
        return start..<(start + Int(cacheCount[slot]))
    }

    /// `values(slot:key:)` for a slot of the program being evaluated.
    @inline(__always)
    func values(slot: Int, _ e: EventView) -> Range<Int> { values(slot: slot, key: code.keys[slot], e) }

    @inline(__always) func cachedNode(_ i: Int) -> Int { Int(cachedValues[i]) }

    /// Calls `body` for each value of path `k` (an index into `code.paths`) until it returns true.
    @inline(__always)
    private func anyNode(path k: Int32, _ e: EventView, _ body: (Int) -> Bool) -> Bool {
        let slot = Int(code.paths[k])
        for i in values(slot: slot, key: code.keys[slot], e) where body(Int(cachedValues[i])) { return true }
        return false
    }

    // MARK: Conditions and searches

    private func node(_ n: Int32, _ e: EventView) -> Bool {
        let x = code.nodes[n]
        switch x.op {
        case .search: return search(x.arg, e)
        case .not: return !node(x.arg, e)
        case .and:
            for k in 0..<x.count where !node(code.children[x.arg + k], e) { return false }
            return true
        case .or:
            for k in 0..<x.count where node(code.children[x.arg + k], e) { return true }
            return false
        case .atLeast:
            var hits: Int32 = 0
            for k in 0..<x.count {
                if search(code.children[x.arg + k], e) { hits += 1; if hits >= x.needed { return true } }
                if hits + (x.count - k - 1) < x.needed { return false }
            }
            return false
        case .constant: return x.flag
        }
    }

    private func search(_ i: Int32, _ e: EventView) -> Bool {
        let m = Int(i)
        if memoStamp[m] == memoGeneration { return memoValue[m] }
        let s = code.searches[i]
        var r = false
        switch s.kind {
        case .maps:
            for k in 0..<s.count where map(code.maps[s.start + k], e) { r = true; break }
        case .keywordsAny:
            r = e.forEachLeaf { leaf in
                for k in 0..<s.count where value(code.pointer(values: s.start + k), leaf, e) { return true }
                return false
            }
        case .keywordsAll:
            r = true
            for k in 0..<s.count where !e.forEachLeaf({ value(code.pointer(values: s.start + k), $0, e) }) { r = false; break }
        }
        memoStamp[m] = memoGeneration
        memoValue[m] = r
        return r
    }

    @inline(__always)
    private func map(_ m: MatchProgram.Map, _ e: EventView) -> Bool {
        for k in 0..<m.count where !field(code.fields.pointer(m.start + k), e) { return false }
        return true
    }

    private func field(_ f: UnsafeMutablePointer<MatchProgram.Field>, _ e: EventView) -> Bool {
        let pathStart = f.pointee.pathStart, pathEnd = pathStart + f.pointee.pathCount
        if f.pointee.exists >= 0 {
            var present = false
            for k in pathStart..<pathEnd where anyNode(path: k, e, { _ in true }) { present = true; break }
            return present == (f.pointee.exists == 1)
        }
        let all = f.pointee.all
        var hit = all
        for i in 0..<f.pointee.valueCount {
            let h = anyValue(pathStart, pathEnd, code.pointer(values: f.pointee.valueStart + i), e)
            if all && !h { hit = false; break }
            if !all && h { hit = true; break }
        }
        return hit != f.pointee.negated
    }

    private func anyValue(_ pathStart: Int32, _ pathEnd: Int32, _ t: UnsafeMutablePointer<MatchProgram.Value>, _ e: EventView) -> Bool {
        switch t.pointee.kind {
        case .null:
            // Null matches an absent field or a JSON null.
            var sawValue = false
            for k in pathStart..<pathEnd {
                let isNull = anyNode(path: k, e) { n in
                    sawValue = true
                    return e.kind(n) == .null
                }
                if isNull { return true }
            }
            return !sawValue
        case .glob:
            // The common case, inlined.
            let g = t.pointee.glob
            for k in pathStart..<pathEnd where anyNode(path: k, e, { n in
                let kind = e.kind(n)
                if kind == .object || kind == .array || kind == .null { return false }
                return e.withText(n) { g.matches($0) }
            }) { return true }
            return false
        default:
            for k in pathStart..<pathEnd where anyNode(path: k, e, { n in value(t, n, e) }) { return true }
            return false
        }
    }

    // MARK: Values

    private func value(_ t: UnsafeMutablePointer<MatchProgram.Value>, _ n: Int, _ e: EventView) -> Bool {
        let kind = e.kind(n)
        switch t.pointee.kind {
        case .glob:
            if kind == .object || kind == .array || kind == .null { return false }
            let g = t.pointee.glob
            return e.withText(n) { g.matches($0) }
        case .number:
            if kind == .number {
                let want = t.pointee.number
                return e.withText(n) { Numbers.parse($0) == want }
            }
            let g = t.pointee.glob
            if kind == .string { return e.withText(n) { g.matches($0) } }
            return false
        case .bool:
            let b = t.pointee.flag
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
        case .regex:
            if kind == .object || kind == .array || kind == .null { return false }
            let r = code.regexes.pointer(t.pointee.aux)
            return e.withText(n) { v in
                if !r.pointee.requiredLiteral.isEmpty,
                   Bytes.find(r.pointee.requiredLiteral, in: v, from: 0, folding: r.pointee.flags.caseInsensitive) == nil { return false }
                return r.pointee.matches(v, state: regexState)
            }
        case .cidr:
            guard kind == .string else { return false }
            let c = code.cidrs[t.pointee.aux]
            return e.withText(n) { v in
                guard let (address, isV4) = IPAddress.parseWord(v) else { return false }
                return c.contains(address, isV4Address: isV4)
            }
        case .compare:
            guard kind == .number || kind == .string else { return false }
            let op = t.pointee.compare, want = t.pointee.number
            return e.withText(n) { v in
                guard let x = Numbers.parse(v) else { return op == .neq && kind == .string }
                return op.holds(x, want)
            }
        case .fieldref:
            // A JSON null has no value to compare (as in `.glob`): its text `null` must not
            // equal the other field's null, nor the string "null".
            if kind == .object || kind == .array || kind == .null { return false }
            let ref = code.fieldrefs[t.pointee.aux]
            return e.withText(n) { v in
                var hit = false
                for k in ref.pathStart..<(ref.pathStart + ref.pathCount) {
                    let slot = Int(code.paths[k])
                    // Walked directly: the lookup cache's values may be read by the caller now.
                    e.forEachValue(code.keys[slot]) { other in
                        if e.kind(other) == .null { return false }
                        e.withText(other) { o in
                            hit = FieldRef.compare(v, o, mode: ref.mode, folding: !ref.caseSensitive)
                        }
                        return hit
                    }
                    if hit { break }
                }
                return hit != ref.negated
            }
        case .timePart:
            let part = t.pointee.part, op = t.pointee.compare, want = t.pointee.number
            return e.withText(n) { v in
                guard let x = TimeParts.part(part, of: v, isNumber: kind == .number) else { return false }
                return op.holds(Double(x), want)
            }
        }
    }
}

extension MatchProgram.Code {
    @inline(__always) func pointer(values i: Int32) -> UnsafeMutablePointer<MatchProgram.Value> { values.pointer(i) }
}

/// A growable scratch buffer of plain values owned by one evaluator (no copy-on-write checks).
struct Scratch<T> {
    private(set) var base: UnsafeMutablePointer<T>?
    private(set) var count = 0

    @inline(__always) subscript(i: Int) -> T {
        get { base![i] }
        nonmutating set { base![i] = newValue }
    }

    /// Grows to at least `n` elements, new ones set to `fill`; keeps the contents.
    mutating func grow(to n: Int, fill: T) {
        guard n > count else { return }
        let fresh = UnsafeMutablePointer<T>.allocate(capacity: n)
        if let base {
            fresh.moveInitialize(from: base, count: count)
            base.deallocate()
        }
        (fresh + count).initialize(repeating: fill, count: n - count)
        base = fresh
        count = n
    }

    func fill(_ v: T) { base?.update(repeating: v, count: count) }

    func free() {
        base?.deinitialize(count: count)
        base?.deallocate()
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
