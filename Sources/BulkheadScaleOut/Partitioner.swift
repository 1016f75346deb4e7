import BulkheadEngine

/// Which partition a record goes to: a hash of its entity key modulo the partition count, so
/// that every record of one entity reaches the same worker and its stateful rules see them all,
/// in order.
public struct Partitioner: Sendable, Equatable {
    /// How fine the key of namespaced records is.
    public enum Granularity: String, Sendable {
        /// cluster/namespace: state grouped per namespace or workload (most of the pack's
        /// baselines) stays in one partition.
        case namespace
        /// cluster/namespace/pod: finer spread; namespace- and workload-wide state is split.
        case pod
    }

    public let count: Int
    public let granularity: Granularity

    public init(count: Int, granularity: Granularity = .namespace) {
        precondition(count >= 1 && count <= Partitioner.maxCount, "partition count out of range")
        self.count = count
        self.granularity = granularity
    }

    public static let maxCount = 4096

    /// The entity key: the most specific of namespace (with cluster), node, cloud account,
    /// container, source address or user that the record names; else its source.
    public func key(_ e: Entity, source: String) -> String {
        let cluster = e["cluster"] ?? ""
        if let ns = e["namespace"] {
            guard granularity == .pod, let pod = e["pod"] ?? e["workload"] else { return "k8s/\(cluster)/\(ns)" }
            return "k8s/\(cluster)/\(ns)/\(pod)"
        }
        if let node = e["node"] { return "node/\(cluster)/\(node)" }
        if let account = e["cloud_account"] { return "cloud/\(e["cloud_provider"] ?? "")/\(account)" }
        if let c = e["container_id"] ?? e["container_name"] { return "container/\(c)" }
        if let ip = e["source_ip"] { return "ip/\(ip)" }
        if let user = e["user"] { return "user/\(user)" }
        return "source/\(source)"
    }

    public func partition(ofKey key: String) -> Int { Int(Self.fnv1a(key) % UInt64(count)) }

    public func partition(_ e: Entity, source: String) -> Int { partition(ofKey: key(e, source: source)) }

    /// FNV-1a 64: stable across processes and versions (Swift's Hasher is seeded per process).
    static func fnv1a(_ s: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01B3
        }
        return h
    }
}

/// Subjects and durable names, in one place.
public enum ScaleOutSubjects {
    /// `<prefix>.<source>.<partition>`: a worker's consumer filters on `<prefix>.*.<partition>`.
    public static func telemetry(prefix: String, source: String, partition: Int) -> String { "\(prefix).\(source).\(partition)" }
    public static func telemetryFilter(prefix: String, partition: Int) -> String { "\(prefix).*.\(partition)" }
    /// The durable consumer of one owner of one partition: each owner has its own, so a stale
    /// owner can never move the consumer the current owner reads.
    public static func consumer(partition: Int, owner: String) -> String { "p\(partition)_\(owner)" }
}
