import BulkheadEvent

/// Literal prefilter for one route (format, kind): most rules can only match when one field
/// holds one of a few literal values (`verb: create`, `objectRef.resource: pods`,
/// `eventName: StopLogging`). At compile time each rule is indexed under one such necessary
/// (field, values) condition; per record, the indexed fields are read once, their values
/// hashed, and only the rules whose literal is present (plus the rules without one) are
/// evaluated. The full plan is still evaluated for every candidate, so a hash collision only
/// costs a wasted evaluation: the prefilter can never add or lose an alert.
public final class Prefilter: @unchecked Sendable {
    /// One indexed field: its path, lookup-cache slot, and an open-addressed table of value
    /// hashes → runs of entry indices (flat storage, no per-record allocation or ARC traffic).
    struct Key {
        var path: FieldPath
        var slot: Int
    }
    let keys: [Key]
    /// Per key: table of `mask + 1` buckets; bucket b holds hash `hashes[b]` (0 = empty) and
    /// the entry indices `postings[start[b] ..< start[b] + count[b]]`.
    let tableOffset: UnsafeMutableBufferPointer<Int>
    let tableMask: UnsafeMutableBufferPointer<Int>
    let hashes: UnsafeMutableBufferPointer<UInt64>
    let start: UnsafeMutableBufferPointer<Int32>
    let count: UnsafeMutableBufferPointer<Int32>
    let postings: UnsafeMutableBufferPointer<Int32>
    /// Entries evaluated for every record (no necessary literal found).
    let always: UnsafeMutableBufferPointer<Int32>
    public let entryCount: Int
    /// Entries that are indexed (for statistics and tests).
    public var indexedCount: Int { entryCount - always.count }

    deinit {
        for b in [tableOffset, tableMask] { b.deallocate() }
        hashes.deallocate(); start.deallocate(); count.deallocate(); postings.deallocate(); always.deallocate()
    }

    /// Builds the index for `plans` (in route order), or nil when no plan has a literal.
    init?(plans: [RulePlan]) {
        // Choose one necessary requirement per entry: the one with the fewest values,
        // preferring a field already chosen for another entry (fewer lookups per record).
        var chosen: [Requirement?] = []
        var pathUse: [FieldPath: Int] = [:]
        let all = plans.map { RequiredLiterals.of($0) }
        for reqs in all { for r in reqs { pathUse[r.path, default: 0] += 1 } }
        for reqs in all {
            let best = reqs.min { a, b in
                if a.values.count != b.values.count { return a.values.count < b.values.count }
                return pathUse[a.path, default: 0] > pathUse[b.path, default: 0]
            }
            chosen.append(best)
        }
        guard chosen.contains(where: { $0 != nil }) else { return nil }
        var keyList: [Key] = []
        var keyIndex: [FieldPath: Int] = [:]
        // Per key: hash → entries.
        var buckets: [[UInt64: [Int32]]] = []
        var alwaysList: [Int32] = []
        for (e, r) in chosen.enumerated() {
            guard let r else { alwaysList.append(Int32(e)); continue }
            let k: Int
            if let existing = keyIndex[r.path] { k = existing } else {
                k = keyList.count
                keyIndex[r.path] = k
                keyList.append(Key(path: r.path, slot: r.slot))
                buckets.append([:])
            }
            for v in Set(r.values.map { Prefilter.hash($0) }) {
                buckets[k][v, default: []].append(Int32(e))
            }
        }
        keys = keyList
        entryCount = plans.count
        always = .allocate(capacity: alwaysList.count)
        _ = always.initialize(from: alwaysList)
        tableOffset = .allocate(capacity: keyList.count)
        tableMask = .allocate(capacity: keyList.count)
        var totalBuckets = 0
        for k in buckets.indices {
            var size = 8
            while size < buckets[k].count * 2 { size <<= 1 }
            tableOffset[k] = totalBuckets
            tableMask[k] = size - 1
            totalBuckets += size
        }
        hashes = .allocate(capacity: totalBuckets)
        hashes.initialize(repeating: 0)
        start = .allocate(capacity: totalBuckets)
        start.initialize(repeating: 0)
        count = .allocate(capacity: totalBuckets)
        count.initialize(repeating: 0)
        var flat: [Int32] = []
        for k in buckets.indices {
            for (h, entries) in buckets[k].sorted(by: { $0.key < $1.key }) {
                var b = Int(truncatingIfNeeded: h) & tableMask[k]
                while hashes[tableOffset[k] + b] != 0 { b = (b + 1) & tableMask[k] }
                let at = tableOffset[k] + b
                hashes[at] = h
                start[at] = Int32(flat.count)
                count[at] = Int32(entries.count)
                flat.append(contentsOf: entries)
            }
        }
        postings = .allocate(capacity: flat.count)
        _ = postings.initialize(from: flat)
    }

    /// FNV-1a over ASCII-folded bytes; never 0 (0 marks an empty bucket).
    @inline(__always)
    static func hash(_ v: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for c in v { h = (h ^ UInt64(asciiLower(c))) &* 0x100_0000_01b3 }
        return h == 0 ? 1 : h
    }

    static func hash(_ v: [UInt8]) -> UInt64 { v.withUnsafeBufferPointer { hash($0) } }

    /// Calls `body` with each entry index stored under hash `h` of key `k`.
    @inline(__always)
    func forEachPosting(key k: Int, hash h: UInt64, _ body: (Int) -> Void) {
        let mask = tableMask[k], offset = tableOffset[k]
        var b = Int(truncatingIfNeeded: h) & mask
        while true {
            let stored = hashes[offset + b]
            if stored == 0 { return }
            if stored == h {
                let s = Int(start[offset + b])
                for i in s..<(s + Int(count[offset + b])) { body(Int(postings[i])) }
                return
            }
            b = (b + 1) & mask
        }
    }
}

/// A necessary condition of a rule: the field at `path` holds one of `values` (ASCII-folded,
/// compared case-insensitively), or the rule cannot match.
struct Requirement {
    var path: FieldPath
    var slot: Int
    var values: [[UInt8]]
}

enum RequiredLiterals {
    /// Necessary conditions of the plan (any one of them may be used as a prefilter).
    static func of(_ plan: RulePlan) -> [Requirement] {
        condition(plan.condition, plan)
    }

    static func condition(_ c: ConditionPlan, _ plan: RulePlan) -> [Requirement] {
        switch c {
        case .search(let i): return search(plan.searches[i])
        case .and(let cs): return cs.flatMap { condition($0, plan) }
        case .or(let cs): return either(cs.map { condition($0, plan) })
        case .atLeast(let n, let indices):
            guard n >= 1 else { return [] }
            // At least one of the searches must match.
            return either(indices.map { search(plan.searches[$0]) })
        case .not, .constant: return []
        }
    }

    static func search(_ s: SearchPlan) -> [Requirement] {
        guard case .maps(let maps) = s else { return [] }
        return either(maps.map { m in m.compactMap(fieldTest) })
    }

    /// Requirements of an OR: a field every alternative requires, with the union of values.
    static func either(_ alternatives: [[Requirement]]) -> [Requirement] {
        guard let first = alternatives.first else { return [] }
        var out: [Requirement] = []
        for r in first {
            if out.contains(where: { $0.path == r.path }) { continue }
            var values: [[UInt8]] = []
            var ok = true
            for alt in alternatives {
                // The alternative's narrowest requirement on this field.
                guard let m = alt.filter({ $0.path == r.path }).min(by: { $0.values.count < $1.values.count }) else { ok = false; break }
                values.append(contentsOf: m.values)
            }
            if ok { out.append(Requirement(path: r.path, slot: r.slot, values: values)) }
        }
        return out
    }

    /// A field test that only passes when its single field equals one of case-insensitive literals.
    static func fieldTest(_ f: FieldTest) -> Requirement? {
        guard f.exists == nil, !f.negated, f.paths.count == 1, f.slots.count == 1, !f.tests.isEmpty else { return nil }
        var values: [[UInt8]] = []
        for t in f.tests {
            guard case .glob(let g) = t, !g.caseSensitive, case .exact(let l) = g.shape else { return nil }
            values.append(l)
        }
        return Requirement(path: f.paths[0], slot: f.slots[0], values: values)
    }
}
