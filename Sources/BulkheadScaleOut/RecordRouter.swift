import BulkheadEngine
import BulkheadEvent
import BulkheadScan
import BulkheadSources

/// The ingest side of scale-out: attached to a scan pipeline, it takes each decoded record
/// instead of the engine, works out its entity (completed from the pods learned so far, so a
/// DNS or flow record from a pod's IP goes where that pod's audit records go) and partition.
/// One thread at a time, like the pipeline it is attached to.
public final class RecordRouter {
    let engine: Engine
    public let partitioner: Partitioner
    /// Records larger than this cannot be one NATS message: reported, not published.
    public var maxRecordBytes: Int
    private var routed: [RoutedRecord] = []
    private var oversized: [String] = []

    public init(engine: Engine, partitioner: Partitioner, maxRecordBytes: Int) {
        self.engine = engine
        self.partitioner = partitioner
        self.maxRecordBytes = maxRecordBytes
    }

    public func attach(to pipeline: ScanPipeline) {
        pipeline.onRecord = { [unowned self] view, format, kind in self.route(view, format: format, kind: kind) }
    }

    func route(_ view: EventView, format: Int, kind: Int) {
        let source = Formats.all[format].id
        let bytes = view.recordBytes
        guard bytes.count <= maxRecordBytes else {
            if oversized.count < 20 { oversized.append("a \(source) record of \(bytes.count) bytes is over the \(maxRecordBytes)-byte NATS message limit (not published)") }
            return
        }
        var entity = engine.entity(view, format: format)
        if !engine.inventory.isEmpty {
            entity = engine.inventory.resolve(entity: entity, time: engine.time(view, format: format),
                                              byIP: Inventory.resolvesByIP(engine.ruleSet.mappings[format]))
        }
        routed.append(RoutedRecord(partition: partitioner.partition(entity, source: source), source: source, kind: kind, bytes: Array(bytes)))
    }

    /// The records routed since the last call, and the problems of those that could not be.
    public func take() -> (records: [RoutedRecord], problems: [String]) {
        defer { routed = []; oversized = [] }
        return (routed, oversized)
    }
}
