import BulkheadNATS
import BulkheadScaleOut
import Foundation
import NATSTestSupport
import Testing

/// Issue 9's failure test: a three-node nats-server cluster on loopback (JetStream, replicas
/// 3), real `bulkhead worker` processes, a known audit stream whose expected alerts come from a
/// plain `bulkhead scan` of the same records. A worker is killed with SIGKILL mid-stream, then
/// the node the workers are connected to; a third worker joins at the end (partitions handed
/// over). The alert ids in `bulkhead.alerts` must be exactly the expected set: nothing lost,
/// and the duplicates the replay causes recognised by id.
@Suite("Scale-out failover (real nats-server cluster, real workers)", .serialized)
struct FailoverTests {
    static let partitions = 16

    @Test("SIGKILL of a worker and of a server node mid-stream: exactly the expected alert ids")
    func failover() async throws {
        guard NATSServerProcess.available() else { return }
        guard BulkheadProcess.binary != nil else {
            Issue.record("the bulkhead binary was not found next to the tests (set BULKHEAD_BIN)")
            return
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bulkhead-failover-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let rules = dir.appendingPathComponent("rules")
        try AuditStream.rules(into: rules)
        let lines = try AuditStream.lines(count: 3000)
        let phases = [0..<1800, 1800..<2400, 2400..<3000].enumerated().map { i, r -> URL in
            let url = dir.appendingPathComponent("phase\(i + 1).jsonl")
            _ = FileManager.default.createFile(atPath: url.path, contents: Data((lines[r].joined(separator: "\n") + "\n").utf8))
            return url
        }
        let all = dir.appendingPathComponent("all.jsonl")
        _ = FileManager.default.createFile(atPath: all.path, contents: Data((lines.joined(separator: "\n") + "\n").utf8))

        // The expected alerts: one plain scan of the same records.
        let scan = try BulkheadProcess.run(["scan", "--rules", rules.path, "--output", "jsonl", "--quiet", "--workers", "1", all.path],
                                           log: dir.appendingPathComponent("scan.log"))
        let expectedLines = String(decoding: scan.stdout, as: UTF8.self).split(separator: "\n").map(String.init)
        let expected = Set(try expectedLines.map(Self.alertID))
        #expect(expected.count > 100)
        // The comparison covers state: correlation and new-terms alerts are among them.
        #expect(expectedLines.contains { $0.contains("7e57e57e-0000-4000-8000-000000000002") })
        #expect(expectedLines.contains { $0.contains("7e57e57e-0000-4000-8000-000000000003") })

        let servers = try NATSServerProcess.cluster()
        for s in servers { try s.start() }
        var workers: [String: BulkheadProcess] = [:]
        defer {
            for w in workers.values { w.kill() }
            for s in servers { s.stop() }
            if !Self.failed { try? FileManager.default.removeItem(at: dir) }
        }
        let urls = servers.map(\.url)
        var options = NATSOptions(servers: urls)
        options.connectTimeout = .seconds(20)
        let c = try await NATSConnection.connect(options)
        var js = JetStream(c)
        js.timeout = .seconds(3)
        // Streams made here: a one-second duplicate window, so that the replay's duplicates
        // reach the stream and downstream de-duplication by id is what is tested.
        var config = ScaleOutConfig()
        config.servers = urls
        config.replicas = 3
        config.duplicateWindow = .seconds(1)
        try await Self.retrying { try await config.ensureStreams(js) }

        func start(_ id: String, checkpoint: [String]) throws -> BulkheadProcess {
            var args = ["worker", "--worker-id", id, "--replicas", "3", "--rules", rules.path, "--lease-ttl", "3s", "--batch", "32",
                        "--stats-interval", "2s", "--log-format", "json"]
            for u in urls { args += ["--nats-server", u] }
            return try BulkheadProcess(args + checkpoint, log: dir.appendingPathComponent("\(id).log"))
        }
        func publish(_ file: URL) throws {
            var args = ["publish", "--replicas", "3", "--quiet", file.path]
            for u in urls { args += ["--nats-server", u] }
            let r = try BulkheadProcess.run(args, log: dir.appendingPathComponent("publish-\(file.lastPathComponent).log"))
            #expect(r.status == 0, "publish \(file.lastPathComponent)")
        }
        // Worker A never checkpoints after it starts: everything it did is replayed after its death.
        workers["wa"] = try start("wa", checkpoint: ["--checkpoint-interval", "600s", "--checkpoint-records", "1000000"])
        workers["wb"] = try start("wb", checkpoint: ["--checkpoint-interval", "1s", "--checkpoint-records", "200"])
        let kv = try await Self.retrying { try await KeyValue.bucket("bulkhead-leases", js: js, replicas: 3) }
        // Balanced and stable (8 each) before any record: A's partitions stay A's until it dies.
        guard await eventually("the workers share the partitions 8 and 8", seconds: 60, {
            let owners = try await Self.owners(kv)
            return owners.count == Self.partitions && owners.values.filter { $0 == "wa" }.count == Self.partitions / 2
                && owners.values.filter { $0 == "wb" }.count == Self.partitions / 2
        }) else { return }

        // Bad input among the records: a message without format headers, and a record that is
        // not JSON. Each is reported, terminated and skipped; the stream goes on.
        _ = try await js.publish("bulkhead.telemetry.k8s_audit.3", payload: Array("not a record".utf8), messageID: "bad-1")
        _ = try await js.publish("bulkhead.telemetry.k8s_audit.5", payload: Array(#"{"truncated":"#.utf8), messageID: "bad-2",
                                 headers: [("Bulkhead-Format", "k8s_audit"), ("Bulkhead-Kind", "0")])
        try publish(phases[0])
        let ownedByA = Set(try await Self.owners(kv).filter { $0.value == "wa" }.keys)
        var reader = AlertReader(js: js)
        // Mid-stream: A has published some of its partitions' alerts, and most are still to come.
        guard await eventually("worker A publishes alerts", seconds: 60, {
            try await reader.read()
            return reader.partitions.intersection(ownedByA).count > 0 && reader.unique.count >= expected.count / 5
        }) else { return }
        workers["wa"]?.kill()
        try publish(phases[1])
        guard await eventually("worker B takes over every partition", seconds: 60, { Set(try await Self.owners(kv).values) == ["wb"] }) else { return }

        // The node the workers reached first goes down without a goodbye.
        servers[0].kill()
        // Streams can be created again once the cluster has a meta leader.
        _ = await eventually("the cluster takes writes again", seconds: 60) { (try? await config.ensureStreams(js)) != nil }
        try publish(phases[2])
        // A new worker joins: B hands half its partitions over (checkpoint, then release).
        workers["wc"] = try start("wc", checkpoint: ["--checkpoint-interval", "1s", "--checkpoint-records", "200"])
        _ = await eventually("all expected alerts published", seconds: 90) {
            try await reader.read()
            return reader.unique.isSuperset(of: expected)
        }
        let caughtUp = await eventually("every partition processed to the end, shared by B and C", seconds: 60) {
            let owners = try await Self.owners(kv)
            guard owners.count == Self.partitions, Set(owners.values) == ["wb", "wc"] else { return false }
            return try await Self.allCaughtUp(js, owners: owners)
        }
        try await reader.read()
        let missing = expected.subtracting(reader.unique)
        let unexpected = reader.unique.subtracting(expected)
        #expect(missing.isEmpty, "\(missing.count) expected alerts never published")
        #expect(unexpected.isEmpty, "\(unexpected.count) alerts not in the scan's output")
        // The replay of A's partitions happened and its duplicates were recognised by id.
        #expect(reader.total > reader.unique.count, "no duplicate reached the stream: A's work was not replayed")
        #expect(workers["wb"]?.output.contains("\"from\":\"wa\"") == true || workers["wb"]?.output.contains("from=wa") == true)
        let logs = workers.values.map(\.output).joined()
        #expect(logs.contains("malformed message on the stream") && logs.contains("bad record on the stream"))
        var alive = true
        for (id, w) in workers.sorted(by: { $0.key < $1.key }) where id != "wa" {
            if !w.isRunning {
                alive = false
                Issue.record("\(id) died: \(w.output.split(separator: "\n").suffix(5).joined(separator: "\n"))")
            }
            w.terminate()
        }
        if missing.isEmpty && unexpected.isEmpty && caughtUp && alive {
            Self.failed = false
        } else {
            // For the post-mortem: what the alerts stream holds, and the scan's lines it lacks.
            try? (reader.stored.joined(separator: "\n") + "\n").write(to: dir.appendingPathComponent("alerts-stream.txt"), atomically: true, encoding: .utf8)
            let lacking = expectedLines.filter { (try? missing.contains(Self.alertID($0))) == true }
            try? (lacking.joined(separator: "\n") + "\n").write(to: dir.appendingPathComponent("missing.jsonl"), atomically: true, encoding: .utf8)
        }
        let stats = "alerts: \(expected.count) expected, \(reader.unique.count) unique published, \(reader.total - reader.unique.count) duplicates"
        FileHandle.standardError.write(Data("failover: \(stats)\(Self.failed ? "; logs kept in \(dir.path)" : "")\n".utf8))
        await c.close()
    }

    nonisolated(unsafe) static var failed = true

    /// The id of one JSON-lines alert of `bulkhead scan`, computed as workers compute it.
    static func alertID(_ line: String) throws -> String {
        guard let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let rule = (o["rule"] as? [String: Any])?["id"] as? String, let source = o["source"] as? String,
              let event = JSONMember.raw("event", in: line) else { throw CocoaError(.coderReadCorrupt) }
        return AlertIdentity.id(ruleID: rule, source: source, event: event)
    }

    /// partition → owner, from the lease bucket.
    static func owners(_ kv: KeyValue) async throws -> [Int: String] {
        var out: [Int: String] = [:]
        for p in 0..<partitions {
            guard let e = try await kv.get("lease.p\(p)"),
                  let owner = (try JSONSerialization.jsonObject(with: Data(e.value)) as? [String: Any])?["owner"] as? String, !owner.isEmpty else { continue }
            out[p] = owner
        }
        return out
    }

    /// Every owner's consumer has delivered and had acknowledged everything in its partition.
    static func allCaughtUp(_ js: JetStream, owners: [Int: String]) async throws -> Bool {
        for (p, owner) in owners {
            let info = try await js.consumerInfo(stream: "BULKHEAD_TELEMETRY", durable: ScaleOutSubjects.consumer(partition: p, owner: owner))
            guard info["num_pending"] as? Int == 0, info["num_ack_pending"] as? Int == 0 else { return false }
        }
        return true
    }

    static func retrying<T>(_ body: () async throws -> T) async throws -> T {
        let deadline = Date().addingTimeInterval(30)
        while true {
            do { return try await body() } catch {
                if Date() > deadline { throw error }
                try await Task.sleep(for: .milliseconds(250))
            }
        }
    }
}

/// Downstream: reads `BULKHEAD_ALERTS` message by message, by stream sequence, and
/// de-duplicates by alert id. Reading what the stream stores, rather than what a consumer
/// delivers, keeps the reader's own delivery losses out of the check: an ack-all pull consumer
/// acknowledges deliveries lost in flight (a reconnection, a fetch that timed out) with the next
/// batch's ack, and they never come again.
struct AlertReader {
    let js: JetStream
    var unique = Set<String>()
    var total = 0
    var partitions = Set<Int>()
    /// Stream sequence to read next.
    var next: UInt64 = 1
    /// One line per stored alert (sequence, partition, id, rule), kept with the logs on failure.
    var stored: [String] = []

    mutating func read() async throws {
        let last = try await js.lastSequence("BULKHEAD_ALERTS")
        while next <= last {
            // A failed read throws before `next` moves: the caller polls again from here.
            if let m = try await js.storedMessage("BULKHEAD_ALERTS", sequence: next) {
                let o = try? JSONSerialization.jsonObject(with: Data(m.payload)) as? [String: Any]
                let id = o?["id"] as? String ?? "?"
                let p = o?["partition"] as? Int ?? -1
                total += 1
                unique.insert(id)
                if p >= 0 { partitions.insert(p) }
                stored.append("\(m.sequence) p\(p) \(id) \(((o?["rule"] as? [String: Any])?["id"] as? String) ?? "?")")
            }
            next += 1
        }
    }
}
