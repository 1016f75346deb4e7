import BulkheadEvent

/// Incidents: alerts that share an entity within a window, grouped into one story with a
/// timeline across sources (docs/correlation.md).

public struct IncidentLimits: Sendable {
    /// Alerts sharing an entity key join the same incident when at most this far apart (ns).
    public var window: Int64 = 30 * 60 * 1_000_000_000
    /// Alerts are grouped in event-time order; they may arrive this late (ns).
    public var lateness: Int64 = 300 * 1_000_000_000
    /// Alerts waiting for the watermark; past it the oldest is grouped early.
    public var maxPending = 100_000
    /// Entity keys remembered; past it the least recently seen are evicted.
    public var maxKeys = 100_000
    /// Incidents kept; past it further unlinked alerts are counted, not grouped.
    public var maxIncidents = 10_000
    /// Timeline entries kept per incident; later ones are counted.
    public var maxTimeline = 500
    public init() {}
}

public struct IncidentStats: Sendable {
    public var alerts = 0
    public var incidents = 0
    /// Entity keys forgotten after the window (TTL) or because of `maxKeys` (LRU).
    public var expiredKeys = 0
    public var evictedKeys = 0
    /// Alerts grouped before the watermark because the buffer was full.
    public var groupedEarly = 0
    /// Alerts older than the watermark on arrival (grouped anyway, out of order).
    public var late = 0
    /// Alerts not grouped because `maxIncidents` was reached.
    public var dropped = 0
    /// Timeline entries not kept because of `maxTimeline`.
    public var omittedEntries = 0
    public init() {}
}

public struct IncidentEntry: Sendable {
    public var time: Int64?
    public var source: String
    public var ruleID: String
    public var title: String
    public var level: Level
    public var origin: Origin
    public var entity: String
}

public struct Incident: Sendable {
    public var id: String
    public var first: Int64?
    public var last: Int64?
    public var level: Level
    public var alerts: Int
    public var sources: [String]
    /// Entity field → values seen in the incident's alerts (the linking fields).
    public var entities: [(field: String, values: [String])]
    /// Keys through which alerts were joined (`pod=payments/debug-tools`, ...).
    public var links: [String]
    public var timeline: [IncidentEntry]
    /// Alerts beyond the timeline cap.
    public var omitted: Int
}

/// Groups alerts into incidents: union-find over entity keys within a window, in event time.
public final class IncidentBuilder {
    public var limits: IncidentLimits
    public private(set) var stats = IncidentStats()

    /// Entity fields that link alerts. `source_ip` links only public addresses: private and
    /// shared addresses (NAT, node and pod IPs) would join unrelated activity.
    public static let linkFields = ["pod", "container_id", "node", "user", "cloud_instance", "source_ip"]

    struct Pending {
        var time: Int64
        var seq: Int
        var entry: IncidentEntry
        var keys: [String]
        var values: [(String, String)]
    }

    final class Data {
        var first: Int64
        var last: Int64
        var level: Level
        var alerts = 0
        var sources: Set<String> = []
        var values: [String: Set<String>] = [:]
        var links: Set<String> = []
        var timeline: [IncidentEntry] = []
        var omitted = 0
        init(time: Int64, level: Level) {
            first = time
            last = time
            self.level = level
        }
    }

    private var pending: Heap<Pending>
    private var seq = 0
    private var newest: Int64?
    private var released = Int64.min
    private var incidents: [Data?] = []
    private var parent: [Int] = []
    private var keys: [String: (incident: Int, last: Int64)] = [:]
    private var sinceSweep = 0
    private var inputsToCome = 0
    private var inputMax: Int64?

    /// A new input of a scan begins with `remaining` after it: as for correlations, alerts are
    /// held (up to `maxPending`) until the last input, so inputs merge in event time.
    public func beginInput(remaining: Int) {
        inputsToCome = remaining
        inputMax = nil
    }

    public init(limits: IncidentLimits = .init()) {
        self.limits = limits
        pending = Heap(less: { a, b in
            if a.time != b.time { return a.time < b.time }
            if a.entry.origin.name != b.entry.origin.name { return a.entry.origin.name < b.entry.origin.name }
            if a.entry.origin.line != b.entry.origin.line { return a.entry.origin.line < b.entry.origin.line }
            if a.entry.ruleID != b.entry.ruleID { return a.entry.ruleID < b.entry.ruleID }
            return a.seq < b.seq
        })
    }

    /// The entity keys an alert links by.
    public static func keys(of entity: Entity) -> [(key: String, field: String, value: String)] {
        var out: [(String, String, String)] = []
        for f in linkFields {
            guard var v = entity[f], !v.isEmpty else { continue }
            switch f {
            case "pod":
                guard let ns = entity["namespace"] else { continue }
                v = "\(ns)/\(v)"
            case "container_id":
                // containerd://abc..., docker://abc..., a 12-character short id: compare 12 hex digits.
                if let r = v.range(of: "://") { v = String(v[r.upperBound...]) }
                v = String(v.lowercased().prefix(12))
            case "source_ip":
                guard let ip = IPAddress.parse(Array(v.utf8)), isPublic(ip) else { continue }
            default: break
            }
            out.append(("\(f)=\(v)", f, v))
        }
        return out
    }

    /// Not private, loopback, link-local, CGNAT, unspecified or multicast (documentation
    /// ranges count as public: examples use them for outside addresses).
    static func isPublic(_ ip: [UInt8]) -> Bool {
        var b = ip
        if b.count == 16, b[0..<10].allSatisfy({ $0 == 0 }), b[10] == 0xFF, b[11] == 0xFF { b = Array(b[12...]) }
        if b.count == 4 {
            switch (b[0], b[1]) {
            case (0, _), (10, _), (127, _), (169, 254), (192, 168): return false
            case (172, 16...31), (100, 64...127): return false
            default: return b[0] < 224
            }
        }
        guard b.count == 16 else { return false }
        if b[0..<15].allSatisfy({ $0 == 0 }) { return false }  // :: and ::1
        if b[0] & 0xFE == 0xFC || (b[0] == 0xFE && b[1] & 0xC0 == 0x80) || b[0] == 0xFF { return false }
        return true
    }

    public func add(_ alert: Alert) {
        stats.alerts += 1
        let time = alert.time ?? newest ?? 0
        if let t = alert.time, newest.map({ t > $0 }) ?? true { newest = t }
        if let t = alert.time, inputMax.map({ t > $0 }) ?? true { inputMax = t }
        let ks = Self.keys(of: alert.entity)
        let entry = IncidentEntry(time: alert.time, source: alert.source, ruleID: alert.rule.id, title: alert.rule.title,
                                  level: alert.rule.level, origin: alert.origin, entity: alert.entity.label)
        if time < released { stats.late += 1 }
        seq += 1
        pending.push(Pending(time: time, seq: seq, entry: entry, keys: ks.map(\.key), values: ks.map { ($0.field, $0.value) }))
        while pending.count > limits.maxPending, let p = pending.pop() {
            stats.groupedEarly += 1
            released = max(released, p.time)
            group(p)
        }
        if inputsToCome == 0, let n = inputMax {
            released = max(released, n &- limits.lateness)
            while let top = pending.min, top.time <= released {
                _ = pending.pop()
                group(top)
            }
        }
    }

    func find(_ i: Int) -> Int {
        var r = i
        while parent[r] != r { r = parent[r] }
        var x = i
        while parent[x] != r { let next = parent[x]; parent[x] = r; x = next }
        return r
    }

    private func group(_ p: Pending) {
        sinceSweep += 1
        if sinceSweep >= max(1024, keys.count / 2) { sweep() }
        var roots: [Int] = []
        var linked: [String] = []
        for k in p.keys {
            guard let hit = keys[k], p.time - hit.last <= limits.window else { continue }
            let r = find(hit.incident)
            linked.append(k)
            if !roots.contains(r) { roots.append(r) }
        }
        let target: Int
        if roots.isEmpty {
            guard incidents.count < limits.maxIncidents else { stats.dropped += 1; return }
            target = incidents.count
            incidents.append(Data(time: p.time, level: p.entry.level))
            parent.append(target)
        } else {
            roots.sort()
            target = roots[0]
            for other in roots.dropFirst() { merge(other, into: target) }
        }
        let d = incidents[target]!
        d.first = min(d.first, p.time)
        d.last = max(d.last, p.time)
        d.level = max(d.level, p.entry.level)
        d.alerts += 1
        d.sources.insert(p.entry.source)
        for (f, v) in p.values { d.values[f, default: []].insert(v) }
        for k in linked { d.links.insert(k) }
        if d.timeline.count < limits.maxTimeline { d.timeline.append(p.entry) } else { d.omitted += 1; stats.omittedEntries += 1 }
        for k in p.keys {
            keys[k] = (target, max(p.time, keys[k]?.last ?? p.time))
        }
        if keys.count > limits.maxKeys { evictKeys() }
    }

    private func merge(_ other: Int, into target: Int) {
        guard let o = incidents[other], let d = incidents[target] else { return }
        d.first = min(d.first, o.first)
        d.last = max(d.last, o.last)
        d.level = max(d.level, o.level)
        d.alerts += o.alerts
        d.sources.formUnion(o.sources)
        for (f, vs) in o.values { d.values[f, default: []].formUnion(vs) }
        d.links.formUnion(o.links)
        for e in o.timeline {
            if d.timeline.count < limits.maxTimeline { d.timeline.append(e) } else { d.omitted += 1; stats.omittedEntries += 1 }
        }
        d.omitted += o.omitted
        incidents[other] = nil
        parent[other] = target
    }

    /// Forgets keys not seen within the window of the watermark (TTL).
    private func sweep() {
        sinceSweep = 0
        guard released != Int64.min else { return }
        let horizon = released &- limits.window
        let before = keys.count
        keys = keys.filter { $0.value.last >= horizon }
        stats.expiredKeys += before - keys.count
    }

    private func evictKeys() {
        let sorted = keys.sorted { $0.value.last != $1.value.last ? $0.value.last < $1.value.last : $0.key < $1.key }
        let n = max(1, keys.count - limits.maxKeys + limits.maxKeys / 10)
        for (k, _) in sorted.prefix(n) { keys[k] = nil }
        stats.evictedKeys += n
    }

    /// Groups every alert still waiting and returns the incidents, oldest first.
    public func finish() -> [Incident] {
        while let p = pending.pop() { group(p) }
        var out: [Incident] = []
        let roots = incidents.indices.filter { incidents[$0] != nil && parent[$0] == $0 }
        let ordered = roots.sorted { incidents[$0]!.first != incidents[$1]!.first ? incidents[$0]!.first < incidents[$1]!.first : $0 < $1 }
        for (n, r) in ordered.enumerated() {
            let d = incidents[r]!
            let timeline = d.timeline.enumerated().sorted { a, b in
                let ta = a.element.time ?? Int64.min, tb = b.element.time ?? Int64.min
                return ta != tb ? ta < tb : a.offset < b.offset
            }.map(\.element)
            let entities = Self.linkFields.compactMap { f in d.values[f].map { (field: f, values: $0.sorted()) } }
            let timed = timeline.contains { $0.time != nil }
            out.append(Incident(id: "INC-\(n + 1)", first: timed ? d.first : nil, last: timed ? d.last : nil, level: d.level,
                                alerts: d.alerts, sources: d.sources.sorted(), entities: entities, links: d.links.sorted(),
                                timeline: timeline, omitted: d.omitted))
        }
        stats.incidents = out.count
        return out
    }
}
