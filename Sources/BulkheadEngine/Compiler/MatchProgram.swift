import BulkheadEvent

/// Rule plans lowered to flat, reference-free storage: what the evaluator walks per record.
///
/// `RulePlan` (a tree of enums and arrays) is what the compiler produces and what analyses such
/// as the prefilter read. Evaluated directly, every node visited costs reference counting
/// (indirect enum boxes, array payloads): over half of a scan with the whole pack. A program
/// holds the same plans as plain structs in buffers it owns, so evaluation is pointer reads
/// only. Identical searches of different rules (the same filter in many rules of a pack) are
/// stored once and evaluated at most once per record.
public final class MatchProgram: @unchecked Sendable {
    enum Op: UInt8 { case search, not, and, or, atLeast, constant }
    struct Node {
        var op: Op
        /// `.constant`'s value.
        var flag = false
        /// `.search`: search index; `.not`: child node; `.and/.or/.atLeast`: first child in `children`.
        var arg: Int32 = 0
        var count: Int32 = 0
        /// `.atLeast`: searches that must match.
        var needed: Int32 = 0
    }
    enum SearchKind: UInt8 { case maps, keywordsAny, keywordsAll }
    struct Search {
        var kind: SearchKind
        /// `.maps`: a range of `maps`; keywords: a range of `values`.
        var start: Int32
        var count: Int32
    }
    /// AND over a range of `fields`.
    struct Map { var start: Int32; var count: Int32 }
    struct Field {
        /// A range of `paths` (each a lookup-cache slot).
        var pathStart: Int32
        var pathCount: Int32
        var valueStart: Int32
        var valueCount: Int32
        var all: Bool
        /// `|exists`: -1 when not an existence test, else the wanted presence (0 or 1).
        var exists: Int8
        var negated: Bool
    }
    enum ValueKind: UInt8 { case glob, number, bool, null, regex, cidr, compare, fieldref, timePart }
    struct Value {
        var kind: ValueKind
        var glob: GlobPattern = .none
        var number = 0.0
        var flag = false
        var compare = CompareOp.eq
        var part = TimePart.minute
        /// Index into `regexes`, `cidrs` or `fieldrefs`.
        var aux: Int32 = 0
    }
    struct FieldRef {
        var pathStart: Int32
        var pathCount: Int32
        var mode: FieldRefMode
        var caseSensitive: Bool
        var negated: Bool
    }
    struct Entry {
        var rule: Int
        var root: Int32
        /// A range of `filterRoots`: the entry does not match when one of them does.
        var filterStart: Int32
        var filterCount: Int32
    }

    /// The program's tables as plain pointers (copied into the evaluator per call).
    struct Code {
        var nodes = Table<Node>()
        var children = Table<Int32>()
        var searches = Table<Search>()
        var maps = Table<Map>()
        var fields = Table<Field>()
        var paths = Table<Int32>()
        var values = Table<Value>()
        var regexes = Table<SigmaRegex>()
        var cidrs = Table<NetworkMask>()
        var fieldrefs = Table<FieldRef>()
        var entries = Table<Entry>()
        var filterRoots = Table<Int32>()
        /// Indexed by slot: the path each lookup-cache slot walks.
        var keys = Table<PathKey>()
    }

    let code: Code
    /// Literal index over the entries (Prefilter.swift); nil when no entry has a usable literal.
    let prefilter: Prefilter?
    public var entryCount: Int { code.entries.count }
    var searchCount: Int { code.searches.count }
    /// Lookup-cache slots the program uses are below this.
    var slotLimit: Int { code.keys.count }
    /// Searches before de-duplication, for statistics.
    public let searchesBeforeSharing: Int

    /// Lowers `entries` (in evaluation order). Paths get lookup-cache slots from `slots`; paths
    /// it does not know yet are added, so programs built from one interner agree on slots.
    init(entries plans: [(rule: Int, plan: RulePlan, filters: [RulePlan])], slots: inout [FieldPath: Int], prefilter usePrefilter: Bool) {
        var b = Builder()
        var entries: [Entry] = []
        var filterRoots: [Int32] = []
        for p in plans {
            let root = b.lower(p.plan, slots: &slots)
            let start = Int32(filterRoots.count)
            for f in p.filters { filterRoots.append(b.lower(f, slots: &slots)) }
            entries.append(Entry(rule: p.rule, root: root, filterStart: start, filterCount: Int32(filterRoots.count) - start))
        }
        var keys = Array(repeating: PathKey.empty, count: slots.count)
        for (path, slot) in slots where b.usedSlots.contains(slot) { keys[slot] = PathKey.copy(of: path) }
        code = Code(nodes: Table(b.nodes), children: Table(b.children), searches: Table(b.searches), maps: Table(b.maps),
                    fields: Table(b.fields), paths: Table(b.paths), values: Table(b.values), regexes: Table(b.regexes),
                    cidrs: Table(b.cidrs), fieldrefs: Table(b.fieldrefs), entries: Table(entries),
                    filterRoots: Table(filterRoots), keys: Table(keys))
        searchesBeforeSharing = b.searchesSeen
        prefilter = usePrefilter ? Prefilter(plans: plans.map(\.plan), slots: slots) : nil
    }

    deinit {
        for k in code.keys.buffer where k.bytes.baseAddress != nil { k.deallocate() }
        code.nodes.free(); code.children.free(); code.searches.free(); code.maps.free(); code.fields.free()
        code.paths.free(); code.values.free(); code.regexes.free(); code.cidrs.free(); code.fieldrefs.free()
        code.entries.free(); code.filterRoots.free(); code.keys.free()
    }

    /// The rule index of entry `i`.
    public func rule(ofEntry i: Int) -> Int { code.entries[i].rule }

    /// Builds the tables; searches are shared by their structure.
    private struct Builder {
        var nodes: [Node] = []
        var children: [Int32] = []
        var searches: [Search] = []
        var maps: [Map] = []
        var fields: [Field] = []
        var paths: [Int32] = []
        var values: [Value] = []
        var regexes: [SigmaRegex] = []
        var cidrs: [NetworkMask] = []
        var fieldrefs: [FieldRef] = []
        var usedSlots = Set<Int>()
        var shared: [SearchPlan: Int32] = [:]
        var searchesSeen = 0

        mutating func lower(_ plan: RulePlan, slots: inout [FieldPath: Int]) -> Int32 {
            let ids = plan.searches.map { search($0, slots: &slots) }
            return condition(plan.condition, ids)
        }

        mutating func condition(_ c: ConditionPlan, _ ids: [Int32]) -> Int32 {
            var node: Node
            switch c {
            case .search(let i): node = Node(op: .search, arg: ids[i])
            case .not(let inner): node = Node(op: .not, arg: condition(inner, ids))
            case .and(let cs), .or(let cs):
                let kids = cs.map { condition($0, ids) }
                node = Node(op: { if case .and = c { return .and } else { return .or } }(), arg: Int32(children.count), count: Int32(kids.count))
                children.append(contentsOf: kids)
            case .atLeast(let n, let indices):
                let kids = indices.map { ids[$0] }
                node = Node(op: .atLeast, arg: Int32(children.count), count: Int32(kids.count), needed: Int32(n))
                children.append(contentsOf: kids)
            case .constant(let b): node = Node(op: .constant, flag: b)
            }
            nodes.append(node)
            return Int32(nodes.count - 1)
        }

        mutating func search(_ s: SearchPlan, slots: inout [FieldPath: Int]) -> Int32 {
            searchesSeen += 1
            if let known = shared[s] { return known }
            let out: Search
            switch s {
            case .maps(let ms):
                let start = Int32(maps.count)
                // Maps first (contiguous), then their fields.
                var lowered: [[Field]] = []
                for m in ms { lowered.append(m.map { field($0, slots: &slots) }) }
                for fs in lowered {
                    maps.append(Map(start: Int32(fields.count), count: Int32(fs.count)))
                    fields.append(contentsOf: fs)
                }
                out = Search(kind: .maps, start: start, count: Int32(ms.count))
            case .keywords(let tests, let all):
                let lowered = tests.map { value($0, slots: &slots) }
                out = Search(kind: all ? .keywordsAll : .keywordsAny, start: Int32(values.count), count: Int32(lowered.count))
                values.append(contentsOf: lowered)
            }
            searches.append(out)
            shared[s] = Int32(searches.count - 1)
            return Int32(searches.count - 1)
        }

        mutating func slotRange(_ ps: [FieldPath], slots: inout [FieldPath: Int]) -> (Int32, Int32) {
            let start = Int32(paths.count)
            for p in ps {
                let s: Int
                if let known = slots[p] { s = known } else { s = slots.count; slots[p] = s }
                usedSlots.insert(s)
                paths.append(Int32(s))
            }
            return (start, Int32(ps.count))
        }

        mutating func field(_ f: FieldTest, slots: inout [FieldPath: Int]) -> Field {
            let (ps, pc) = slotRange(f.paths, slots: &slots)
            let lowered = f.tests.map { value($0, slots: &slots) }
            let start = Int32(values.count)
            values.append(contentsOf: lowered)
            return Field(pathStart: ps, pathCount: pc, valueStart: start, valueCount: Int32(lowered.count), all: f.all,
                         exists: f.exists.map { $0 ? 1 : 0 } ?? -1, negated: f.negated)
        }

        mutating func value(_ t: ValueTest, slots: inout [FieldPath: Int]) -> Value {
            switch t {
            case .glob(let g): return Value(kind: .glob, glob: g)
            case .number(let n, let g): return Value(kind: .number, glob: g, number: n)
            case .bool(let b): return Value(kind: .bool, flag: b)
            case .null: return Value(kind: .null)
            case .regex(let r):
                regexes.append(r)
                return Value(kind: .regex, aux: Int32(regexes.count - 1))
            case .cidr(let c):
                cidrs.append(NetworkMask(c))
                return Value(kind: .cidr, aux: Int32(cidrs.count - 1))
            case .compare(let op, let n): return Value(kind: .compare, number: n, compare: op)
            case .fieldref(let ps, let mode, let cased, let negated):
                let (start, count) = slotRange(ps, slots: &slots)
                fieldrefs.append(FieldRef(pathStart: start, pathCount: count, mode: mode, caseSensitive: cased, negated: negated))
                return Value(kind: .fieldref, aux: Int32(fieldrefs.count - 1))
            case .timePart(let part, let op, let n): return Value(kind: .timePart, number: n, compare: op, part: part)
            }
        }
    }
}

/// A fixed-size buffer the program owns: plain pointer reads on the hot path.
struct Table<T>: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<T>

    init() { buffer = UnsafeMutableBufferPointer(start: nil, count: 0) }

    init(_ items: [T]) {
        let b = UnsafeMutableBufferPointer<T>.allocate(capacity: max(items.count, 1))
        _ = b.initialize(from: items)
        buffer = UnsafeMutableBufferPointer(rebasing: b[0..<items.count])
    }

    var count: Int { buffer.count }

    @inline(__always) subscript(i: Int) -> T { buffer[i] }
    @inline(__always) subscript(i: Int32) -> T { buffer[Int(i)] }
    @inline(__always) func pointer(_ i: Int32) -> UnsafeMutablePointer<T> { buffer.baseAddress! + Int(i) }

    func free() {
        guard let base = buffer.baseAddress else { return }
        base.deinitialize(count: buffer.count)
        base.deallocate()
    }
}

/// A CIDR network as words, so that testing an address allocates nothing.
struct NetworkMask: Sendable {
    var isV4: Bool
    var network: UInt128
    var mask: UInt128

    init(_ c: CIDR) {
        isV4 = c.address.count == 4
        var a: UInt128 = 0
        for byte in c.address { a = a << 8 | UInt128(byte) }
        let bits = c.address.count * 8
        mask = c.prefix == 0 ? 0 : (~UInt128(0) << UInt128(128 - c.prefix)) >> UInt128(128 - bits)
        network = a & mask
    }

    /// `CIDR.contains` for an address in words: IPv4 (`isV4Address`) or IPv6; an IPv4-mapped
    /// IPv6 address compares as IPv4.
    @inline(__always) func contains(_ address: UInt128, isV4Address: Bool) -> Bool {
        if isV4 {
            if isV4Address { return address & mask == network }
            guard address >> 32 == 0xFFFF else { return false }
            return (address & 0xFFFF_FFFF) & mask == network
        }
        return !isV4Address && address & mask == network
    }
}
