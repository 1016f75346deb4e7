import BulkheadEngine
import Foundation

/// `bulkhead worker` settings beyond the shared `ScaleOutConfig`. Every size is bounded.
public struct WorkerConfig: Sendable {
    public var nats = ScaleOutConfig()
    /// Unique per process: names its leases, consumers and checkpoint chunks.
    public var workerID = WorkerConfig.defaultID()
    /// Partitions this worker may own (nil: any). Leases still decide, so two workers given
    /// overlapping sets never process a partition at once.
    public var eligible: [Int]?
    /// Records fetched per pull (per partition).
    public var batch = 256
    public var fetchWait: Duration = .seconds(1)
    /// A checkpoint after this many records of a partition, or this long, whichever first.
    public var checkpointRecords = 10_000
    public var checkpointInterval: Duration = .seconds(5)
    /// A lease not renewed for this long is taken over by another worker.
    public var leaseTTL: Duration = .seconds(10)
    /// Unacknowledged deliveries before JetStream redelivers (processing of a batch must fit).
    public var ackWait: Duration = .seconds(60)
    /// How long alerts are retried while JetStream does not store them before the worker gives
    /// the partition up (another worker, or this one later, replays from the checkpoint).
    public var publishRetry: Duration = .seconds(120)
    public var lateness: Int64 = 300 * 1_000_000_000
    public var maxGroups = 100_000
    public var statsInterval: Duration = .seconds(30)

    public init() {}

    public static func defaultID() -> String {
        let host = ProcessInfo.processInfo.hostName.prefix(40).map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "-" }
        var g = SystemRandomNumberGenerator()
        let suffix = (0..<6).map { _ in "abcdefghijklmnopqrstuvwxyz0123456789".randomElement(using: &g)! }
        return "w-" + String(host) + "-" + String(suffix)
    }

    public func validate() -> String? {
        if let problem = nats.validate() { return problem }
        if workerID.isEmpty || workerID.count > 80 || !workerID.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) {
            return "worker id must be 1 to 80 letters, digits, - or _"
        }
        if !(1...4096).contains(batch) { return "batch must be 1 to 4096" }
        if !(1...1_000_000).contains(checkpointRecords) { return "checkpoint records must be 1 to 1,000,000" }
        if leaseTTL < .seconds(1) { return "lease ttl must be at least 1s" }
        if let e = eligible, e.isEmpty || e.contains(where: { !(0..<nats.partitions).contains($0) }) {
            return "partitions must lie within 0-\(nats.partitions - 1)"
        }
        return nil
    }

    /// `0-7`, `3`, `0-3,8-11`.
    public static func parsePartitions(_ text: String) -> [Int]? {
        var out = Set<Int>()
        for part in text.split(separator: ",") {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard bounds.count <= 2, let lo = bounds.first ?? nil, let hi = bounds.last ?? nil, lo >= 0, hi >= lo, hi < Partitioner.maxCount else { return nil }
            out.formUnion(lo...hi)
        }
        return out.isEmpty ? nil : out.sorted()
    }
}
