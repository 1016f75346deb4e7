import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization
import Testing
@testable import BulkheadServe

/// A webhook receiver on loopback that refuses until told to accept, and records what it got.
final class Receiver: Sendable {
    let accepting = Mutex(false)
    let received = Mutex<[String]>([])
    let refused = Mutex(0)

    func start() async throws -> (port: Int, task: Task<Void, any Error>) {
        let router = Router()
        router.post("/hook") { [self] request, _ in
            var request = request
            let body = try await request.collectBody(upTo: 1 << 20)
            guard accepting.withLock({ $0 }) else {
                refused.withLock { $0 += 1 }
                return Response(status: .serviceUnavailable)
            }
            received.withLock { $0.append(String(buffer: body)) }
            return Response(status: .ok)
        }
        let port = Mutex<Int?>(nil)
        var logger = Logger(label: "receiver")
        logger.logLevel = .critical
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in port.withLock { $0 = channel.localAddress?.port } }, logger: logger)
        let task = Task { try await app.runService(gracefulShutdownSignals: []) }
        for _ in 0..<200 {
            if let p = port.withLock({ $0 }) { return (p, task) }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw StoreError("receiver did not start")
    }
}

@Suite("serve: sinks")
struct SinkTests {
    @Test("webhook: alerts wait in the on-disk spool while the receiver is down, then arrive in order")
    func webhookSpoolAndRetry() async throws {
        let receiver = Receiver()
        let (port, task) = try await receiver.start()
        defer { task.cancel() }
        var c = ServeSupport.config()
        var sink = ServeConfig.SinkConfig(kind: .webhook)
        sink.url = "http://127.0.0.1:\(port)/hook"
        sink.headers = ["Authorization": "Bearer receiver-secret"]
        sink.minLevel = .high
        c.sinks = [sink]
        let service = try await ServeSupport.start(c)
        let r = try await service.ingest(try ServeSupport.auditEventList(), endpoint: "k8s-audit", format: nil)
        #expect(r.alerts > 0)
        let high = try await service.store.list({ var f = AlertFilter(); f.minLevel = .high; return f }())
        #expect(high.total > 0)
        // The receiver refuses: nothing delivered, everything spooled on disk.
        try await Task.sleep(for: .milliseconds(500))
        #expect(receiver.refused.withLock { $0 } >= 1)
        let spooled = try FileManager.default.subpathsOfDirectory(atPath: c.spoolDir).filter { $0.hasSuffix(".json") }
        #expect(spooled.count == high.total)
        receiver.accepting.withLock { $0 = true }
        // Backoff is 1 s, then 2 s: delivered within a few seconds. The sink counts a delivery
        // (and removes its spool file) after the receiver's answer: wait for that too.
        let delivered = { service.metrics.value("bulkhead_sink_delivered_total", [("sink", "webhook:127.0.0.1")]) }
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline, receiver.received.withLock({ $0.count }) < high.total || delivered() < Double(high.total) {
            try await Task.sleep(for: .milliseconds(100))
        }
        let got = receiver.received.withLock { $0 }
        #expect(got.count == high.total)
        let ids = got.compactMap { body -> Int? in
            guard let o = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] else { return nil }
            return o["id"] as? Int
        }
        #expect(ids == ids.sorted() && ids.count == got.count)
        #expect(got.allSatisfy { $0.contains("\"id\":") && ($0.contains("\"level\":\"high\"") || $0.contains("\"level\":\"critical\"")) })
        #expect(try FileManager.default.subpathsOfDirectory(atPath: c.spoolDir).filter { $0.hasSuffix(".json") }.isEmpty)
        #expect(delivered() == Double(high.total))
        await service.shutdown()
    }

    @Test("webhook spool is bounded: the oldest alerts go first and are counted")
    func spoolBound() async throws {
        var c = ServeSupport.config()
        var sink = ServeConfig.SinkConfig(kind: .slack)
        sink.url = "http://127.0.0.1:9/never"   // discard port: nothing listens
        sink.spoolMaxBytes = 600
        c.sinks = [sink]
        let service = try await ServeSupport.start(c)
        _ = try await service.ingest(try ServeSupport.auditEventList(), endpoint: "k8s-audit", format: nil)
        let files = try FileManager.default.subpathsOfDirectory(atPath: c.spoolDir).filter { $0.hasSuffix(".json") }
        let bytes = try files.reduce(0) { $0 + (try FileManager.default.attributesOfItem(atPath: c.spoolDir + "/" + $1)[.size] as? Int ?? 0) }
        #expect(bytes <= 600)
        #expect(service.metrics.value("bulkhead_sink_dropped_total", [("sink", "slack:127.0.0.1")]) > 0)
        await service.shutdown()
    }

    @Test("sinks get each new alert once; include_event: false keeps the record out of the payload")
    func fileSinkPayload() async throws {
        var c = ServeSupport.config()
        var full = ServeConfig.SinkConfig(kind: .file)
        full.path = c.dataDir + "/full.jsonl"
        var lean = ServeConfig.SinkConfig(kind: .file)
        lean.path = c.dataDir + "/lean.jsonl"
        lean.includeEvent = false
        c.sinks = [full, lean]
        let service = try await ServeSupport.start(c)
        let first = try await service.ingest(try ServeSupport.auditEventList(), endpoint: "k8s-audit", format: nil)
        _ = try await service.ingest(try ServeSupport.auditEventList(), endpoint: "k8s-audit", format: nil)   // repeats: counted, not resent
        await service.shutdown()
        let stored = try await ServeSupport.start(c)
        let total = try await stored.store.list(AlertFilter()).total
        await stored.shutdown()
        for (path, withEvent) in [(full.path!, true), (lean.path!, false)] {
            let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
            #expect(lines.count == total && total <= first.alerts)
            for l in lines {
                let o = try #require(try JSONSerialization.jsonObject(with: Data(l.utf8)) as? [String: Any])
                #expect((o["event"] != nil) == withEvent)
                #expect(o["id"] is Int && o["rule"] != nil && o["entity"] != nil)
            }
        }
    }

    @Test("file sink rotates past its size and keeps the newest files")
    func rotatingFile() async throws {
        let dir = ServeSupport.tempDir()
        let sink = RotatingFileSink(path: dir + "/alerts.jsonl", maxBytes: 4096, keep: 2, minLevel: .informational, logger: Logger(label: "t"))
        for i in 0..<100 {
            await sink.send(SinkPayload(id: Int64(i), level: .high, title: "t", entityLabel: "e", ruleID: "r", json: "{\"id\":\(i),\"pad\":\"\(String(repeating: "x", count: 100))\"}"))
        }
        await sink.stop()
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        #expect(files == ["alerts.jsonl", "alerts.jsonl.1", "alerts.jsonl.2"])
        for f in files { #expect(try FileManager.default.attributesOfItem(atPath: dir + "/" + f)[.size] as? Int ?? 0 <= 4096) }
        let last = try String(contentsOfFile: dir + "/alerts.jsonl", encoding: .utf8)
        #expect(last.contains("\"id\":99"))
    }
}
