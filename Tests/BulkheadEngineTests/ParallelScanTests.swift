import BulkheadEngine
import BulkheadRules
import BulkheadScan
import BulkheadSinks
import Foundation
import Testing

/// A parallel scan must give exactly what a sequential one gives: the same alerts in the same
/// order with the same line numbers, the same bad-record reports and the same counts.
@Suite struct ParallelScanTests {
    struct Outcome: Equatable {
        var alerts: [String]
        var problems: [String]
        var records: Int
        var bad: Int
        var bySource: [String: Int]

        /// The first difference, short enough to read in a test log.
        func difference(from o: Outcome) -> String? {
            for (name, a, b) in [("alert", alerts, o.alerts), ("problem", problems, o.problems)] {
                if let i = zip(a, b).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
                    let at = zip(a[i], b[i]).prefix(while: { $0 == $1 }).count
                    return "\(name) \(i) differs at character \(at): …\(a[i].dropFirst(max(0, at - 200)).prefix(400)) versus …\(b[i].dropFirst(max(0, at - 200)).prefix(400))"
                }
                if a.count != b.count { return "\(a.count) versus \(b.count) \(name)s; extra: \((a.count > b.count ? a[b.count] : b[a.count]).prefix(300))" }
            }
            if self != o { return "records \(records)/\(o.records), bad \(bad)/\(o.bad), by source \(bySource)/\(o.bySource)" }
            return nil
        }
    }

    static func scan(_ set: RuleSet, paths: [String], workers: Int, batchBytes: Int, maxLineBytes: Int = 16 << 20) -> Outcome {
        var options = ScanOptions()
        options.workers = workers
        options.batchBytes = batchBytes
        options.maxLineBytes = maxLineBytes
        options.maxReportedProblems = 100_000
        let renderer = AlertRenderer(format: .jsonl)
        var alerts: [String] = [], problems: [String] = []
        let pipeline = ScanPipeline(engine: Engine(ruleSet: set), options: options,
                                    onAlert: { alerts.append(renderer.render($0)) }, onProblem: { problems.append($0) })
        pipeline.scan(paths: paths)
        return Outcome(alerts: alerts, problems: problems, records: pipeline.stats.records,
                       bad: pipeline.stats.badRecords, bySource: pipeline.stats.recordsBySource)
    }

    static func write(_ files: [String: [UInt8]]) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bulkhead-parallel-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (name, bytes) in files { try Data(bytes).write(to: dir.appendingPathComponent(name)) }
        return dir
    }

    /// Good, bad, blank, CRLF, overlong, wrapped and non-object lines, interleaved (the first
    /// line is a good record, so the input is read as JSON lines).
    static func hostileLines() -> [UInt8] {
        var out: [UInt8] = []
        for n in 0..<400 {
            switch n % 11 {
            case 10: out += Array(#"{"kind":"Event","auditID":"trunc"#.utf8)
            case 1: out += Array("   ".utf8)
            case 2: out += Array(auditEvent(n % 10, subresource: "log").utf8) + [0x0D]
            case 3: out += Array(#"{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":["#.utf8) + Array(auditEvent(n % 10).utf8) + Array("]}".utf8)
            case 4: out += Array("[1,2]".utf8)
            case 5: out += Array(#"{"pad":""#.utf8) + Array(repeating: UInt8(ascii: "x"), count: 3000) + Array(#""}"#.utf8)
            case 6: out += [0x7B, 0x22, 0x61, 0x22, 0x3A, 0x22, 0xC3, 0x28, 0x22, 0x7D]
            default: out += Array(auditEvent(n % 10, subresource: n % 3 == 0 ? "exec" : "attach").utf8)
            }
            out.append(0x0A)
        }
        out += Array(auditEvent(7).utf8)  // no newline at the end
        return out
    }

    @Test(arguments: [(2, 64), (2, 700), (3, 5000), (2, 1 << 20)])
    func sameAsSequentialOnHostileInput(workers: Int, batchBytes: Int) throws {
        let set = RuleSet(documents: RuleLoader().load(yaml: execRule, file: "rules.yml").documents)
        let lines = Self.hostileLines()
        let dir = try Self.write(["a.log": lines, "b.log.gz": gzip(lines)])
        defer { try? FileManager.default.removeItem(at: dir) }
        let sequential = Self.scan(set, paths: [dir.path], workers: 1, batchBytes: batchBytes, maxLineBytes: 2000)
        let parallel = Self.scan(set, paths: [dir.path], workers: workers, batchBytes: batchBytes, maxLineBytes: 2000)
        #expect(sequential.alerts.count > 100)
        #expect(sequential.bad > 50)
        #expect(sequential.problems.contains { $0.contains("line longer than 2000 bytes") })
        #expect(parallel.difference(from: sequential) == nil)
    }

    /// The whole pack over the bundled attack story: correlation, baselines, the telemetry-gap
    /// analytic and the inventory see every record in order.
    @Test func sameAsSequentialWithThePack() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let loaded = RuleFiles.load([root.appendingPathComponent("Detections").path])
        let set = RuleSet(documents: loaded.documents)
        // The attack story, then every detection's firing and silent samples (many formats).
        let inputs = [root.appendingPathComponent("Examples/attack-story").path, root.appendingPathComponent("Detections").path]
        let sequential = Self.scan(set, paths: inputs, workers: 1, batchBytes: 512)
        #expect(sequential.alerts.count >= 500)
        for (workers, batch) in [(2, 512), (3, 200)] {
            let parallel = Self.scan(set, paths: inputs, workers: workers, batchBytes: batch)
            #expect(parallel.difference(from: sequential) == nil, "workers \(workers), batch \(batch) bytes")
        }
    }

    /// A live input (`tail -f audit.log | bulkhead scan -`): the lines sent so far are matched and
    /// their alerts delivered while the writer keeps the pipe open, not when a batch fills up or
    /// the input ends. Every chunk end is reported, and a caught-up pipe says so.
    @Test(arguments: [1, 2])
    func liveInputAlertsBeforeItEnds(workers: Int) throws {
        let set = RuleSet(documents: RuleLoader().load(yaml: execRule, file: "rules.yml").documents)
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let readFD = fds[0], writeFD = fds[1]
        let sent = (0..<5).map { auditEvent($0, subresource: "exec") + "\n" }.joined()
        _ = sent.withCString { Glibc.write(writeFD, $0, strlen($0)) }

        final class Seen: @unchecked Sendable {
            let condition = NSCondition()
            var alerts = 0
            var waitingChunks = 0
        }
        let seen = Seen()
        let readPath = "/dev/fd/\(readFD)"
        let scanner = Thread {
            var options = ScanOptions()
            options.workers = workers
            options.batchBytes = 1 << 20   // far more than was sent: only catching up can flush
            let pipeline = ScanPipeline(engine: Engine(ruleSet: set), options: options, onAlert: { _ in
                seen.condition.lock(); seen.alerts += 1; seen.condition.broadcast(); seen.condition.unlock()
            }, onProblem: { _ in })
            pipeline.onChunkDone = { waiting in
                seen.condition.lock(); if waiting { seen.waitingChunks += 1 }; seen.condition.unlock()
            }
            pipeline.scan(file: readPath)
            pipeline.finish()
            close(readFD)
        }
        scanner.start()
        seen.condition.lock()
        let deadline = Date().addingTimeInterval(30)
        while seen.alerts < 5 && seen.condition.wait(until: deadline) {}
        let alertsWhileOpen = seen.alerts
        seen.condition.unlock()
        close(writeFD)
        while !scanner.isFinished { usleep(1000) }
        // Read after the scan: the report comes just after the alerts it hands on.
        seen.condition.lock()
        let waiting = seen.waitingChunks
        seen.condition.unlock()
        #expect(alertsWhileOpen == 5, "alerts delivered while the pipe was still open (workers \(workers))")
        #expect(waiting >= 1)
    }
}
