import BulkheadNATS
import BulkheadScaleOut
import Foundation
import NATSTestSupport
import NIOCore
import Testing
@testable import BulkheadServe

/// `serve` in NATS mode: the `nats:` settings, and a batch ingested over HTTP ends up in the
/// telemetry stream, one message per record on its partition's subject, before the 200.
@Suite("serve publishing to NATS", .serialized)
struct ServeNATSTests {
    @Test("the nats section: servers, partitions, auth from the environment; unknown keys refused")
    func settings() throws {
        var c = ServeConfig()
        try c.apply(yaml: """
        nats:
          servers: [nats://a:4222, nats://b:4222]
          partitions: 32
          partition_by: pod
          replicas: 3
          retention: 3d
          duplicate_window: 5m
        """, file: "t.yml")
        c.apply(environment: ["BULKHEAD_NATS_TOKEN": "tok-from-env-0123", "BULKHEAD_NATS_SERVERS": "nats://c:4222"])
        let n = try #require(c.nats)
        #expect(n.servers == ["nats://c:4222"] && n.partitions == 32 && n.granularity == .pod && n.replicas == 3)
        #expect(n.token == "tok-from-env-0123" && n.retention == .seconds(3 * 86_400) && n.duplicateWindow == .seconds(300))
        #expect(!"\(n)".contains("tok-from-env"))
        var bad = ServeConfig()
        #expect(throws: ServeConfig.Problem.self) { try bad.apply(yaml: "nats:\n  partitons: 4\n", file: "t.yml") }
        #expect(throws: ServeConfig.Problem.self) { try bad.apply(yaml: "nats:\n  partition_by: node\n", file: "t.yml") }
        // Without a nats section or BULKHEAD_NATS_SERVERS, serve evaluates as before.
        var plain = ServeConfig()
        plain.apply(environment: ["BULKHEAD_NATS_TOKEN": "x"])
        #expect(plain.nats == nil)
    }

    @Test("an ingested EventList is published record by record to its partitions; a replay stores nothing twice")
    func publishes() async throws {
        guard NATSServerProcess.available() else { return }
        let server = try NATSServerProcess(extra: ["--auth", "nats-token-0123456789"])
        try server.start()
        defer { server.stop() }
        var config = ServeSupport.config()
        var nats = ScaleOutConfig()
        nats.servers = [server.url]
        nats.token = "nats-token-0123456789"
        config.nats = nats
        let service = try await ServeSupport.start(config)
        let r = try await service.ingest(try ServeSupport.auditEventList(), endpoint: "k8s-audit", format: nil)
        #expect(r.records > 0 && r.published == r.records && r.alerts == 0)

        var o = NATSOptions(servers: [server.url], token: "nats-token-0123456789")
        o.connectTimeout = .seconds(20)
        let c = try await NATSConnection.connect(o)
        let js = JetStream(c)
        #expect(try await js.messageCount(nats.telemetryStream) == r.records)
        try await js.createConsumer(stream: nats.telemetryStream, .init(durable: "check"))
        let got = try await js.fetch(stream: nats.telemetryStream, durable: "check", batch: 100, expires: .seconds(2))
        #expect(got.count == r.records)
        let partitioner = nats.partitioner
        for m in got {
            // <prefix>.<format>.<partition>, the partition the record's namespace hashes to.
            let parts = m.message.subject.split(separator: ".")
            #expect(parts.count == 4 && parts[2] == "k8s_audit")
            let o = try #require(try JSONSerialization.jsonObject(with: Data(m.message.payload)) as? [String: Any])
            let ns = (o["objectRef"] as? [String: Any])?["namespace"] as? String
            if let ns { #expect(Int(parts[3]) == partitioner.partition(ofKey: "k8s//\(ns)")) }
            #expect(m.message.header("Bulkhead-Format") == "k8s_audit")
        }
        // The same spooled batch published again (a replay after a crash) is all duplicates.
        let routed = got.map { RoutedRecord(partition: Int($0.message.subject.split(separator: ".")[3])!, source: "k8s_audit", kind: 0, bytes: $0.message.payload) }
        let publisher = try #require(service.publisher)
        #expect(try await publisher.publish(routed, batch: "replayed") == 0)
        #expect(try await publisher.publish(routed, batch: "replayed") == routed.count)
        await service.shutdown()
        await c.close()
    }
}
