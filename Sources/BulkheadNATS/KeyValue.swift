import Foundation

/// A JetStream key-value bucket: the stream `KV_<bucket>` with subjects `$KV.<bucket>.<key>`,
/// keeping `history` values per key. Revisions are stream sequences; `update` succeeds only
/// when the key is still at the revision the caller read (optimistic concurrency), which is
/// how a worker taking over a partition knows it resumes from the latest checkpoint.
public struct KeyValue: Sendable {
    public let js: JetStream
    public let bucket: String
    var stream: String { "KV_" + bucket }

    public struct Entry: Sendable {
        public var key: String
        public var value: [UInt8]
        public var revision: UInt64
    }

    /// Opens the bucket, creating it when missing.
    public static func bucket(_ name: String, js: JetStream, history: Int = 1, replicas: Int = 1) async throws -> KeyValue {
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
            throw NATSError.invalid("invalid bucket name \(name.prefix(64))")
        }
        var c = JetStream.StreamConfig(name: "KV_" + name, subjects: ["$KV.\(name).>"])
        c.maxMessagesPerSubject = max(1, history)
        c.replicas = replicas
        c.allowRollup = true
        c.denyDelete = true
        try await js.createStream(c)
        return KeyValue(js: js, bucket: name)
    }

    func subject(_ key: String) throws -> String {
        guard !key.isEmpty, key.utf8.count <= 512,
              key.allSatisfy({ $0.isLetter || $0.isNumber || "-_=./".contains($0) }), !key.hasPrefix("."), !key.hasSuffix(".") else {
            throw NATSError.invalid("invalid key \(key.prefix(64))")
        }
        return "$KV.\(bucket).\(key)"
    }

    /// Stores `value`; returns its revision.
    @discardableResult
    public func put(_ key: String, _ value: [UInt8]) async throws -> UInt64 {
        try await js.publish(try subject(key), payload: value).sequence
    }

    /// Stores `value` only if the key's latest revision is still `revision` (0: the key must not
    /// exist); throws `JetStreamError` (wrong last sequence) otherwise.
    @discardableResult
    public func update(_ key: String, _ value: [UInt8], revision: UInt64) async throws -> UInt64 {
        try await js.publish(try subject(key), payload: value, headers: [("Nats-Expected-Last-Subject-Sequence", String(revision))]).sequence
    }

    /// The latest value, or nil when the key was never set or is deleted.
    public func get(_ key: String) async throws -> Entry? {
        do {
            let o = try await js.api("STREAM.MSG.GET.\(stream)", ["last_by_subj": try subject(key)])
            guard let m = o["message"] as? [String: Any], let seq = (m["seq"] as? NSNumber)?.uint64Value else { return nil }
            if let h = m["hdrs"] as? String, let d = Data(base64Encoded: h),
               String(decoding: d, as: UTF8.self).contains("KV-Operation: DEL") || String(decoding: d, as: UTF8.self).contains("KV-Operation: PURGE") {
                return nil
            }
            let data = (m["data"] as? String).flatMap { Data(base64Encoded: $0) } ?? Data()
            return Entry(key: key, value: [UInt8](data), revision: seq)
        } catch let e as JetStreamError where e.errorCode == 10037 {   // no message found
            return nil
        }
    }

    /// Marks the key deleted (a delete marker, as other KV clients write it).
    public func delete(_ key: String) async throws {
        _ = try await js.publish(try subject(key), payload: [], headers: [("KV-Operation", "DEL")])
    }

    /// Removes every value of the key, or of every key under `key.>` when `subtree` (no delete
    /// marker is left behind, unlike `delete`).
    public func purge(_ key: String, subtree: Bool = false) async throws {
        try await js.api("STREAM.PURGE.\(stream)", ["filter": try subject(key) + (subtree ? ".>" : "")])
    }

    /// Keys under `prefix.` that hold a message (deleted keys too, until purged), sorted.
    public func keys(under prefix: String, limit: Int = 10_000) async throws -> [String] {
        let filter = try subject(prefix) + ".>"
        let o = try await js.api("STREAM.INFO.\(stream)", ["subjects_filter": filter])
        let subjects = ((o["state"] as? [String: Any])?["subjects"] as? [String: Any]) ?? [:]
        let head = "$KV.\(bucket)."
        return subjects.keys.filter { $0.hasPrefix(head) }.map { String($0.dropFirst(head.count)) }.sorted().prefix(limit).map { $0 }
    }
}
