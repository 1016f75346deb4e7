import BulkheadEvent

/// Literal prefilter for one route (format, kind): an event is tested only against the rules
/// that could match it.
///
/// Most rules can only match when some fields hold one of a few literals: `verb: delete` and
/// `objectRef.resource: networkpolicies` and `decision: allow`; `user.username|startswith:
/// system:serviceaccount:`; `eventName: StopLogging`. At compile time each rule's condition is
/// reduced to necessary clauses (a clause: one of these atoms holds; an atom: field F equals,
/// starts with or ends with a literal, ASCII case folded), every clause a rule needs, up to 32.
/// Per record the indexed fields are read once, their values hashed in one pass (exact value,
/// every indexed prefix length, every indexed suffix length), and each atom found marks its
/// clause for the rules posted under it; a rule is evaluated only when all its clauses are
/// marked. The full plan still runs for every candidate, so a hash collision costs a wasted
/// evaluation only: the prefilter never adds or loses an alert.
public final class Prefilter: @unchecked Sendable {
    /// One indexed field: its lookup-cache slot, the prefix and suffix lengths its atoms use
    /// (ranges of `lengths`), and its open-addressed table (buckets `tableOffset ..< +mask+1`).
    struct Key {
        var slot: Int
        var prefixStart: Int32, prefixCount: Int32
        var suffixStart: Int32, suffixCount: Int32
        var tableOffset: Int
        var tableMask: Int
        /// Whether an atom compares a number as a number (the field's numbers are also hashed in
        /// canonical form: `401.0` and `4.01e2` find the atom of `401`).
        var numeric: Bool
        /// `contains` atoms: index into `automata` (-1: none) and the first of the field's
        /// literals in `literalPostings`.
        var automaton: Int32 = -1
        var literalBase: Int32 = 0
    }
    /// A rule posted under an atom: the route entry and its clause's bit.
    struct Posting {
        var entry: Int32
        var bit: UInt32
    }
    let keys: Table<Key>
    let lengths: Table<Int32>
    /// Bucket b holds atom hash `hashes[b]` (0 = empty) and `postings[start[b] ..< start[b] + count[b]]`.
    let hashes: Table<UInt64>
    let start: Table<Int32>
    let count: Table<Int32>
    let postings: Table<Posting>
    /// `contains` atoms: one automaton per field that has some, and per literal its postings
    /// (a range of `postings`).
    let automata: [AhoCorasick]
    let literalStart: Table<Int32>
    let literalCount: Table<Int32>
    /// Per entry: the bits of all its clauses (0: no clause, evaluated for every record).
    let required: Table<UInt32>
    public var entryCount: Int { required.count }
    /// Entries that are indexed (for statistics and tests).
    public let indexedCount: Int

    deinit {
        keys.free(); lengths.free(); hashes.free(); start.free(); count.free(); postings.free(); required.free()
        for a in automata { a.free() }
        literalStart.free(); literalCount.free()
    }

    /// Builds the index for `plans` (in route order), or nil when no plan has a clause.
    init?(plans: [RulePlan], slots: [FieldPath: Int]) {
        let clauses = Self.affordable(plans.map { NecessaryClauses.of($0) })
        guard clauses.contains(where: { !$0.isEmpty }) else { return nil }
        struct KeyDraft {
            var slot: Int
            var prefixes = Set<Int>(), suffixes = Set<Int>()
            var numeric = false
            var buckets: [UInt64: [Posting]] = [:]
            var literals: [[UInt8]: [Posting]] = [:]
        }
        // A field whose `contains` literals would make too large an automaton is not indexed
        // by them: clauses with such atoms are left out.
        var containsBytes: [FieldPath: Int] = [:]
        for entry in clauses { for clause in entry { for a in clause where a.kind == .contains { containsBytes[a.path, default: 0] += a.literal.count } } }
        var drafts: [KeyDraft] = []
        var keyOfPath: [FieldPath: Int] = [:]
        var required: [UInt32] = []
        for (e, entryClauses) in clauses.enumerated() {
            var mask: UInt32 = 0
            for (c, clause) in entryClauses.enumerated() {
                // Every atom must be looked up, or the clause would wrongly fail: a clause with
                // an unknown path is left out (the entry is then only less filtered).
                guard clause.allSatisfy({ slots[$0.path] != nil && ($0.kind != .contains || containsBytes[$0.path]! <= AhoCorasick.maxBytes) })
                else { continue }
                let bit = UInt32(1) << UInt32(c)
                mask |= bit
                for atom in clause {
                    let slot = slots[atom.path]!
                    let k: Int
                    if let known = keyOfPath[atom.path] { k = known } else {
                        k = drafts.count
                        keyOfPath[atom.path] = k
                        drafts.append(KeyDraft(slot: slot))
                    }
                    switch atom.kind {
                    case .prefix: drafts[k].prefixes.insert(atom.literal.count)
                    case .suffix: drafts[k].suffixes.insert(atom.literal.count)
                    case .exact: break
                    case .contains:
                        let posting = Posting(entry: Int32(e), bit: bit)
                        if drafts[k].literals[atom.literal]?.contains(where: { $0.entry == posting.entry && $0.bit == bit }) != true {
                            drafts[k].literals[atom.literal, default: []].append(posting)
                        }
                        continue
                    }
                    if atom.numeric { drafts[k].numeric = true }
                    let h = atom.literal.withUnsafeBufferPointer { Self.hash($0, atom.kind) }
                    let posting = Posting(entry: Int32(e), bit: bit)
                    // One posting per (entry, clause) and hash.
                    if drafts[k].buckets[h]?.contains(where: { $0.entry == posting.entry && $0.bit == bit }) != true {
                        drafts[k].buckets[h, default: []].append(posting)
                    }
                }
            }
            required.append(mask)
        }
        var keyList: [Key] = []
        var lengthList: [Int32] = []
        var total = 0
        var automata: [AhoCorasick] = []
        var literalStarts: [Int32] = [], literalCounts: [Int32] = []
        var flat: [Posting] = []
        for d in drafts {
            var size = 8
            while size < d.buckets.count * 2 { size <<= 1 }
            let p = d.prefixes.sorted().map(Int32.init), s = d.suffixes.sorted().map(Int32.init)
            var key = Key(slot: d.slot, prefixStart: Int32(lengthList.count), prefixCount: Int32(p.count),
                          suffixStart: Int32(lengthList.count + p.count), suffixCount: Int32(s.count),
                          tableOffset: total, tableMask: size - 1, numeric: d.numeric)
            if !d.literals.isEmpty {
                let literals = d.literals.keys.sorted { $0.lexicographicallyPrecedes($1) }
                // Within the byte bound checked above, so the automaton is made.
                automata.append(AhoCorasick(literals)!)
                key.automaton = Int32(automata.count - 1)
                key.literalBase = Int32(literalStarts.count)
                for l in literals {
                    literalStarts.append(Int32(flat.count))
                    literalCounts.append(Int32(d.literals[l]!.count))
                    flat += d.literals[l]!
                }
            }
            keyList.append(key)
            lengthList += p + s
            total += size
        }
        var hashList = Array(repeating: UInt64(0), count: total)
        var startList = Array(repeating: Int32(0), count: total)
        var countList = Array(repeating: Int32(0), count: total)
        for (k, d) in drafts.enumerated() {
            for (h, entries) in d.buckets.sorted(by: { $0.key < $1.key }) {
                let mask = keyList[k].tableMask, offset = keyList[k].tableOffset
                var b = Int(truncatingIfNeeded: h) & mask
                while hashList[offset + b] != 0 { b = (b + 1) & mask }
                hashList[offset + b] = h
                startList[offset + b] = Int32(flat.count)
                countList[offset + b] = Int32(entries.count)
                flat.append(contentsOf: entries)
            }
        }
        keys = Table(keyList)
        lengths = Table(lengthList)
        hashes = Table(hashList)
        start = Table(startList)
        count = Table(countList)
        postings = Table(flat)
        self.automata = automata
        literalStart = Table(literalStarts)
        literalCount = Table(literalCounts)
        self.required = Table(required)
        indexedCount = required.filter { $0 != 0 }.count
    }

    /// At most this many fields are indexed because many rules use them.
    static let sharedFields = 6

    /// Keeps the clauses whose fields are read anyway. Every indexed field costs a lookup in
    /// every record, and a pack names dozens (each workload template path of each rule), so
    /// the index reads the few fields most rules' clauses use, plus, for a rule with no clause
    /// on them, the fields of its cheapest clause.
    static func affordable(_ all: [[NecessaryClauses.Clause]]) -> [[NecessaryClauses.Clause]] {
        func fields(_ c: NecessaryClauses.Clause) -> Set<FieldPath> { Set(c.map(\.path)) }
        var use: [FieldPath: Int] = [:]
        for entry in all { for f in Set(entry.flatMap(fields)) { use[f, default: 0] += 1 } }
        // Shared: used by a quarter of the rules (at least 2).
        let widely = max(2, all.count / 4)
        var chosen = Set(use.filter { $0.value >= widely }
            .sorted { $0.value != $1.value ? $0.value > $1.value : $0.key.description < $1.key.description }
            .prefix(sharedFields).map(\.key))
        for entry in all where !entry.isEmpty && !entry.contains(where: { fields($0).isSubset(of: chosen) }) {
            let cheapest = entry.min { a, b in
                let fa = fields(a).subtracting(chosen).count, fb = fields(b).subtracting(chosen).count
                return fa != fb ? fa < fb : a.count < b.count
            }!
            chosen.formUnion(fields(cheapest))
        }
        return all.map { entry in entry.filter { fields($0).isSubset(of: chosen) } }
    }

    // MARK: Hashing

    static let fnvOffset: UInt64 = 0xcbf2_9ce4_8422_2325
    static let fnvPrime: UInt64 = 0x100_0000_01b3

    /// The hash of an atom: FNV-1a over ASCII-folded bytes, told apart by kind; never 0 (0
    /// marks an empty bucket).
    @inline(__always)
    static func hash(_ v: UnsafeBufferPointer<UInt8>, _ kind: Atom.Kind) -> UInt64 {
        var h = fnvOffset
        for c in v { h = (h ^ UInt64(asciiLower(c))) &* fnvPrime }
        return finish(h, kind)
    }

    @inline(__always)
    static func finish(_ h: UInt64, _ kind: Atom.Kind) -> UInt64 {
        let tagged: UInt64
        switch kind {
        case .exact: tagged = h
        case .prefix: tagged = (h ^ 0x9E37_79B9_7F4A_7C15) &* fnvPrime
        case .suffix: tagged = (h ^ 0xC2B2_AE3D_27D4_EB4F) &* fnvPrime
        case .contains: tagged = (h ^ 0x1656_67B1_9E37_79F9) &* fnvPrime
        }
        return tagged == 0 ? 1 : tagged
    }

    /// Calls `body` with each posting stored under atom hash `h` of key `k`.
    @inline(__always)
    func forEachPosting(_ k: Key, hash h: UInt64, _ body: (Posting) -> Void) {
        var b = Int(truncatingIfNeeded: h) & k.tableMask
        while true {
            let stored = hashes[k.tableOffset + b]
            if stored == 0 { return }
            if stored == h {
                let s = Int(start[k.tableOffset + b])
                for i in s..<(s + Int(count[k.tableOffset + b])) { body(postings[i]) }
                return
            }
            b = (b + 1) & k.tableMask
        }
    }

    /// Calls `body` with the hash of every atom a value could satisfy on key `k`: the exact
    /// value, each indexed prefix and each indexed suffix that fits.
    @inline(__always)
    func forEachAtomHash(_ k: Key, _ v: UnsafeBufferPointer<UInt8>, _ body: (UInt64) -> Void) {
        var h = Self.fnvOffset
        var next = 0
        let prefixEnd = Int(k.prefixStart + k.prefixCount)
        var p = Int(k.prefixStart)
        // One pass: the running hash is the prefix hash at every length.
        for i in 0..<v.count {
            while p < prefixEnd && Int(lengths[p]) == next {
                body(Self.finish(h, .prefix)); p += 1
            }
            h = (h ^ UInt64(asciiLower(v[i]))) &* Self.fnvPrime
            next = i + 1
        }
        while p < prefixEnd && Int(lengths[p]) == next { body(Self.finish(h, .prefix)); p += 1 }
        body(Self.finish(h, .exact))
        for s in Int(k.suffixStart)..<Int(k.suffixStart + k.suffixCount) {
            let n = Int(lengths[s])
            guard n <= v.count else { break }
            var t = Self.fnvOffset
            for i in (v.count - n)..<v.count { t = (t ^ UInt64(asciiLower(v[i]))) &* Self.fnvPrime }
            body(Self.finish(t, .suffix))
        }
    }

    /// The canonical text of an integral number (`401.0` → `401`) into `out`; its length, or
    /// nil when the value is not an integer that a rule's number could equal.
    static func canonicalInteger(_ v: UnsafeBufferPointer<UInt8>, into out: UnsafeMutableBufferPointer<UInt8>) -> Int? {
        guard let x = Numbers.parse(v), x == x.rounded(), abs(x) < 9.0e15 else { return nil }
        var n = Int64(x)
        var len = 0
        let negative = n < 0
        if negative { n = -n }
        repeat {
            out[len] = UInt8(48 + n % 10)
            n /= 10
            len += 1
        } while n > 0
        if negative { out[len] = 0x2D; len += 1 }
        // Digits were written backwards.
        var i = 0, j = len - 1
        while i < j { out.swapAt(i, j); i += 1; j -= 1 }
        return len
    }
}

/// Which entries of a route the current record can match (see `Prefilter`): per entry, the
/// bits of the clauses seen this record, valid while its stamp is the record's.
final class CandidateSet {
    private var stamp = Scratch<UInt32>()
    private var seen = Scratch<UInt32>()
    private var generation: UInt32 = 0
    private var digits = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: 32)

    deinit {
        stamp.free(); seen.free(); digits.deallocate()
    }

    func select(_ p: Prefilter, _ e: EventView, _ evaluator: Evaluator) {
        stamp.grow(to: p.entryCount, fill: 0)
        seen.grow(to: p.entryCount, fill: 0)
        generation &+= 1
        if generation == 0 {
            stamp.fill(0)
            generation = 1
        }
        for k in 0..<p.keys.count {
            let key = p.keys[k]
            for i in evaluator.values(slot: key.slot, e) {
                let n = evaluator.cachedNode(i)
                let kind = e.kind(n)
                if kind == .object || kind == .array || kind == .null { continue }
                e.withText(n) { v in
                    p.forEachAtomHash(key, v) { h in p.forEachPosting(key, hash: h) { mark($0) } }
                    if key.automaton >= 0 {
                        p.automata[Int(key.automaton)].forEachMatch(v) { literal in
                            let l = Int(key.literalBase) + literal
                            let s = Int(p.literalStart[l])
                            for i in s..<(s + Int(p.literalCount[l])) { mark(p.postings[i]) }
                        }
                    }
                }
                if kind == .number && key.numeric {
                    e.withText(n) { v in
                        guard let len = Prefilter.canonicalInteger(v, into: digits),
                              !(len == v.count && (0..<len).allSatisfy { digits[$0] == v[$0] }) else { return }
                        let h = Prefilter.hash(UnsafeBufferPointer(rebasing: digits[0..<len]), .exact)
                        p.forEachPosting(key, hash: h) { mark($0) }
                    }
                }
            }
        }
    }

    @inline(__always)
    private func mark(_ posting: Prefilter.Posting) {
        let i = Int(posting.entry)
        if stamp[i] != generation { stamp[i] = generation; seen[i] = 0 }
        seen[i] |= posting.bit
    }

    /// Whether entry `i` holds every clause it requires in the record of the last `select`.
    @inline(__always)
    func contains(_ i: Int, _ p: Prefilter) -> Bool {
        let need = p.required[i]
        return need == 0 || (stamp[i] == generation && seen[i] == need)
    }
}

/// One way a necessary clause can hold: the field at `path` equals, starts with or ends with
/// `literal` (ASCII case folded).
struct Atom: Hashable {
    enum Kind: Hashable { case exact, prefix, suffix, contains }
    var path: FieldPath
    var kind: Kind
    var literal: [UInt8]
    /// The atom stands for a number test (see `Prefilter.Key.numeric`).
    var numeric = false
}

/// Necessary conditions of a plan in conjunctive form: every clause must hold for the plan to
/// match, and a clause holds when one of its atoms does.
enum NecessaryClauses {
    typealias Clause = Set<Atom>
    static let maxClauses = 32

    static func of(_ plan: RulePlan) -> [Clause] {
        var out: [Clause] = []
        for c in condition(plan.condition, plan) where !out.contains(c) { out.append(c) }
        // The narrowest clauses prune best.
        if out.count > maxClauses { out = Array(out.sorted { $0.count < $1.count }.prefix(maxClauses)) }
        return out
    }

    static func condition(_ c: ConditionPlan, _ plan: RulePlan) -> [Clause] {
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

    static func search(_ s: SearchPlan) -> [Clause] {
        guard case .maps(let maps) = s else { return [] }
        return either(maps.map { m in m.flatMap(fieldTest) })
    }

    /// An OR implies the union of one clause of each alternative: per field that every
    /// alternative has a clause on (`verb: a` or `verb: b`), and otherwise the union of each
    /// alternative's narrowest clause.
    static func either(_ alternatives: [[Clause]]) -> [Clause] {
        guard let first = alternatives.first, !alternatives.contains(where: \.isEmpty) else { return [] }
        if alternatives.count == 1 { return first }
        func field(_ c: Clause) -> FieldPath? {
            guard let p = c.first?.path, c.allSatisfy({ $0.path == p }) else { return nil }
            return p
        }
        var out: [Clause] = []
        for f in Set(first.compactMap(field)).sorted(by: { $0.description < $1.description }) {
            var union = Clause()
            for alt in alternatives {
                guard let narrowest = alt.filter({ field($0) == f }).min(by: { $0.count < $1.count }) else { union = []; break }
                union.formUnion(narrowest)
            }
            if !union.isEmpty { out.append(union) }
        }
        if out.isEmpty {
            var union = Clause()
            for alt in alternatives { union.formUnion(alt.min(by: { $0.count < $1.count })!) }
            out.append(union)
        }
        return out
    }

    /// The clauses a field test implies: one (any of its values on any of its paths), or with
    /// `|all` one per value; none when a value has no literal atom (contains, regex, ...).
    static func fieldTest(_ f: FieldTest) -> [Clause] {
        guard f.exists == nil, !f.negated, !f.tests.isEmpty else { return [] }
        var perTest: [Clause] = []
        for t in f.tests {
            guard let atoms = atoms(t, paths: f.paths) else {
                if f.all { continue }
                return []
            }
            perTest.append(atoms)
        }
        if f.all { return perTest }
        return [perTest.reduce(into: Clause()) { $0.formUnion($1) }]
    }

    static func atoms(_ t: ValueTest, paths: [FieldPath]) -> Clause? {
        var literals: [(Atom.Kind, [UInt8], Bool)] = []
        switch t {
        case .glob(let g):
            guard let a = atom(g) else { return nil }
            literals.append((a.0, a.1, false))
        case .regex(let r):
            // Every match contains the regex's required literal (folded: a superset).
            guard !r.requiredLiteral.isEmpty else { return nil }
            literals.append((.contains, r.requiredLiteral.map(asciiLower), false))
        case .number(let n, let g):
            // A string holding the number's text, or a number equal to it.
            guard n == n.rounded(), abs(n) < 9.0e15, let a = atom(g), a.0 == .exact else { return nil }
            literals.append((.exact, a.1, true))
            literals.append((.exact, Array(String(Int64(n)).utf8), true))
        case .bool(let b):
            literals.append((.exact, Array((b ? "true" : "false").utf8), false))
        default:
            return nil
        }
        var out = Clause()
        for p in paths { for (kind, literal, numeric) in literals { out.insert(Atom(path: p, kind: kind, literal: literal, numeric: numeric)) } }
        return out
    }

    static func atom(_ g: GlobPattern) -> (Atom.Kind, [UInt8])? {
        // Literals are folded unless the pattern is case-sensitive; atoms always are.
        switch g.shape {
        case .exact(let l): return (.exact, l)
        case .prefix(let l) where !l.isEmpty: return (.prefix, l)
        case .suffix(let l) where !l.isEmpty: return (.suffix, l)
        case .contains(let l) where !l.isEmpty: return (.contains, l.map(asciiLower))
        case .general:
            // A value matching `a*bc?d` contains each literal run: index the longest.
            var best: [UInt8] = []
            for case .literal(let l) in g.tokens where l.count > best.count { best = l }
            return best.isEmpty ? nil : (.contains, best.map(asciiLower))
        default: return nil
        }
    }
}
