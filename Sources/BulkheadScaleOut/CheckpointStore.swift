import BulkheadNATS
import Foundation

/// Checkpoints in a key-value bucket. A checkpoint is compressed and cut into chunks of at
/// most one message each, written under keys of its writer (`p<N>.<owner>.<slot>.<i>`, two
/// slots used in turn so the one the head points at is never overwritten), then made current by
/// a revision-checked update of the head key `p<N>.head`. That update is the fence: a worker
/// that lost the partition still holds an old revision and is refused.
public struct CheckpointStore: Sendable {
    public let kv: KeyValue
    /// Largest chunk (below the server's max_payload).
    public var chunkBytes: Int
    /// Largest inflated checkpoint accepted on load.
    public var maxStateBytes = 1 << 30

    public struct Head: Codable, Sendable, Equatable {
        public var owner: String
        public var slot: String
        public var chunks: Int
        public var compressedBytes: Int
        public var bytes: Int
        public var sha256: String
        public var lastSequence: UInt64
    }

    /// The current head and its revision (0: no checkpoint yet).
    public struct Current: Sendable {
        public var head: Head?
        public var revision: UInt64
    }

    public struct Corrupt: Error, CustomStringConvertible { public var description: String }

    public init(kv: KeyValue, chunkBytes: Int) {
        self.kv = kv
        self.chunkBytes = max(1024, chunkBytes)
    }

    static func headKey(_ p: Int) -> String { "p\(p).head" }
    static func slotKey(_ p: Int, owner: String, slot: String) -> String { "p\(p).\(owner).\(slot)" }

    public func current(_ p: Int) async throws -> Current {
        guard let e = try await kv.get(Self.headKey(p)) else { return Current(head: nil, revision: 0) }
        let head = try? JSONDecoder().decode(Head.self, from: Data(e.value))
        return Current(head: head, revision: e.revision)
    }

    /// The checkpoint the head points at.
    public func load(_ head: Head, partition p: Int) async throws -> PartitionCheckpoint {
        guard head.bytes >= 0, head.bytes <= maxStateBytes, head.chunks >= 1, head.chunks <= 1 + maxStateBytes / chunkBytes else {
            throw Corrupt(description: "checkpoint of partition \(p) declares \(head.bytes) bytes in \(head.chunks) chunks (limit \(maxStateBytes))")
        }
        var compressed: [UInt8] = []
        let slot = Self.slotKey(p, owner: head.owner, slot: head.slot)
        for i in 0..<head.chunks {
            guard let chunk = try await kv.get("\(slot).\(i)") else { throw Corrupt(description: "checkpoint of partition \(p): chunk \(i) missing") }
            compressed += chunk.value
            if compressed.count > head.compressedBytes { break }
        }
        guard compressed.count == head.compressedBytes, AlertIdentity.sha256(compressed) == head.sha256 else {
            throw Corrupt(description: "checkpoint of partition \(p): chunks do not match the head's digest")
        }
        let cp = try PartitionCheckpoint.decode(try Deflate.decompress(compressed, size: head.bytes))
        guard cp.partition == p, cp.lastSequence == head.lastSequence else { throw Corrupt(description: "checkpoint of partition \(p) is for another partition or position") }
        return cp
    }

    /// Writes `cp` as `owner` and makes it current if the head is still at `revision`; returns
    /// the new head revision. Throws `JetStreamError` (wrong last sequence) when another writer
    /// moved the head: the partition is no longer ours.
    public func save(_ cp: PartitionCheckpoint, owner: String, over current: Current) async throws -> Current {
        let p = cp.partition
        let json = try cp.encoded()
        let compressed = try Deflate.compress(json)
        // Never the slot the current head points at.
        let slot = current.head.map { $0.owner == owner && $0.slot == "a" } == true ? "b" : "a"
        let base = Self.slotKey(p, owner: owner, slot: slot)
        try await kv.purge(base, subtree: true)
        var chunks = 0
        var offset = 0
        repeat {
            let end = min(offset + chunkBytes, compressed.count)
            try await kv.put("\(base).\(chunks)", Array(compressed[offset..<end]))
            chunks += 1
            offset = end
        } while offset < compressed.count
        let head = Head(owner: owner, slot: slot, chunks: chunks, compressedBytes: compressed.count, bytes: json.count,
                        sha256: AlertIdentity.sha256(compressed), lastSequence: cp.lastSequence)
        let revision = try await kv.update(Self.headKey(p), try JSONEncoder.sorted.encode(head).map { $0 }, revision: current.revision)
        return Current(head: head, revision: revision)
    }

    /// Removes a former owner's chunks once our own head is current (best effort).
    public func purge(partition p: Int, owner: String) async {
        try? await kv.purge("p\(p).\(owner)", subtree: true)
    }
}

extension JetStreamError {
    /// `Nats-Expected-Last-Subject-Sequence` did not hold: someone else wrote the key.
    public var isWrongRevision: Bool { errorCode == 10071 }
}
