import BulkheadEngine
import BulkheadRules
import BulkheadScan
import BulkheadSinks
import CZlib
import Foundation
import Testing

/// Runs a scan over files written to a temporary folder.
struct ScanRun {
    var alerts: [Alert] = []
    var problems: [String] = []
    var stats = ScanStats()

    init(rules: String, files: [String: [UInt8]], options: ScanOptions = ScanOptions()) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bulkhead-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for (name, bytes) in files { try Data(bytes).write(to: dir.appendingPathComponent(name)) }
        let set = RuleSet(documents: RuleLoader().load(yaml: rules, file: "rules.yml").documents)
        var alerts: [Alert] = [], problems: [String] = []
        let pipeline = ScanPipeline(engine: Engine(ruleSet: set), options: options,
                                    onAlert: { alerts.append($0) }, onProblem: { problems.append($0) })
        pipeline.scan(paths: [dir.path])
        self.alerts = alerts
        self.problems = problems
        self.stats = pipeline.stats
    }
}

let execRule = """
title: Exec into pod
id: 22222222-2222-4222-8222-222222222222
logsource: {product: kubernetes, service: audit}
detection:
    selection:
        objectRef.subresource: exec
    condition: selection
level: high
tags: [attack.execution, attack.t1609]
"""

func auditEvent(_ n: Int, subresource: String = "exec") -> String {
    #"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"id-\#(n)","stage":"ResponseComplete","verb":"create","user":{"username":"alice"},"sourceIPs":["10.0.0.\#(n)"],"objectRef":{"resource":"pods","namespace":"prod","name":"web-\#(n)","subresource":"\#(subresource)"},"requestReceivedTimestamp":"2026-11-23T10:00:0\#(n).000000Z"}"#
}

func gzip(_ bytes: [UInt8]) -> [UInt8] {
    var stream = z_stream()
    deflateInit2_(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
    var input = bytes
    var out = [UInt8](repeating: 0, count: bytes.count + 1024)
    input.withUnsafeMutableBufferPointer { inp in
        out.withUnsafeMutableBufferPointer { o in
            stream.next_in = inp.baseAddress
            stream.avail_in = UInt32(inp.count)
            stream.next_out = o.baseAddress
            stream.avail_out = UInt32(o.count)
            deflate(&stream, Z_FINISH)
        }
    }
    let n = Int(stream.total_out)
    deflateEnd(&stream)
    return Array(out[0..<n])
}

@Suite struct ScanPipelineTests {
    @Test func badRecordsAreReportedWithLineAndNothingValidIsLost() throws {
        var lines = [auditEvent(1), #"{"kind":"Event","auditID":"trunc"#, auditEvent(2)]
        lines.append(String(decoding: [0x7B, 0x22, 0x61, 0x22, 0x3A, 0x22, 0xFF, 0xFE, 0x22, 0x7D], as: UTF8.self))
        lines.append(String(repeating: "[", count: 10_000))
        lines.append(auditEvent(3))
        var bytes = Array(lines.joined(separator: "\n").utf8)
        // Raw invalid UTF-8 (String(decoding:) replaced it above): splice real bytes in.
        bytes += [0x0A, 0x7B, 0x22, 0x61, 0x22, 0x3A, 0x22, 0xC3, 0x28, 0x22, 0x7D, 0x0A]
        bytes += Array(auditEvent(4).utf8)
        let run = try ScanRun(rules: execRule, files: ["audit.log": bytes])
        #expect(run.alerts.map(\.origin.line) == [1, 3, 6, 8])
        #expect(run.stats.badRecords == 3)
        #expect(run.problems.contains { $0.hasSuffix("audit.log:2: bad record: truncated JSON (unexpected end of input) at byte 32") })
        #expect(run.problems.contains { $0.contains("audit.log:5: bad record: nesting deeper than the limit") })
        #expect(run.problems.contains { $0.contains("audit.log:7: bad record: invalid UTF-8") })
    }

    @Test func damagedDocumentsKeepTheirCompleteRecords() throws {
        // A CloudTrail file cut off mid-record, and an array with one broken element.
        let rules = execRule
        let truncated = "{\"Records\":[\n" + auditEvent(1) + ",\n" + auditEvent(2) + ",\n" + String(auditEvent(3).prefix(60))
        let broken = "[\n" + auditEvent(4) + ",\n{\"kind\":\"Event\",\"auditID\": nope},\n" + auditEvent(5) + "\n]"
        let run = try ScanRun(rules: rules, files: ["cut.json": Array(truncated.utf8), "broken.json": Array(broken.utf8)])
        let byFile = Dictionary(grouping: run.alerts, by: { ($0.origin.name as NSString).lastPathComponent })
        #expect(byFile["cut.json"]?.map(\.origin.line) == [2, 3])
        #expect(byFile["broken.json"]?.map(\.origin.line) == [2, 4])
        #expect(run.stats.badRecords == 2)
    }

    @Test func overlongLinesAreSkippedByLimit() throws {
        var options = ScanOptions()
        options.maxLineBytes = 4096
        let long = "{\"x\":\"" + String(repeating: "a", count: 3_000_000) + "\"}"
        let text = [auditEvent(1), long, auditEvent(2)].joined(separator: "\n")
        let run = try ScanRun(rules: execRule, files: ["big.jsonl": Array(text.utf8)], options: options)
        #expect(run.alerts.map(\.origin.line) == [1, 3])
        #expect(run.problems.contains { $0.contains("big.jsonl:2: bad record: line longer than 4096 bytes") })
    }

    @Test func eventListBatchesCloudTrailRecordsAndGzip() throws {
        let eventList = #"{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[\#n\#(auditEvent(1)),\#n\#(auditEvent(2, subresource: "log")),\#n\#(auditEvent(3))]}"#
        let trail = #"{"Records":[{"eventVersion":"1.09",\#n  "eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","awsRegion":"eu-west-1","recipientAccountId":"111122223333","eventTime":"2026-11-23T10:00:00Z"}]}"#
        let rules = execRule + """

        ---
        title: Stop logging
        id: 33333333-3333-4333-8333-333333333333
        logsource: {product: aws, service: cloudtrail}
        detection:
            selection:
                eventName: StopLogging
            condition: selection
        level: critical
        """
        let run = try ScanRun(rules: rules, files: [
            "batch.json": Array(eventList.utf8),
            "trail.json.gz": gzip(Array(trail.utf8)),
            "crlf.jsonl": Array((auditEvent(5) + "\r\n" + auditEvent(6) + "\r\n").utf8),
        ])
        #expect(run.stats.recordsBySource["k8s_audit"] == 5)
        #expect(run.stats.recordsBySource["cloudtrail"] == 1)
        let byFile = Dictionary(grouping: run.alerts, by: { ($0.origin.name as NSString).lastPathComponent })
        #expect(byFile["batch.json"]?.map(\.origin.line) == [2, 4])
        // Records from multi-line documents still render as one JSON line each.
        for a in run.alerts {
            let line = AlertRenderer(format: .jsonl).render(a)
            #expect(line.dropLast().allSatisfy { $0 != "\n" })
            #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil)
        }
        #expect(byFile["trail.json.gz"]?.first?.entity["cloud_account"] == "111122223333")
        #expect(byFile["crlf.jsonl"]?.count == 2)
        #expect(run.stats.badRecords == 0)
    }

    @Test func alertsCarryEntityTimeAndAttack() throws {
        let run = try ScanRun(rules: execRule, files: ["a.jsonl": Array(auditEvent(7).utf8)])
        let a = try #require(run.alerts.first)
        #expect(a.entity["namespace"] == "prod")
        #expect(a.entity["pod"] == "web-7")
        #expect(a.entity["user"] == "alice")
        #expect(a.entity["source_ip"] == "10.0.0.7")
        #expect(a.rule.techniques == ["T1609"])
        #expect(a.time == 1_795_428_007_000_000_000)
    }
}

@Suite struct RendererTests {
    func sampleAlert() throws -> Alert {
        let run = try ScanRun(rules: execRule, files: ["a.jsonl": Array(auditEvent(1).utf8)])
        var a = try #require(run.alerts.first)
        a.responseSteps = ["Isolate the pod \u{1B}[31m"]
        return a
    }

    @Test func ocsfDetectionFinding() throws {
        let line = AlertRenderer(format: .ocsf).render(try sampleAlert())
        let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        #expect(obj?["class_uid"] as? Int == 2004)
        #expect(obj?["type_uid"] as? Int == 200401)
        #expect(obj?["severity_id"] as? Int == 4)
        let info = obj?["finding_info"] as? [String: Any]
        let attacks = info?["attacks"] as? [[String: Any]]
        #expect((attacks?.first?["technique"] as? [String: Any])?["uid"] as? String == "T1609")
    }

    @Test func jsonLinesEmbedTheEventAndTextStripsEscapes() throws {
        let a = try sampleAlert()
        let line = AlertRenderer(format: .jsonl).render(a)
        let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        #expect((obj?["event"] as? [String: Any])?["auditID"] as? String == "id-1")
        let text = AlertRenderer(format: .text).render(a)
        #expect(!text.contains("\u{1B}"))
        #expect(text.contains("\\x1b[31m"))
    }
}
