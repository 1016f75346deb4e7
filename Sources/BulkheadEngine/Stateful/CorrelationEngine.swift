import BulkheadEvent
import BulkheadRules
import BulkheadSources

/// Bounds of correlation state (docs/correlation.md).
public struct CorrelationLimits: Sendable {
    /// How far behind the newest event time a record may arrive and still count (ns).
    public var lateness: Int64 = 300 * 1_000_000_000
    /// Matches waiting in the reorder buffer for the watermark; past it the oldest is released early.
    public var maxPending = 262_144
    /// Groups (correlation × group-by values) kept; past it the least recently active are evicted.
    public var maxGroups = 100_000
    /// Events kept in one group's window; past it the oldest are dropped.
    public var maxEventsPerGroup = 10_000
    public init() {}
}

/// What the correlator did, for the scan summary.
public struct CorrelationStats: Sendable {
    /// Base-rule matches (and chained correlation results) fed to correlations.
    public var observations = 0
    /// Matches without an event time (given the newest time seen).
    public var untimed = 0
    /// Matches older than the watermark when they arrived: dropped.
    public var late = 0
    /// Matches released before the watermark because the reorder buffer was full.
    public var releasedEarly = 0
    /// Groups whose window ended and were forgotten (TTL).
    public var expiredGroups = 0
    /// Groups evicted because of `maxGroups` (LRU by event time).
    public var evictedGroups = 0
    /// Window events dropped because of `maxEventsPerGroup`.
    public var droppedEvents = 0
    /// Correlations that fired (whether or not they raise their own alert).
    public var fired = 0
    public var peakGroups = 0
    public var peakPending = 0
    public init() {}
}

/// The stateful half of the engine: correlation windows on event time.
///
/// Matches of the rules correlations refer to enter a reorder buffer; they are processed in
/// event-time order once the watermark (newest event time of the current input minus the
/// lateness) passes them, so records shuffled within the lateness give the same alerts as
/// sorted ones. While more inputs of a scan are still to come the watermark waits (inputs
/// are merged in time order, bounded by `maxPending`); the end of the scan flushes everything.
public final class Correlator {
    public let plan: CorrelationPlan
    public var limits: CorrelationLimits
    public internal(set) var stats = CorrelationStats()
    public let store: any CorrelationStore

    struct Observation {
        var time: Int64
        var correlation: Int32
        var ref: Int32
        var group: [String]
        var value: String?
        var origin: Origin
        var source: String
        var entity: Entity
        /// From a chained correlation: processed even when behind the watermark.
        var chained: Bool
    }

    var pending = Heap<Observation>(less: Correlator.before)
    /// Newest event time of the current input, and overall.
    var inputMax: Int64?
    var newest: Int64?
    /// Inputs of the scan not yet started: the watermark waits for them.
    var inputsToCome = 0
    /// Everything at or before this time has been processed.
    var released = Int64.min
    var sinceSweep = 0

    public init(plan: CorrelationPlan, limits: CorrelationLimits = .init(), store: any CorrelationStore = InMemoryCorrelationStore()) {
        self.plan = plan
        self.limits = limits
        self.store = store
    }

    /// Total order on observations that does not depend on arrival order.
    static func before(_ a: Observation, _ b: Observation) -> Bool {
        if a.time != b.time { return a.time < b.time }
        if a.correlation != b.correlation { return a.correlation < b.correlation }
        if a.ref != b.ref { return a.ref < b.ref }
        if a.group != b.group { return a.group.lexicographicallyPrecedes(b.group) }
        if a.value != b.value { return (a.value ?? "") < (b.value ?? "") }
        if a.origin.name != b.origin.name { return a.origin.name < b.origin.name }
        return a.origin.line < b.origin.line
    }

    /// A new input begins; `remaining` more inputs follow it in this scan.
    public func beginInput(remaining: Int) {
        inputsToCome = remaining
        inputMax = nil
    }

    /// The current watermark (nil while it waits for inputs to come or for a first event time).
    public var watermark: Int64? {
        guard inputsToCome == 0, let m = inputMax else { return nil }
        return m &- limits.lateness
    }

    // MARK: Input

    /// A record matched base rule feeds: extract group-by and value fields while the record is live.
    func observe(_ feeds: [CorrelationPlan.Feed], _ e: EventView, format: Int, time: Int64?, origin: Origin, source: String,
                 entity: Entity, emit: (Alert) -> Void) {
        let t: Int64
        if let time {
            t = time
        } else {
            t = newest ?? 0
            stats.untimed += 1
        }
        for feed in feeds {
            let group = feed.groupPaths[format].map { paths -> String in
                for p in paths { if let s = e.firstString(p) { return s } }
                return ""
            }
            var value: String?
            for p in feed.valuePaths[format] {
                if let n = e.first(p), e.kind(n) != .null, e.kind(n) != .object, e.kind(n) != .array { value = e.string(n); break }
            }
            add(Observation(time: t, correlation: Int32(feed.correlation), ref: Int32(feed.ref), group: group, value: value,
                            origin: origin, source: source, entity: entity, chained: false), emit: emit)
        }
        if time != nil {
            if inputMax.map({ t > $0 }) ?? true { inputMax = t }
            if newest.map({ t > $0 }) ?? true { newest = t }
        }
        drain(emit: emit)
    }

    private func add(_ o: Observation, emit: (Alert) -> Void) {
        stats.observations += 1
        if o.time < released && !o.chained {
            stats.late += 1
            return
        }
        pending.push(o)
        stats.peakPending = max(stats.peakPending, pending.count)
        while pending.count > limits.maxPending, let first = pending.pop() {
            stats.releasedEarly += 1
            released = max(released, first.time)
            process(first, emit: emit)
        }
    }

    private func drain(emit: (Alert) -> Void) {
        guard let wm = watermark else { return }
        if wm > released { released = wm }
        while let top = pending.min, top.time <= released {
            _ = pending.pop()
            process(top, emit: emit)
        }
        if sinceSweep >= max(1024, store.count / 2) { sweep(upTo: released, emit: emit) }
    }

    /// End of the scan: every buffered match is processed and every open window judged.
    public func finish(emit: (Alert) -> Void) {
        while let o = pending.pop() {
            released = max(released, o.time)
            process(o, emit: emit)
        }
        // Close the remaining windows in a fixed order; chained results may add more.
        repeat {
            sweep(upTo: Int64.max, emit: emit)
            while let o = pending.pop() { process(o, emit: emit) }
        } while !pending.isEmpty || store.count > 0
        released = Int64.min
        inputMax = nil
        newest = nil
        inputsToCome = 0
    }

    // MARK: Windows

    private func process(_ o: Observation, emit: (Alert) -> Void) {
        let ci = Int(o.correlation)
        let c = plan.correlations[ci]
        guard !c.targets.isEmpty else { return }
        sinceSweep += 1
        let key = GroupKey(correlation: ci, group: o.group)
        let span = Int64(c.rule.timespanSeconds * 1e9)
        var s: GroupState
        if let existing = store.load(key) {
            s = existing
            if !c.sliding && s.liveCount > 0 && o.time > s.windowStart &+ span {
                close(key, &s, c, emit: emit)
                s.reset(at: o.time)
            }
        } else {
            s = GroupState(time: o.time, refs: c.targets.count, positions: c.sequence.count, origin: o.origin, source: o.source, entity: o.entity)
        }
        if s.liveCount == 0 { s.windowStart = o.time }
        if c.sliding {
            while s.liveCount > 0 && s.events[s.head].time < o.time &- span { s.dropOldest() }
            for k in s.best.indices { if let b = s.best[k], b < o.time &- span { s.best[k] = nil } }
        }
        let number = o.value.flatMap { Double($0) }
        s.append(WindowEvent(time: o.time, ref: o.ref, value: o.value, number: number))
        if s.liveCount > limits.maxEventsPerGroup {
            s.dropOldest()
            stats.droppedEvents += 1
        }
        if c.rule.kind == .temporalOrdered {
            for j in c.sequence.indices.reversed() where c.sequence[j] == Int(o.ref) {
                if j == 0 {
                    s.best[0] = o.time
                } else if let b = s.best[j - 1] {
                    s.best[j] = max(s.best[j] ?? b, b)
                }
            }
        }
        s.lastTime = o.time
        s.lastOrigin = o.origin
        s.lastSource = o.source
        s.lastEntity = o.entity
        if c.sliding, let m = metric(c, s), holds(c, m) {
            fire(key, s, c, metric: m, emit: emit)
            s.reset(at: o.time)
        }
        let isNew = store.load(key) == nil
        store.save(key, s)
        if isNew {
            stats.peakGroups = max(stats.peakGroups, store.count)
            if store.count > limits.maxGroups { evictLeastRecent() }
        }
    }

    /// Judges a window that closes (non-sliding conditions).
    private func close(_ key: GroupKey, _ s: inout GroupState, _ c: CorrelationPlan.Compiled, emit: (Alert) -> Void) {
        guard !c.sliding, s.liveCount > 0, let m = metric(c, s), holds(c, m) else { return }
        fire(key, s, c, metric: m, emit: emit)
    }

    /// Forgets groups whose window the watermark has passed, judging closing windows first.
    private func sweep(upTo wm: Int64, emit: (Alert) -> Void) {
        sinceSweep = 0
        var done: [(GroupKey, GroupState)] = []
        for (key, s) in store.all() {
            let c = plan.correlations[key.correlation]
            let span = Int64(c.rule.timespanSeconds * 1e9)
            let end = c.sliding ? s.lastTime &+ span : s.windowStart &+ span
            if end < wm || wm == Int64.max { done.append((key, s)) }
        }
        done.sort { a, b in
            a.1.windowStart != b.1.windowStart ? a.1.windowStart < b.1.windowStart
                : (a.0.correlation, a.0.group.joined(separator: "\u{1F}")) < (b.0.correlation, b.0.group.joined(separator: "\u{1F}"))
        }
        for (key, var s) in done {
            close(key, &s, plan.correlations[key.correlation], emit: emit)
            store.remove(key)
            if wm != Int64.max { stats.expiredGroups += 1 }
        }
    }

    private func evictLeastRecent() {
        var all = store.all()
        all.sort { $0.1.lastTime < $1.1.lastTime }
        let n = max(1, all.count - limits.maxGroups + limits.maxGroups / 10)
        for (key, _) in all.prefix(n) {
            store.remove(key)
            stats.evictedGroups += 1
        }
    }

    // MARK: Conditions

    func metric(_ c: CorrelationPlan.Compiled, _ s: GroupState) -> Double? {
        switch c.rule.kind {
        case .eventCount: return Double(s.liveCount)
        case .valueCount: return Double(s.valueCounts.count)
        case .valueSum: return s.sum
        case .valueAvg: return s.numericCount > 0 ? s.sum / Double(s.numericCount) : nil
        case .valuePercentile, .valueMedian:
            let values = s.events[s.head...].compactMap(\.number).sorted()
            return Self.percentile(values, c.percentile)
        case .temporal: return Double(s.refCounts.filter { $0 > 0 }.count)
        case .temporalOrdered:
            var k = 0
            for (j, b) in s.best.enumerated() where b != nil { k = j + 1 }
            return Double(k)
        }
    }

    /// Linear interpolation between closest ranks (numpy's default).
    static func percentile(_ sorted: [Double], _ p: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let rank = p / 100 * Double(sorted.count - 1)
        let lo = Int(rank.rounded(.down)), hi = Int(rank.rounded(.up))
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - Double(lo))
    }

    func holds(_ c: CorrelationPlan.Compiled, _ m: Double) -> Bool {
        if c.rule.conditions.isEmpty {
            // temporal: every referenced rule; temporal_ordered: the whole sequence.
            return m >= Double(c.rule.kind == .temporalOrdered ? c.sequence.count : c.targets.count)
        }
        for t in c.rule.conditions {
            let ok: Bool
            switch t.op {
            case "gt": ok = m > t.value
            case "gte": ok = m >= t.value
            case "lt": ok = m < t.value
            case "lte": ok = m <= t.value
            case "eq": ok = m == t.value
            case "neq": ok = m != t.value
            default: ok = false
            }
            if !ok { return false }
        }
        return true
    }

    // MARK: Results

    private func fire(_ key: GroupKey, _ s: GroupState, _ c: CorrelationPlan.Compiled, metric: Double, emit: (Alert) -> Void) {
        stats.fired += 1
        let ruleIDs: [String] = c.targets.enumerated().compactMap { i, t in
            guard s.refCounts[i] > 0 else { return nil }
            switch t {
            case .rule(let r): return plan.ruleIDs[r]
            case .correlation(let x): return plan.correlations[x].info.id
            }
        }
        var entity = s.lastEntity
        for (name, v) in zip(c.rule.groupBy, key.group) where !v.isEmpty && Entity.fieldNames.contains(name) { entity[name] = v }
        if c.emits {
            emit(Alert(rule: c.info, time: s.lastTime, origin: s.lastOrigin, source: "correlation", entity: entity,
                       event: summary(c, key, s, metric: metric, rules: ruleIDs)))
        }
        // Chaining: this result is an event of the correlations referring to this one.
        for feed in c.parents {
            let group = feed.groupFields.map { name -> String in
                if let i = c.rule.groupBy.firstIndex(of: name) { return key.group[i] }
                return entity[name] ?? ""
            }
            let value: String? = feed.valueField.map { name in
                if let i = c.rule.groupBy.firstIndex(of: name) { return key.group[i] }
                return String(metric)
            }
            add(Observation(time: s.lastTime, correlation: Int32(feed.correlation), ref: Int32(feed.ref), group: group, value: value,
                            origin: s.lastOrigin, source: s.lastSource, entity: entity, chained: true), emit: emit)
        }
    }

    /// The correlation alert's `event`: a JSON summary of what fired.
    func summary(_ c: CorrelationPlan.Compiled, _ key: GroupKey, _ s: GroupState, metric: Double, rules: [String]) -> String {
        var out: [UInt8] = []
        func str(_ x: String) { JSONString.appendQuoted(x, to: &out) }
        func raw(_ x: String) { out.append(contentsOf: x.utf8) }
        raw("{\"correlation\":{\"type\":"); str(c.rule.kind.rawValue)
        raw(",\"count\":\(s.liveCount)")
        if c.rule.kind != .eventCount {
            raw(",\"value\":"); raw(metric.isFinite ? (metric == metric.rounded() && abs(metric) < 1e15 ? String(Int64(metric)) : String(metric)) : "null")
        }
        raw(",\"group\":{")
        for (i, (name, v)) in zip(c.rule.groupBy, key.group).enumerated() {
            if i > 0 { raw(",") }
            str(name); raw(":"); str(v)
        }
        raw("},\"window\":{\"start\":"); str(Timestamps.format(epochNanos: s.windowStart))
        raw(",\"end\":"); str(Timestamps.format(epochNanos: s.lastTime))
        raw(",\"timespan_seconds\":\(Int64(c.rule.timespanSeconds))}")
        raw(",\"rules\":[")
        for (i, r) in rules.enumerated() { if i > 0 { raw(",") }; str(r) }
        raw("]}}")
        return String(decoding: out, as: UTF8.self)
    }
}

extension Engine {
    /// A new input of a scan begins, with `remaining` inputs after it (see `Correlator`).
    public func beginInput(remaining: Int) { correlator?.beginInput(remaining: remaining) }

    /// End of input: flushes correlation windows (their alerts go to `emit`).
    public func finishCorrelations(emit: (Alert) -> Void) { correlator?.finish(emit: emit) }

    /// Feeds a record that matched `rule` to the correlations referring to it.
    func correlate(rule: Int, _ e: EventView, format: Int, origin: Origin, emit: (Alert) -> Void) {
        guard let correlator else { return }
        let feeds = ruleSet.correlation.ruleFeeds[rule]
        guard !feeds.isEmpty else { return }
        correlator.observe(feeds, e, format: format, time: recordTime(e, format: format), origin: origin, source: ruleSet.mappings[format].id,
                           entity: recordEntity(e, format: format), emit: emit)
    }
}
