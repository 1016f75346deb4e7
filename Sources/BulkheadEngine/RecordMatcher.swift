import BulkheadEvent
import BulkheadSources

/// The stateless half of the engine: which rules a record matches, and what the telemetry-gap
/// analytic needs to know of it. Touches no learned state, so a parallel scan runs one per
/// worker thread; it owns its evaluator's scratch state and allocates nothing per event.
public final class RecordMatcher {
    public let ruleSet: RuleSet
    let evaluator = Evaluator()
    let extractors: [EntityExtractor]
    /// Rule indices of the last `match` (reused: no allocation per event).
    public private(set) var matched: [Int] = []

    public init(ruleSet: RuleSet) {
        self.ruleSet = ruleSet
        self.extractors = ruleSet.mappings.map { EntityExtractor(mapping: $0) }
        matched.reserveCapacity(64)
    }

    /// Fills `matched` with the rules the record of `format`/`kind` matches (selection and
    /// filters applied; exceptions and stateful analytics are the engine's business). The
    /// evaluator's per-record lookups stay valid until the next call.
    @inline(__always)
    public func match(_ event: EventView, format: Int, kind: Int) {
        matched.removeAll(keepingCapacity: true)
        evaluator.beginEvent()
        evaluator.match(ruleSet.programs[format][kind], event, into: &matched)
    }

    /// What the telemetry-gap analytic reads from a record (source, scope, event time and the
    /// audit-log mix). `needsInventory`: the node must come from the inventory, which is learned
    /// state, so the caller must resolve it in record order (a parallel scan re-evaluates such
    /// records in order). Only the fields the source's scope uses are read (this runs for
    /// every record).
    public func gapObservation(_ e: EventView, format: Int) -> GapObservation {
        let extractor = extractors[format]
        let source = ruleSet.mappings[format].id
        var out = GapObservation(source: source, time: extractor.time(of: e), cluster: nil)
        if source == "k8s_audit" {
            out.cluster = extractor.value("cluster", of: e)
            out.level = auditValues.intern(e, GapObservation.auditLevelPath)
            out.stage = auditValues.intern(e, GapObservation.auditStagePath)
            if let u = Self.nodeUser(e) { out.auditNode = u }
            else if let n = extractor.value("node", of: e) { out.auditNode = n }
            else if let n = e.firstString(GapObservation.auditBindingTargetPath) { out.auditNode = n }
            return out
        }
        if TelemetryGapMonitor.cloudSources.contains(source) {
            out.account = extractor.value("cloud_account", of: e)
            out.region = extractor.value("cloud_region", of: e)
            return out
        }
        out.node = extractor.value("node", of: e)
        out.needsInventory = out.node == nil && TelemetryGapMonitor.runtimeSources.contains(source)
        return out
    }

    /// Audit levels and stages as strings made once each (`ResponseComplete` is too long for an
    /// inline string: making it per record would allocate).
    private let auditValues = InternedValues()
}

extension RecordMatcher {
    /// The node of a kubelet's request (`system:node:<name>`), read without making a string of
    /// every other user.
    static func nodeUser(_ e: EventView) -> String? {
        guard let n = e.first(GapObservation.auditUserPath), e.kind(n) == .string else { return nil }
        return e.withText(n) { v -> String? in
            let prefix: StaticString = "system:node:"
            let k = prefix.utf8CodeUnitCount
            guard v.count >= k else { return nil }
            for i in 0..<k where v[i] != prefix.utf8Start[i] { return nil }
            return String(decoding: UnsafeBufferPointer(rebasing: v[k...]), as: UTF8.self)
        }
    }
}

/// Short record values (audit levels, stages) as strings made once each, looked up by bytes.
/// Bounded: past `limit` distinct values, strings are made per call.
final class InternedValues {
    private var known: [(bytes: [UInt8], text: String)] = []
    let limit = 32

    func intern(_ e: EventView, _ path: FieldPath) -> String? {
        guard let n = e.first(path), e.kind(n) != .null else { return nil }
        return e.withText(n) { v in
            for k in known where k.bytes.count == v.count && k.bytes.elementsEqual(v) { return k.text }
            let text = String(decoding: v, as: UTF8.self)
            if known.count < limit { known.append((Array(v), text)) }
            return text
        }
    }
}

/// One record as the telemetry-gap analytic sees it (see `RecordMatcher.gapObservation`).
public struct GapObservation: Sendable {
    static let auditLevelPath = FieldPath("level")
    static let auditStagePath = FieldPath("stage")
    static let auditUserPath = FieldPath("user.username")
    static let auditBindingTargetPath = FieldPath("requestObject.target.name")

    public var source: String
    public var time: Int64?
    public var cluster: String?
    public var node: String?
    public var auditNode: String?
    public var level: String?
    public var stage: String?
    public var account: String?
    public var region: String?
    public var needsInventory = false

    init(source: String, time: Int64?, cluster: String?) {
        self.source = source
        self.time = time
        self.cluster = cluster
    }

    var scope: String {
        TelemetryGapMonitor.scope(source: source, node: node, cluster: cluster, account: account, region: region)
    }
}
