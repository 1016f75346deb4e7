import BulkheadNATS
import Foundation
import Testing

/// Three nats-server processes in a JetStream cluster on loopback, a stream with three
/// replicas, and the node the client is connected to killed with SIGKILL mid-stream.
@Suite("NATS cluster (three real nats-servers)")
struct NATSClusterTests {
    /// Retries `body` while the cluster elects leaders (timeouts, "no responders", 503s).
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
        let clusterPorts = (0..<3).map { _ in NATSServerProcess.freePort() }
        let servers = try (0..<3).map { i in
            try NATSServerProcess(name: "n\(i + 1)", cluster: ("bulkhead", clusterPorts.enumerated().filter { $0.offset != i }.map(\.element)),
                                  clusterPort: clusterPorts[i])
        }
        for s in servers { try s.start() }
        defer { for s in servers { s.stop() } }
        let c = try await NATSConnection.connect(NATSOptions(servers: servers.map(\.url)))
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
