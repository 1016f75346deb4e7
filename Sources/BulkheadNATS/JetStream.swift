import Foundation

/// The JetStream API (JSON requests on `$JS.API.*`): streams, publish with acknowledgement and
/// de-duplication, durable pull consumers with batch fetch and explicit acks, key-value buckets.
public struct JetStream: Sendable {
    public let connection: NATSConnection
    public var timeout: Duration = .seconds(5)

    public init(_ connection: NATSConnection) { self.connection = connection }

    /// One API call; a JetStream error reply is thrown with its code and description.
    @discardableResult
    public func api(_ subject: String, _ body: [String: Any] = [:]) async throws -> [String: Any] {
        let payload = body.isEmpty ? [] : [UInt8](try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]))
        let reply = try await connection.request("$JS.API." + subject, payload: payload, timeout: timeout)
        return try Self.decode(reply.payload, what: subject)
    }

    static func decode(_ payload: [UInt8], what: String) throws -> [String: Any] {
        guard let o = (try? JSONSerialization.jsonObject(with: Data(payload))) as? [String: Any] else {
            throw NATSError.protocolError("\(what): reply is not a JSON object")
        }
        if let e = o["error"] as? [String: Any] {
            throw JetStreamError(code: e["code"] as? Int ?? 0, errorCode: e["err_code"] as? Int ?? 0, description: e["description"] as? String ?? "?")
        }
        return o
    }

    // MARK: Streams

    public struct StreamConfig: Sendable {
        public var name: String
        public var subjects: [String]
        public var replicas = 1
        public var memoryStorage = false
        public var maxAge: Duration?
        public var maxBytes: Int?
        /// Window in which a repeated `Nats-Msg-Id` is recognised as a duplicate.
        public var duplicateWindow: Duration = .seconds(120)
        public var maxMessagesPerSubject: Int?
        public var allowRollup = false
        public var denyDelete = false
        public var allowDirect = false

        public init(name: String, subjects: [String]) {
            self.name = name
            self.subjects = subjects
        }

        var json: [String: Any] {
            var o: [String: Any] = ["name": name, "subjects": subjects, "num_replicas": replicas,
                                    "storage": memoryStorage ? "memory" : "file", "retention": "limits",
                                    "duplicate_window": duplicateWindow.nanoseconds, "discard": "old"]
            if let maxAge { o["max_age"] = maxAge.nanoseconds }
            if let maxBytes { o["max_bytes"] = maxBytes }
            if let maxMessagesPerSubject { o["max_msgs_per_subject"] = maxMessagesPerSubject }
            if allowRollup { o["allow_rollup_hdrs"] = true }
            if denyDelete { o["deny_delete"] = true }
            if allowDirect { o["allow_direct"] = true }
            return o
        }
    }

    /// Creates the stream, or leaves an existing one with this name as it is.
    @discardableResult
    public func createStream(_ config: StreamConfig) async throws -> [String: Any] {
        do {
            return try await api("STREAM.CREATE.\(config.name)", config.json)
        } catch let e as JetStreamError where e.errorCode == 10058 {   // stream name already in use
            return try await streamInfo(config.name)
        }
    }

    public func streamInfo(_ name: String) async throws -> [String: Any] { try await api("STREAM.INFO.\(name)") }
    public func deleteStream(_ name: String) async throws { try await api("STREAM.DELETE.\(name)") }

    /// Messages stored in the stream.
    public func messageCount(_ stream: String) async throws -> Int {
        ((try await streamInfo(stream))["state"] as? [String: Any])?["messages"] as? Int ?? 0
    }

    /// One message of a stream as stored, read by its sequence.
    public struct StoredMessage: Sendable {
        public var sequence: UInt64
        public var subject: String
        public var payload: [UInt8]
    }

    /// The message at `sequence`, or nil when there is none (deleted, or past the end). Reads
    /// what the stream holds, whatever any consumer was delivered or acknowledged.
    public func storedMessage(_ stream: String, sequence: UInt64) async throws -> StoredMessage? {
        do {
            let o = try await api("STREAM.MSG.GET.\(stream)", ["seq": sequence])
            guard let m = o["message"] as? [String: Any] else { return nil }
            let data = (m["data"] as? String).flatMap { Data(base64Encoded: $0) } ?? Data()
            return StoredMessage(sequence: (m["seq"] as? NSNumber)?.uint64Value ?? sequence, subject: m["subject"] as? String ?? "", payload: [UInt8](data))
        } catch let e as JetStreamError where e.errorCode == 10037 {   // no message found
            return nil
        }
    }

    /// The stream's last sequence (0 when empty).
    public func lastSequence(_ stream: String) async throws -> UInt64 {
        (((try await streamInfo(stream))["state"] as? [String: Any])?["last_seq"] as? NSNumber)?.uint64Value ?? 0
    }

    // MARK: Publishing

    public struct PubAck: Sendable {
        public var stream: String
        public var sequence: UInt64
        /// The server had already stored a message with this `Nats-Msg-Id` (within the window).
        public var duplicate: Bool
    }

    /// Publishes and waits for the stream's acknowledgement. `messageID` de-duplicates resends.
    public func publish(_ subject: String, payload: [UInt8], messageID: String? = nil, headers: [(String, String)] = []) async throws -> PubAck {
        var h = headers
        if let messageID { h.append(("Nats-Msg-Id", messageID)) }
        let reply = try await connection.request(subject, payload: payload, headers: h, timeout: timeout)
        return try Self.pubAck(reply, subject: subject)
    }

    static func pubAck(_ reply: NATSMessage, subject: String) throws -> PubAck {
        let o = try Self.decode(reply.payload, what: "publish to \(subject)")
        guard let stream = o["stream"] as? String, let seq = (o["seq"] as? NSNumber)?.uint64Value else {
            throw NATSError.protocolError("publish to \(subject): no stream acknowledgement")
        }
        return PubAck(stream: stream, sequence: seq, duplicate: o["duplicate"] as? Bool ?? false)
    }

    // MARK: Pull consumers

    public struct ConsumerConfig: Sendable {
        public enum AckPolicy: String, Sendable {
            /// Each message is acknowledged on its own.
            case explicit
            /// Acknowledging a message acknowledges every message before it (one ack per batch).
            case all
        }
        public var durable: String
        public var filterSubject: String?
        public var ackPolicy = AckPolicy.explicit
        /// Deliver from this stream sequence on (nil: from the first message).
        public var startSequence: UInt64?
        public var ackWait: Duration = .seconds(30)
        public var maxDeliver = -1
        public var maxAckPending = 10_000

        public init(durable: String, filterSubject: String? = nil) {
            self.durable = durable
            self.filterSubject = filterSubject
        }
    }

    @discardableResult
    public func createConsumer(stream: String, _ c: ConsumerConfig) async throws -> [String: Any] {
        var config: [String: Any] = ["durable_name": c.durable, "ack_policy": c.ackPolicy.rawValue, "deliver_policy": "all",
                                     "ack_wait": c.ackWait.nanoseconds, "max_deliver": c.maxDeliver, "max_ack_pending": c.maxAckPending,
                                     "replay_policy": "instant"]
        if let start = c.startSequence {
            config["deliver_policy"] = "by_start_sequence"
            config["opt_start_seq"] = start
        }
        if let f = c.filterSubject { config["filter_subject"] = f }
        return try await api("CONSUMER.DURABLE.CREATE.\(stream).\(c.durable)", ["stream_name": stream, "config": config])
    }

    /// Deletes a durable consumer; one that does not exist is not an error.
    public func deleteConsumer(stream: String, durable: String) async throws {
        do {
            try await api("CONSUMER.DELETE.\(stream).\(durable)")
        } catch let e as JetStreamError where e.errorCode == 10014 {   // consumer not found
        }
    }

    public func consumerInfo(stream: String, durable: String) async throws -> [String: Any] {
        try await api("CONSUMER.INFO.\(stream).\(durable)")
    }

    /// What one pull request returned.
    public struct FetchResult: Sendable {
        public var messages: [JetStreamMessage]
        /// The batch ended as the server meant it to: full, or closed by a 404/408 status. When
        /// false (a timeout, a reconnection, a 409) messages may have been lost in flight: they
        /// stay pending on the server until `ack_wait`, and a later pull can get newer ones first.
        public var complete: Bool
        /// The closing status description when the server ended the batch with an error (409).
        public var problem: String?
        public init(messages: [JetStreamMessage], complete: Bool, problem: String? = nil) {
            self.messages = messages
            self.complete = complete
            self.problem = problem
        }
    }

    /// Up to `batch` messages, waiting at most `expires` for them (fewer when the consumer has
    /// fewer pending). Each must be acknowledged (`ack`), or it is delivered again after ack_wait.
    public func fetch(stream: String, durable: String, batch: Int, expires: Duration = .seconds(1)) async throws -> [JetStreamMessage] {
        let r = try await fetchBatch(stream: stream, durable: durable, batch: batch, expires: expires)
        if let problem = r.problem, r.messages.isEmpty { throw NATSError.server("fetch: \(problem)") }
        return r.messages
    }

    /// `fetch`, saying whether the batch arrived whole (see `FetchResult.complete`).
    public func fetchBatch(stream: String, durable: String, batch: Int, expires: Duration = .seconds(1)) async throws -> FetchResult {
        let inbox = connection.newInbox()
        let sub = try await connection.subscribe(inbox)
        defer { Task { await sub.unsubscribe() } }
        let reconnects = connection.reconnects
        let request: [String: Any] = ["batch": batch, "expires": expires.nanoseconds]
        try await connection.publish("$JS.API.CONSUMER.MSG.NEXT.\(stream).\(durable)",
                                     payload: [UInt8](try JSONSerialization.data(withJSONObject: request)), reply: inbox)
        let messages = sub.messages
        let arrived = Arrived()
        var result: FetchResult
        do {
            result = try await withTimeout(expires + .seconds(5), "fetch from \(stream)/\(durable)") {
                for await m in messages {
                    if let status = m.status {
                        // 404 no messages, 408 request expired: the batch is over; 100 is a heartbeat.
                        if status == 100 { continue }
                        let clean = status == 404 || status == 408
                        return FetchResult(messages: arrived.take(), complete: clean, problem: clean ? nil : "\(status) \(m.statusDescription)")
                    }
                    if let jm = JetStreamMessage(m) { arrived.append(jm) }
                    if arrived.count >= batch { return FetchResult(messages: arrived.take(), complete: true) }
                }
                return FetchResult(messages: arrived.take(), complete: false, problem: "subscription ended")
            }
        } catch let e as NATSError {
            guard case .timeout = e else { throw e }
            // The server's end-of-batch status never came (a loaded or restarting server): what
            // arrived is returned, marked incomplete, so a caller that needs every delivery in
            // order starts over from its own position.
            result = FetchResult(messages: arrived.take(), complete: false)
        }
        // A reconnection during the pull: the server may have sent messages into the old connection.
        if connection.reconnects != reconnects { result.complete = false }
        return result
    }

    public func ack(_ m: JetStreamMessage) async throws { try await connection.publish(m.replySubject, payload: Array("+ACK".utf8)) }
    /// Acknowledges and waits for the server to confirm it (a double ack).
    public func ackSync(_ m: JetStreamMessage) async throws {
        _ = try await connection.request(m.replySubject, payload: Array("+ACK".utf8), timeout: timeout)
    }
    public func nak(_ m: JetStreamMessage, delay: Duration? = nil) async throws {
        let body = delay.map { "-NAK {\"delay\":\($0.nanoseconds)}" } ?? "-NAK"
        try await connection.publish(m.replySubject, payload: Array(body.utf8))
    }
    public func inProgress(_ m: JetStreamMessage) async throws { try await connection.publish(m.replySubject, payload: Array("+WPI".utf8)) }
    public func term(_ m: JetStreamMessage) async throws { try await connection.publish(m.replySubject, payload: Array("+TERM".utf8)) }
}

/// The messages of one pull so far, shared between the reading task and its timeout.
private final class Arrived: @unchecked Sendable {
    private let lock = NSLock()
    private var messages: [JetStreamMessage] = []
    var count: Int { lock.withLock { messages.count } }
    func append(_ m: JetStreamMessage) { lock.withLock { messages.append(m) } }
    func take() -> [JetStreamMessage] { lock.withLock { defer { messages = [] }; return messages } }
}

public struct JetStreamError: Error, CustomStringConvertible {
    public var code: Int
    public var errorCode: Int
    public var description: String
}

/// A message from a pull consumer, with the metadata of its acknowledgement subject.
public struct JetStreamMessage: Sendable {
    public var message: NATSMessage
    public var replySubject: String
    public var stream: String
    public var consumer: String
    /// Times delivered (1 the first time; more after a redelivery).
    public var delivered: Int
    public var streamSequence: UInt64
    public var consumerSequence: UInt64
    public var pending: UInt64

    /// nil when the message has no `$JS.ACK` reply subject.
    init?(_ m: NATSMessage) {
        guard let reply = m.reply, reply.hasPrefix("$JS.ACK.") else { return nil }
        var t = reply.split(separator: ".").map(String.init)
        // $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>, or the v2 form
        // with <domain>.<account hash> after ACK and a random token at the end.
        if t.count >= 12 { t = Array(t[0...1]) + Array(t[4...]) }
        guard t.count >= 9, let d = Int(t[4]), let s = UInt64(t[5]), let c = UInt64(t[6]) else { return nil }
        message = m
        replySubject = reply
        stream = t[2]
        consumer = t[3]
        delivered = d
        streamSequence = s
        consumerSequence = c
        pending = UInt64(t[8]) ?? 0
    }
}

extension Duration {
    var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
}
