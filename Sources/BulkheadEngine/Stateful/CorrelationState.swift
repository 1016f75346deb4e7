import BulkheadEvent

/// Correlation state: one `GroupState` per (correlation, group-by values), kept behind a
/// small protocol so a persistent store (`--state DIR`) can replace the in-memory one.

/// A correlation's group: which correlation, and the group-by values ("" for a missing field).
public struct GroupKey: Hashable, Sendable {
    public var correlation: Int
    public var group: [String]
    public init(correlation: Int, group: [String]) {
        self.correlation = correlation
        self.group = group
    }
}

/// One event in a group's window.
public struct WindowEvent: Sendable {
    public var time: Int64
    public var ref: Int32
    public var value: String?
    public var number: Double?
}

/// The running window of one group. Aggregates are kept incrementally so adding and expiring
/// an event costs O(1) (value_percentile sorts at evaluation).
public struct GroupState: Sendable {
    public var events: [WindowEvent] = []
    /// Index of the oldest live event in `events` (expired ones before it are compacted away).
    public var head = 0
    /// Start of the window (the first event's time; sliding windows move it as events expire).
    public var windowStart: Int64
    public var lastTime: Int64
    /// Live events per referenced rule.
    public var refCounts: [Int]
    /// Live events per distinct value (value_count).
    public var valueCounts: [String: Int] = [:]
    public var sum = 0.0
    public var numericCount = 0
    /// temporal_ordered: best[k] = the latest start time of an in-order chain covering positions 0...k.
    public var best: [Int64?]
    /// The last contributing record: where alerts point.
    public var lastOrigin: Origin
    public var lastSource: String
    public var lastEntity: Entity

    public init(time: Int64, refs: Int, positions: Int, origin: Origin, source: String, entity: Entity) {
        windowStart = time
        lastTime = time
        refCounts = Array(repeating: 0, count: refs)
        best = Array(repeating: nil, count: positions)
        lastOrigin = origin
        lastSource = source
        lastEntity = entity
    }

    public var liveCount: Int { events.count - head }

    mutating func append(_ e: WindowEvent) {
        events.append(e)
        refCounts[Int(e.ref)] += 1
        if let v = e.value { valueCounts[v, default: 0] += 1 }
        if let n = e.number { sum += n; numericCount += 1 }
    }

    mutating func dropOldest() {
        let e = events[head]
        head += 1
        refCounts[Int(e.ref)] -= 1
        if let v = e.value {
            let n = (valueCounts[v] ?? 1) - 1
            valueCounts[v] = n == 0 ? nil : n
        }
        if let n = e.number { sum -= n; numericCount -= 1 }
        if head > 64 && head * 2 > events.count {
            events.removeFirst(head)
            head = 0
        }
        if head < events.count { windowStart = events[head].time }
    }

    /// Forgets the window's contents (after it fired or closed); the group stays known.
    mutating func reset(at time: Int64) {
        events.removeAll(keepingCapacity: true)
        head = 0
        for i in refCounts.indices { refCounts[i] = 0 }
        valueCounts.removeAll()
        sum = 0
        numericCount = 0
        for i in best.indices { best[i] = nil }
        windowStart = time
    }
}

/// Where group states live. The in-memory store is the default; every implementation is
/// bounded by the correlator (`CorrelationLimits.maxGroups`), which evicts through it.
public protocol CorrelationStore: AnyObject {
    var count: Int { get }
    func load(_ key: GroupKey) -> GroupState?
    func save(_ key: GroupKey, _ state: GroupState)
    func remove(_ key: GroupKey)
    /// Every group (for sweeps, eviction and the final flush).
    func all() -> [(GroupKey, GroupState)]
    func removeAll()
}

public final class InMemoryCorrelationStore: CorrelationStore {
    var groups: [GroupKey: GroupState] = [:]
    public init() {}
    public var count: Int { groups.count }
    public func load(_ key: GroupKey) -> GroupState? { groups[key] }
    public func save(_ key: GroupKey, _ state: GroupState) { groups[key] = state }
    public func remove(_ key: GroupKey) { groups[key] = nil }
    public func all() -> [(GroupKey, GroupState)] { groups.map { ($0.key, $0.value) } }
    public func removeAll() { groups.removeAll() }
}

/// A binary min-heap: the reorder buffer of the watermark.
struct Heap<T> {
    var items: [T] = []
    let less: (T, T) -> Bool
    init(less: @escaping (T, T) -> Bool) { self.less = less }
    var isEmpty: Bool { items.isEmpty }
    var count: Int { items.count }
    var min: T? { items.first }

    mutating func push(_ x: T) {
        items.append(x)
        var i = items.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            guard less(items[i], items[p]) else { break }
            items.swapAt(i, p)
            i = p
        }
    }

    mutating func pop() -> T? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < items.count && less(items[l], items[m]) { m = l }
            if r < items.count && less(items[r], items[m]) { m = r }
            if m == i { break }
            items.swapAt(i, m)
            i = m
        }
        return top
    }
}
