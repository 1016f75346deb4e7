import BulkheadNATS
import Foundation
import NATSTestSupport
import Testing

/// The NATS client against real nats-server processes on loopback. One test at a time: each
/// starts its own servers, and a loaded test run must not delay their handshakes.
@Suite("NATS client (real nats-server)", .serialized)
struct NATSClientTests {
    /// Generous handshake time: the rest of the test run shares these two cores.
    static func options(_ servers: [String], token: String? = nil) -> NATSOptions {
        var o = NATSOptions(servers: servers, token: token)
        o.connectTimeout = .seconds(20)
        return o
    }

    @Test("publish and subscribe with headers and a large payload; request/reply; flush")
    func pubSubRequest() async throws {
        guard NATSServerProcess.available() else { return }
        let server = try NATSServerProcess()
        try server.start()
        defer { server.stop() }
        let c = try await NATSConnection.connect(Self.options([server.url]))
        let sub = try await c.subscribe("telemetry.>")
        let big = [UInt8]((0..<(512 << 10)).map { UInt8($0 % 251) })
        try await c.publish("telemetry.k8s.3", payload: Array("hello".utf8))
        try await c.publish("telemetry.falco.1", payload: big, headers: [("Bulkhead-Source", "falco"), ("X-Two", "a b")])
        var it = sub.messages.makeAsyncIterator()
        let first = try #require(await it.next())
        #expect(first.subject == "telemetry.k8s.3" && first.string == "hello" && first.headers.isEmpty)
        let second = try #require(await it.next())
        #expect(second.payload == big)
        #expect(second.header("bulkhead-source") == "falco" && second.header("X-Two") == "a b")

        // A responder on a queue group; the request gets its reply.
        let responder = try await c.subscribe("svc.echo", queue: "workers")
        let task = Task {
            for await m in responder.messages {
                if let r = m.reply { try await c.publish(r, payload: Array(("echo: " + m.string).utf8)) }
            }
        }
        try await c.flush()
        let reply = try await c.request("svc.echo", payload: Array("ping".utf8), timeout: .seconds(2))
        #expect(reply.string == "echo: ping")
        // No responder: the server says so at once (no_responders) instead of a timeout.
        await #expect(throws: NATSError.self) { try await c.request("svc.nobody", payload: [], timeout: .seconds(2)) }
        // Invalid subjects and header injection are refused before anything is sent.
        await #expect(throws: NATSError.self) { try await c.publish("bad subject", payload: []) }
        await #expect(throws: NATSError.self) { try await c.publish("ok", payload: [], headers: [("X", "a\r\nPUB evil 0")]) }
        task.cancel()
        await c.close()
    }

    @Test("token authentication: the right token connects, a wrong one is refused")
    func tokenAuth() async throws {
        guard NATSServerProcess.available() else { return }
        let server = try NATSServerProcess(extra: ["--auth", "s3cret-token-0123"])
        try server.start()
        defer { server.stop() }
        let good = try await NATSConnection.connect(Self.options([server.url], token: "s3cret-token-0123"))
        try await good.flush()
        await good.close()
        await #expect(throws: NATSError.self) {
            _ = try await NATSConnection.connect(Self.options([server.url], token: "wrong"))
        }
    }

    @Test("the server is killed and restarted: the client reconnects and its subscription goes on")
    func reconnect() async throws {
        guard NATSServerProcess.available() else { return }
        let server = try NATSServerProcess()
        try server.start()
        defer { server.stop() }
        let c = try await NATSConnection.connect(Self.options([server.url]))
        let sub = try await c.subscribe("after.restart")
        try await c.flush()
        server.kill()
        try server.start()
        // The publish waits for the reconnection (reconnectTimeout), then goes out.
        try await c.publish("after.restart", payload: Array("still here".utf8))
        var it = sub.messages.makeAsyncIterator()
        let m = try #require(await it.next())
        #expect(m.string == "still here")
        #expect(c.reconnects >= 1)
        await c.close()
    }

    @Test("JetStream: stream, publish acks with de-duplication, pull consumer fetch, ack, redelivery after ack_wait, nak")
    func jetStream() async throws {
        guard NATSServerProcess.available() else { return }
        let server = try NATSServerProcess()
        try server.start()
        defer { server.stop() }
        let c = try await NATSConnection.connect(Self.options([server.url]))
        let js = JetStream(c)
        try await js.createStream(.init(name: "TELEMETRY", subjects: ["bulkhead.telemetry.>"]))
        try await js.createStream(.init(name: "TELEMETRY", subjects: ["bulkhead.telemetry.>"]))   // again: kept
        for i in 1...5 {
            let ack = try await js.publish("bulkhead.telemetry.k8s_audit.\(i % 2)", payload: Array("record \(i)".utf8), messageID: "r\(i)")
            #expect(ack.stream == "TELEMETRY" && ack.sequence == UInt64(i) && !ack.duplicate)
        }
        let again = try await js.publish("bulkhead.telemetry.k8s_audit.1", payload: Array("record 1".utf8), messageID: "r1")
        #expect(again.duplicate && again.sequence == 1)
        #expect(try await js.messageCount("TELEMETRY") == 5)
        // Read by sequence, whatever consumers did: what a downstream check can trust.
        #expect(try await js.lastSequence("TELEMETRY") == 5)
        let stored = try #require(try await js.storedMessage("TELEMETRY", sequence: 4))
        #expect(stored.sequence == 4 && stored.subject == "bulkhead.telemetry.k8s_audit.0" && stored.payload == Array("record 4".utf8))
        #expect(try await js.storedMessage("TELEMETRY", sequence: 6) == nil)

        var config = JetStream.ConsumerConfig(durable: "worker-0")
        config.ackWait = .seconds(1)
        try await js.createConsumer(stream: "TELEMETRY", config)
        let first = try await js.fetch(stream: "TELEMETRY", durable: "worker-0", batch: 3)
        try #require(first.map(\.streamSequence) == [1, 2, 3])
        #expect(first.allSatisfy { $0.delivered == 1 && $0.stream == "TELEMETRY" && $0.consumer == "worker-0" })
        try await js.ackSync(first[0])
        try await js.ackSync(first[1])
        // first[2] is not acknowledged: it comes back after ack_wait.
        try await Task.sleep(for: .milliseconds(1500))
        // On a loaded machine (a three-node cluster may be running alongside) the redelivery
        // can come after the first pull ends: pull until all three came, within bounds.
        var second: [JetStreamMessage] = []
        let deadline = ContinuousClock.now + .seconds(30)
        while Set(second.map(\.streamSequence)) != [3, 4, 5], ContinuousClock.now < deadline {
            second += try await js.fetch(stream: "TELEMETRY", durable: "worker-0", batch: 10)
        }
        #expect(second.map(\.streamSequence).sorted() == [3, 4, 5])
        #expect(second.first { $0.streamSequence == 3 }?.delivered == 2)
        // A nak redelivers at once.
        let five = try #require(second.first { $0.streamSequence == 5 })
        for m in second where m.streamSequence != 5 { try await js.ackSync(m) }
        try await js.nak(five)
        // The server handles acks apart from pull requests, so a pull sent right after the nak
        // can end before it: pull again, within bounds.
        var third: [JetStreamMessage] = []
        while third.isEmpty, ContinuousClock.now < deadline + .seconds(30) {
            third = try await js.fetch(stream: "TELEMETRY", durable: "worker-0", batch: 10)
        }
        #expect(third.map(\.streamSequence) == [5])
        try await js.ackSync(try #require(third.first))
        let empty = try await js.fetch(stream: "TELEMETRY", durable: "worker-0", batch: 10, expires: .milliseconds(300))
        #expect(empty.isEmpty)
        await c.close()
    }

    @Test("key-value bucket: put, get, update only at the expected revision, delete")
    func keyValue() async throws {
        guard NATSServerProcess.available() else { return }
        let server = try NATSServerProcess()
        try server.start()
        defer { server.stop() }
        let c = try await NATSConnection.connect(Self.options([server.url]))
        let kv = try await KeyValue.bucket("checkpoints", js: JetStream(c), history: 5)
        #expect(try await kv.get("partition-3") == nil)
        let r1 = try await kv.put("partition-3", Array("state v1".utf8))
        let got = try #require(try await kv.get("partition-3"))
        #expect(got.value == Array("state v1".utf8) && got.revision == r1)
        let r2 = try await kv.update("partition-3", Array("state v2".utf8), revision: r1)
        #expect(r2 > r1)
        // A stale writer (still at r1) is refused.
        await #expect(throws: JetStreamError.self) { try await kv.update("partition-3", Array("stale".utf8), revision: r1) }
        #expect(try await kv.get("partition-3")?.value == Array("state v2".utf8))
        try await kv.delete("partition-3")
        #expect(try await kv.get("partition-3") == nil)
        await #expect(throws: NATSError.self) { try await kv.put("bad key!", []) }
        await c.close()
    }

    /// Retries `body` while the cluster elects leaders (timeouts, "no responders", 503s).
    @discardableResult
    static func retrying<T>(_ what: String, seconds: Double = 20, _ body: () async throws -> T) async throws -> T {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            do { return try await body() } catch {
                if Date() > deadline { throw error }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    @Test("a replicated stream keeps every message when the connected node is killed; publishes resent with the same Nats-Msg-Id are stored once")
    func nodeFailure() async throws {
        guard NATSServerProcess.available() else { return }
        let servers = try NATSServerProcess.cluster()
        for s in servers { try s.start() }
        defer { for s in servers { s.stop() } }
        let c = try await NATSConnection.connect(Self.options(servers.map(\.url)))
        var js = JetStream(c)
        js.timeout = .seconds(2)
        var config = JetStream.StreamConfig(name: "TELEMETRY", subjects: ["bulkhead.telemetry.>"])
        config.replicas = 3
        try await Self.retrying("stream create") { try await js.createStream(config) }
        try await Self.retrying("consumer create") {
            try await js.createConsumer(stream: "TELEMETRY", .init(durable: "worker-0"))
        }

        var acked = Set<UInt64>()
        func publish(_ range: ClosedRange<Int>) async throws {
            for i in range {
                // A publish whose ack was lost is sent again with the same id: stored once.
                _ = try await Self.retrying("publish \(i)") {
                    try await js.publish("bulkhead.telemetry.k8s_audit.\(i % 4)", payload: Array("record \(i)".utf8), messageID: "record-\(i)")
                }
            }
        }
        func consume(until count: Int) async throws {
            let deadline = Date().addingTimeInterval(30)
            while acked.count < count && Date() < deadline {
                let batch = (try? await js.fetch(stream: "TELEMETRY", durable: "worker-0", batch: 25, expires: .milliseconds(500))) ?? []
                for m in batch {
                    if (try? await js.ackSync(m)) != nil { acked.insert(m.streamSequence) }
                }
            }
        }
        try await publish(1...50)
        try await consume(until: 20)
        #expect(acked.count >= 20)

        // The client is on the first server it listed: kill that node without a goodbye.
        servers[0].kill()
        try await publish(51...100)
        try await consume(until: 100)
        #expect(acked == Set(1...100))
        #expect(c.reconnects >= 1)
        let stored = try await Self.retrying("stream info") { try await js.messageCount("TELEMETRY") }
        #expect(stored == 100)
        await c.close()
    }
}
