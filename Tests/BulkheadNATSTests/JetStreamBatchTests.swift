import BulkheadNATS
import Foundation
import NATSTestSupport
import Testing

/// What the scale-out workers need beyond the basics: ordered pipelined publishes, consumers
/// from a start sequence with ack-all, pulls that say whether they arrived whole, KV purges and
/// key listings. Against a real nats-server.
@Suite("JetStream for scale-out (real nats-server)", .serialized)
struct JetStreamBatchTests {
    /// A fresh server and a JetStream context on it, for one test.
    static func withJetStream(_ body: (NATSServerProcess, JetStream) async throws -> Void) async throws {
        guard NATSServerProcess.available() else { return }
        let server = try NATSServerProcess()
        try server.start()
        defer { server.stop() }
        let c = try await NATSConnection.connect(NATSClientTests.options([server.url]))
        try await body(server, JetStream(c))
        await c.close()
    }

    @Test("a pipelined batch is stored in order; sent again, every message is a duplicate")
    func pipelinedBatch() async throws {
        try await Self.withJetStream { _, js in
            try await js.createStream(.init(name: "T", subjects: ["t.>"]))
            let batch = (0..<2000).map { i in OutgoingMessage(subject: "t.\(i % 4)", payload: Array("m\(i)".utf8), messageID: "id-\(i)") }
            let acks = try await js.publish(batch: batch, window: 64)
            #expect(acks.map(\.sequence) == (1...2000).map(UInt64.init))
            #expect(!acks.contains { $0.duplicate })
            let again = try await js.publish(batch: Array(batch[1000...]), window: 256)
            #expect(again.allSatisfy(\.duplicate) && again.map(\.sequence) == (1001...2000).map(UInt64.init))
            #expect(try await js.messageCount("T") == 2000)
            // Read back in stream order: the payloads are in the order sent.
            try await js.createConsumer(stream: "T", .init(durable: "check"))
            var seen: [String] = []
            while seen.count < 2000 {
                let got = try await js.fetch(stream: "T", durable: "check", batch: 500, expires: .seconds(2))
                if got.isEmpty { break }
                seen += got.map(\.message.string)
                try await js.ack(got.last!)
            }
            #expect(seen == (0..<2000).map { "m\($0)" })
        }
    }

    @Test("a consumer from a start sequence with ack-all: one ack settles the batch; deleting it twice is fine")
    func startSequenceAckAll() async throws {
        try await Self.withJetStream { _, js in
            try await js.createStream(.init(name: "T", subjects: ["t.>"]))
            _ = try await js.publish(batch: (1...20).map { OutgoingMessage(subject: "t.\($0 % 2)", payload: Array("\($0)".utf8), messageID: "x\($0)") })
            var config = JetStream.ConsumerConfig(durable: "p1", filterSubject: "t.1")
            config.ackPolicy = .all
            config.startSequence = 8
            try await js.createConsumer(stream: "T", config)
            let r = try await js.fetchBatch(stream: "T", durable: "p1", batch: 100, expires: .milliseconds(500))
            #expect(r.complete && r.problem == nil)
            #expect(r.messages.map(\.streamSequence) == [9, 11, 13, 15, 17, 19])
            try await js.ackSync(r.messages.last!)
            let info = try await js.consumerInfo(stream: "T", durable: "p1")
            #expect((info["num_ack_pending"] as? Int) == 0)
            #expect(((info["ack_floor"] as? [String: Any])?["stream_seq"] as? Int) == 19)
            try await js.deleteConsumer(stream: "T", durable: "p1")
            try await js.deleteConsumer(stream: "T", durable: "p1")
            // Pulling from a consumer that is gone is no clean empty batch (the server does not answer).
            let gone = try await js.fetchBatch(stream: "T", durable: "p1", batch: 1, expires: .milliseconds(300))
            #expect(!gone.complete && gone.messages.isEmpty)
        }
    }

    @Test("a pull interrupted by a server restart says it is incomplete")
    func incompleteFetch() async throws {
        try await Self.withJetStream { server, js in
            try await js.createStream(.init(name: "T", subjects: ["t.>"]))
            try await js.createConsumer(stream: "T", .init(durable: "w"))
            async let pull = js.fetchBatch(stream: "T", durable: "w", batch: 10, expires: .seconds(4))
            try await Task.sleep(for: .milliseconds(300))
            server.kill()
            try server.start()
            let r = try await pull
            #expect(!r.complete)
            // After the reconnection a new pull is whole again.
            let next = try await NATSClientTests.retrying("pull") { try await js.fetchBatch(stream: "T", durable: "w", batch: 10, expires: .milliseconds(300)) }
            #expect(next.complete && next.messages.isEmpty)
        }
    }

    @Test("key-value: keys under a prefix, purge of one key and of a subtree leave nothing behind")
    func keysAndPurge() async throws {
        try await Self.withJetStream { _, js in
            let kv = try await KeyValue.bucket("leases", js: js)
            for k in ["worker.a", "worker.b", "lease.p0", "p3.w-a.a.0", "p3.w-a.a.1", "p3.w-b.a.0"] { try await kv.put(k, Array(k.utf8)) }
            #expect(try await kv.keys(under: "worker") == ["worker.a", "worker.b"])
            try await kv.purge("worker.a")
            #expect(try await kv.keys(under: "worker") == ["worker.b"])
            #expect(try await kv.get("worker.a") == nil)
            try await kv.purge("p3.w-a", subtree: true)
            #expect(try await kv.keys(under: "p3") == ["p3.w-b.a.0"])
            // A purged key can be created again at revision 0 (it does not exist).
            try await kv.update("worker.a", Array("again".utf8), revision: 0)
        }
    }
}
