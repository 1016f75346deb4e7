import BulkheadEngine
import BulkheadRules
import BulkheadScan
import Foundation
import Testing

/// Runs a scan of JSON-lines files (one per entry, scanned in name order) with correlation limits.
struct CorrelationRun {
    var alerts: [Alert] = []
    var stats = CorrelationStats()
    var diagnostics: [Diagnostic] = []

    init(rules: String, files: [(String, [String])], limits: CorrelationLimits = .init()) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bulkhead-corr-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for (name, lines) in files { try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: dir.appendingPathComponent(name)) }
        let loaded = RuleLoader().load(yaml: rules, file: "rules.yml")
        let set = RuleSet(documents: loaded.documents)
        diagnostics = loaded.diagnostics + set.diagnostics
        let engine = Engine(ruleSet: set)
        engine.correlator?.limits = limits
        var alerts: [Alert] = []
        let pipeline = ScanPipeline(engine: engine, onAlert: { alerts.append($0) }, onProblem: { _ in })
        pipeline.scan(paths: [dir.path])
        self.alerts = alerts
        self.stats = engine.correlator?.stats ?? CorrelationStats()
    }

    init(rules: String, lines: [String], limits: CorrelationLimits = .init()) throws {
        try self.init(rules: rules, files: [("events.jsonl", lines)], limits: limits)
    }

    func titles(_ t: String) -> [Alert] { alerts.filter { $0.rule.title == t } }
    /// Correlation alerts as comparable strings: rule, time, and the JSON summary's group and count.
    var correlationSignature: [String] {
        alerts.filter { $0.source == "correlation" }.map { a in
            "\(a.rule.id)|\(a.time ?? -1)|\(a.event.replacingOccurrences(of: #""window":\{[^}]*\}"#, with: "", options: .regularExpression))"
        }.sorted()
    }
}

/// A base rule on generic JSON records: `kind: <value>`.
func baseRule(_ name: String, kind: String, level: String = "low") -> String {
    """
    title: base \(name)
    name: \(name)
    id: 00000000-0000-4000-8000-\(String(repeating: "0", count: 12 - name.count))\(name.count <= 12 ? name : "")
    logsource: {product: json}
    detection:
        selection:
            kind: \(kind)
        condition: selection
    level: \(level)
    """
}

func record(_ second: Int, _ kind: String, _ extra: String = "") -> String {
    let t = Date(timeIntervalSince1970: 1_790_000_000 + Double(second))
    let f = ISO8601DateFormatter()
    return #"{"time":"\#(f.string(from: t))","kind":"\#(kind)"\#(extra.isEmpty ? "" : "," + extra)}"#
}

func correlation(_ body: String, title: String = "corr", extra: String = "") -> String {
    """
    title: \(title)
    id: \(title)-id
    \(extra)correlation:
    \(body.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
    level: high
    """
}

@Suite struct CorrelationTests {
    let failRule = baseRule("fail", kind: "fail")

    var countRule: String {
        failRule + "\n---\n" + correlation("""
        type: event_count
        rules: [fail]
        group-by: [user]
        timespan: 1m
        condition: {gte: 3}
        """)
    }

    @Test func eventCountFiresPerGroupWithinTheTimespan() throws {
        let lines = [record(0, "fail", #""user":"bob""#), record(10, "fail", #""user":"eve""#), record(20, "fail", #""user":"bob""#),
                     record(30, "fail", #""user":"eve""#), record(40, "fail", #""user":"bob""#)]
        let run = try CorrelationRun(rules: countRule, lines: lines)
        let fired = run.titles("corr")
        #expect(fired.count == 1)
        #expect(fired.first?.event.contains(#""group":{"user":"bob"}"#) == true)
        #expect(fired.first?.event.contains(#""count":3"#) == true)
        #expect(fired.first?.entity["user"] == "bob")  // group-by field named like an entity field
        #expect(fired.first?.origin.line == 5)
        #expect(fired.first?.rule.level == .high)
        // generate: false (the default): the base rule raises no alert of its own.
        #expect(run.titles("base fail").isEmpty)
    }

    @Test func eventCountDoesNotFireWhenSpreadBeyondTheTimespan() throws {
        let lines = [record(0, "fail", #""user":"bob""#), record(50, "fail", #""user":"bob""#), record(115, "fail", #""user":"bob""#)]
        #expect(try CorrelationRun(rules: countRule, lines: lines).titles("corr").isEmpty)
        // The same three within 60 s (inclusive) fire.
        let close = [record(0, "fail", #""user":"bob""#), record(30, "fail", #""user":"bob""#), record(60, "fail", #""user":"bob""#)]
        #expect(try CorrelationRun(rules: countRule, lines: close).titles("corr").count == 1)
    }

    @Test func aFiredWindowStartsAgain() throws {
        let lines = (0..<7).map { record($0, "fail", #""user":"bob""#) }
        #expect(try CorrelationRun(rules: countRule, lines: lines).titles("corr").count == 2)
    }

    @Test func generateTrueKeepsTheBaseRulesAlerts() throws {
        let rules = failRule + "\n---\n" + correlation("""
        type: event_count
        rules: [fail]
        group-by: [user]
        timespan: 1m
        condition: {gte: 2}
        """, extra: "generate: true\n")
        let run = try CorrelationRun(rules: rules, lines: [record(0, "fail", #""user":"bob""#), record(1, "fail", #""user":"bob""#)])
        #expect(run.titles("base fail").count == 2)
        #expect(run.titles("corr").count == 1)
    }

    @Test func valueCountCountsDistinctValues() throws {
        let rules = baseRule("conn", kind: "conn") + "\n---\n" + correlation("""
        type: value_count
        rules: [conn]
        group-by: [src]
        timespan: 5m
        condition: {field: port, gte: 3}
        """)
        let same = (0..<6).map { record($0, "conn", #""src":"a","port":22"#) }
        #expect(try CorrelationRun(rules: rules, lines: same).titles("corr").isEmpty)
        let scan = [22, 22, 80, 443].enumerated().map { record($0.offset, "conn", #""src":"a","port":\#($0.element)"#) }
        let run = try CorrelationRun(rules: rules, lines: scan)
        #expect(run.titles("corr").count == 1)
        #expect(run.titles("corr").first?.event.contains(#""value":3"#) == true)
    }

    var temporalRules: String {
        baseRule("reconA", kind: "a") + "\n---\n" + baseRule("reconB", kind: "b") + "\n---\n"
    }

    @Test func temporalNeedsEveryRuleInTheSameGroupInAnyOrder() throws {
        let rules = temporalRules + correlation("""
        type: temporal
        rules: [reconA, reconB]
        group-by: [host]
        timespan: 5m
        """)
        #expect(try CorrelationRun(rules: rules, lines: [record(0, "b", #""host":"h1""#), record(60, "a", #""host":"h1""#)]).titles("corr").count == 1)
        #expect(try CorrelationRun(rules: rules, lines: [record(0, "a", #""host":"h1""#), record(1, "a", #""host":"h1""#)]).titles("corr").isEmpty)
        #expect(try CorrelationRun(rules: rules, lines: [record(0, "a", #""host":"h1""#), record(1, "b", #""host":"h2""#)]).titles("corr").isEmpty)
        #expect(try CorrelationRun(rules: rules, lines: [record(0, "a", #""host":"h1""#), record(400, "b", #""host":"h1""#)]).titles("corr").isEmpty)
    }

    @Test func temporalOrderedNeedsTheListedOrder() throws {
        let rules = temporalRules + correlation("""
        type: temporal_ordered
        rules: [reconA, reconB]
        group-by: [host]
        timespan: 5m
        """)
        let inOrder = try CorrelationRun(rules: rules, lines: [record(0, "a", #""host":"h1""#), record(60, "b", #""host":"h1""#)])
        #expect(inOrder.titles("corr").count == 1)
        #expect(inOrder.titles("corr").first?.event.contains(#""rules":["00000000-0000-4000-8000-000000reconA","00000000-0000-4000-8000-000000reconB"]"#) == true)
        // B before A: no; even when the file lists them the other way round (event time decides).
        #expect(try CorrelationRun(rules: rules, lines: [record(0, "b", #""host":"h1""#), record(60, "a", #""host":"h1""#)]).titles("corr").isEmpty)
        #expect(try CorrelationRun(rules: rules, lines: [record(60, "b", #""host":"h1""#), record(0, "a", #""host":"h1""#)]).titles("corr").count == 1)
    }

    @Test func valueSumAvgPercentileMedian() throws {
        func rules(_ type: String, _ cond: String) -> String {
            baseRule("xfer", kind: "xfer") + "\n---\n" + correlation("""
            type: \(type)
            rules: [xfer]
            group-by: [user]
            timespan: 10m
            condition: {field: bytes, \(cond)}
            """)
        }
        let small = [100, 200, 300].enumerated().map { record($0.offset * 10, "xfer", #""user":"u","bytes":\#($0.element)"#) }
        let big = [100, 200, 5000, 700].enumerated().map { record($0.offset * 10, "xfer", #""user":"u","bytes":\#($0.element)"#) }
        #expect(try CorrelationRun(rules: rules("value_sum", "gt: 1000"), lines: small).titles("corr").isEmpty)
        let sum = try CorrelationRun(rules: rules("value_sum", "gt: 1000"), lines: big)
        #expect(sum.titles("corr").count == 1)
        #expect(sum.titles("corr").first?.event.contains(#""value":5300"#) == true)  // fires on the 3rd event (sliding)
        #expect(try CorrelationRun(rules: rules("value_avg", "gt: 500"), lines: small).titles("corr").isEmpty)
        let avg = try CorrelationRun(rules: rules("value_avg", "gt: 500"), lines: big)
        #expect(avg.titles("corr").count == 1)
        #expect(avg.titles("corr").first?.event.contains(#""value":1500"#) == true)  // judged on the whole window
        // Median of 100, 200, 700, 5000 = 450; of 100, 200, 300 = 200.
        #expect(try CorrelationRun(rules: rules("value_median", "gte: 400"), lines: big).titles("corr").count == 1)
        #expect(try CorrelationRun(rules: rules("value_median", "gte: 400"), lines: small).titles("corr").isEmpty)
        // 90th percentile of 100, 200, 700, 5000 = 700 + 0.7 * 4300 = 3710.
        let p90 = try CorrelationRun(rules: rules("value_percentile", "percentile: 90, gt: 3000"), lines: big)
        #expect(p90.titles("corr").count == 1)
        #expect(try CorrelationRun(rules: rules("value_percentile", "percentile: 90, gt: 4000"), lines: big).titles("corr").isEmpty)
    }

    @Test func lessThanConditionsAreJudgedWhenTheWindowCloses() throws {
        let rules = failRule + "\n---\n" + correlation("""
        type: event_count
        rules: [fail]
        group-by: [user]
        timespan: 1m
        condition: {lt: 3}
        """)
        // bob: 4 in a minute (no); eve: 1 (yes).
        let lines = (0..<4).map { record($0, "fail", #""user":"bob""#) } + [record(2, "fail", #""user":"eve""#)]
        let fired = try CorrelationRun(rules: rules, lines: lines).titles("corr")
        #expect(fired.count == 1)
        #expect(fired.first?.event.contains(#""user":"eve""#) == true)
    }

    @Test func aliasesMapGroupByFieldsPerRule() throws {
        let rules = baseRule("err", kind: "http500") + "\n---\n" + baseRule("conn", kind: "conn") + "\n---\n" + correlation("""
        type: temporal
        rules: [err, conn]
        group-by: [internal_ip]
        timespan: 10s
        aliases:
            internal_ip:
                err: destination.ip
                conn: source.ip
        """)
        let linked = [record(0, "http500", #""destination":{"ip":"10.0.0.5"},"source":{"ip":"1.2.3.4"}"#),
                      record(3, "conn", #""source":{"ip":"10.0.0.5"},"destination":{"ip":"9.9.9.9"}"#)]
        let run = try CorrelationRun(rules: rules, lines: linked)
        #expect(run.titles("corr").count == 1)
        #expect(run.titles("corr").first?.event.contains(#""internal_ip":"10.0.0.5""#) == true)
        let unlinked = [record(0, "http500", #""destination":{"ip":"10.0.0.5"}"#), record(3, "conn", #""source":{"ip":"10.0.0.6"}"#)]
        #expect(try CorrelationRun(rules: rules, lines: unlinked).titles("corr").isEmpty)
    }

    /// The specification's example: many failed logins followed by a successful one.
    @Test func chainedCorrelations() throws {
        let rules = """
        title: Multiple failed logons followed by success
        id: b180ead8-d58f-40b2-ae54-c8940995b9b6
        correlation:
            type: temporal_ordered
            rules: [multiple_failed_login, successful_login]
            group-by: [User]
            timespan: 10m
        level: high
        ---
        title: Multiple failed logons
        id: a8418a5a-5fc4-46b5-b23b-6c73beb19d41
        name: multiple_failed_login
        correlation:
            type: event_count
            rules: [failed_login]
            group-by: [User]
            timespan: 10m
            condition: {gte: 3}
        ---
        title: Single failed login
        name: failed_login
        logsource: {product: json}
        detection:
            selection: {EventID: 4625}
            condition: selection
        ---
        title: Successful login
        name: successful_login
        logsource: {product: json}
        detection:
            selection: {EventID: 4624}
            condition: selection
        """
        let attack = (0..<3).map { record($0 * 10, "x", #""EventID":4625,"User":"adm""#) } + [record(60, "x", #""EventID":4624,"User":"adm""#)]
        let run = try CorrelationRun(rules: rules, lines: attack)
        #expect(run.diagnostics.isEmpty)
        #expect(run.alerts.map(\.rule.title) == ["Multiple failed logons followed by success"])
        // Success first, or another user's failures: nothing.
        let wrongOrder = [record(0, "x", #""EventID":4624,"User":"adm""#)] + (1...3).map { record($0 * 10, "x", #""EventID":4625,"User":"adm""#) }
        #expect(try CorrelationRun(rules: rules, lines: wrongOrder).alerts.isEmpty)
        let otherUser = (0..<3).map { record($0 * 10, "x", #""EventID":4625,"User":"bob""#) } + [record(60, "x", #""EventID":4624,"User":"adm""#)]
        #expect(try CorrelationRun(rules: rules, lines: otherUser).alerts.isEmpty)
    }

    @Test func unknownReferencesAndCyclesAreDiagnosed() throws {
        let rules = correlation("""
        type: event_count
        rules: [nothing_by_that_name]
        group-by: [user]
        timespan: 1m
        condition: {gte: 3}
        """) + "\n---\n" + """
        title: loop a
        name: loop_a
        correlation: {type: temporal, rules: [loop_b], group-by: [x], timespan: 1m}
        ---
        title: loop b
        name: loop_b
        correlation: {type: temporal, rules: [loop_a], group-by: [x], timespan: 1m}
        """
        let run = try CorrelationRun(rules: rules, lines: [record(0, "fail")])
        #expect(run.diagnostics.contains { $0.code == .correlationUnknownRule && $0.message.contains("nothing_by_that_name") })
        #expect(run.diagnostics.filter { $0.code == .correlationInvalid && $0.message.contains("cycle") }.count == 2)
    }

    /// A mix of users and bursts over 30 minutes: shuffled within the lateness, split across
    /// files in any order, the correlation alerts are the same as for the sorted records.
    @Test func shuffledAndSplitInputGivesTheSameAlerts() throws {
        let rules = failRule + "\n---\n" + baseRule("ok", kind: "ok") + "\n---\n" + correlation("""
        type: event_count
        rules: [fail]
        group-by: [user]
        timespan: 1m
        condition: {gte: 4}
        """) + "\n---\n" + correlation("""
        type: temporal_ordered
        rules: [fail, ok]
        group-by: [user]
        timespan: 2m
        """, title: "ordered") + "\n---\n" + correlation("""
        type: value_avg
        rules: [fail]
        group-by: [user]
        timespan: 3m
        condition: {field: n, gt: 50}
        """, title: "avg")
        var rng = SeededRandom(seed: 7)
        var records: [(Int, String)] = []
        for i in 0..<600 {
            let second = i * 3 + Int(rng.next() % 3)
            let user = ["ann", "bob", "cat", "dan"][Int(rng.next() % 4)]
            let kind = rng.next() % 5 == 0 ? "ok" : "fail"
            records.append((second, record(second, kind, #""user":"\#(user)","n":\#(rng.next() % 100)"#)))
        }
        let sorted = records.sorted { $0.0 < $1.0 }.map(\.1)
        let base = try CorrelationRun(rules: rules, lines: sorted)
        #expect(base.correlationSignature.count > 10)
        #expect(base.stats.late == 0)
        // Shuffle inside blocks of 2 minutes (lateness 5 minutes).
        var shuffled: [String] = []
        for block in stride(from: 0, to: sorted.count, by: 40) {
            var chunk = Array(sorted[block..<min(block + 40, sorted.count)])
            for i in chunk.indices.reversed() { chunk.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
            shuffled += chunk
        }
        #expect(shuffled != sorted)
        let again = try CorrelationRun(rules: rules, lines: shuffled)
        #expect(again.stats.late == 0)
        #expect(again.correlationSignature == base.correlationSignature)
        // Split into files scanned in an order unrelated to time: inputs merge in event time.
        let halves = [("a-late.jsonl", Array(sorted[300...])), ("b-early.jsonl", Array(sorted[..<300]))]
        let split = try CorrelationRun(rules: rules, files: halves)
        #expect(split.correlationSignature == base.correlationSignature)
    }

    @Test func recordsLaterThanTheLatenessAreDroppedAndCounted() throws {
        var limits = CorrelationLimits()
        limits.lateness = 10 * 1_000_000_000
        let lines = [record(0, "fail", #""user":"bob""#), record(100, "fail", #""user":"bob""#), record(101, "fail", #""user":"bob""#),
                     record(50, "fail", #""user":"bob""#), record(102, "fail", #""user":"bob""#)]
        let run = try CorrelationRun(rules: countRule, lines: lines, limits: limits)
        #expect(run.stats.late == 1)
        #expect(run.titles("corr").count == 1)  // 100, 101, 102
    }

    @Test func capsEvictAndCount() throws {
        var limits = CorrelationLimits()
        limits.maxGroups = 5
        limits.maxEventsPerGroup = 3
        let many = (0..<50).map { record($0, "fail", #""user":"u\#($0)""#) } + (0..<5).map { record(60 + $0, "fail", #""user":"same""#) }
        let run = try CorrelationRun(rules: countRule, lines: many, limits: limits)
        #expect(run.stats.evictedGroups > 0)
        #expect(run.stats.peakGroups <= 6)
        #expect(run.stats.droppedEvents == 0)  // the group fired at 3 and restarted
        var tight = limits
        tight.maxEventsPerGroup = 2
        let dropped = try CorrelationRun(rules: countRule, lines: (0..<5).map { record($0, "fail", #""user":"same""#) }, limits: tight)
        #expect(dropped.stats.droppedEvents == 3)
        #expect(dropped.titles("corr").isEmpty)
        // Windows that ended are forgotten (TTL) as the watermark passes them.
        var ttl = CorrelationLimits()
        ttl.lateness = 0
        let spread = (0..<3000).map { record($0 * 120, "fail", #""user":"u\#($0)""#) }
        let expired = try CorrelationRun(rules: countRule, lines: spread, limits: ttl)
        #expect(expired.stats.expiredGroups > 1000)
        #expect(expired.stats.peakGroups < 2100)
    }

    @Test func noCorrelationMeansNoState() {
        let engine = Engine(ruleSet: RuleSet(documents: RuleLoader().load(yaml: failRule, file: "r.yml").documents))
        #expect(engine.correlator == nil)
    }
}

/// The two event_count correlations of ../shared/bench/rules (copied: tests do not read /work/shared).
@Suite struct CorrelationBenchRulesTests {
    static let k8s = """
    title: Burst Of Forbidden Kubernetes API Requests
    name: k8s_forbidden_request
    id: 25f4bfd0-c91d-547c-990b-23943ba71863
    status: experimental
    description: 'Base rule: a request denied by authorization (HTTP 403).'
    tags: [attack.discovery, attack.t1613]
    logsource:
        product: kubernetes
        service: audit
    detection:
        selection:
            responseStatus.code: 403
        condition: selection
    level: low
    ---
    title: Many Forbidden Kubernetes API Requests From One Identity
    id: 6f3c1c2e-2b4f-5a8e-9d61-0c2f9c1d7e41
    status: experimental
    tags: [attack.discovery, attack.t1613]
    correlation:
        type: event_count
        rules:
            - k8s_forbidden_request
        group-by:
            - user.username
        timespan: 5m
        condition:
            gte: 10
    level: high
    """
    static let aws = """
    title: AWS API Access Denied
    name: aws_access_denied
    id: 250aa6d7-a147-5116-aae5-3bd6b5f636b6
    tags: [attack.discovery, attack.t1580]
    logsource:
        product: aws
        service: cloudtrail
    detection:
        selection:
            errorCode:
                - 'AccessDenied'
                - 'Client.UnauthorizedOperation'
                - 'UnauthorizedOperation'
        condition: selection
    level: low
    ---
    title: Burst Of Access Denied Errors From One Principal
    id: 0b7a6a54-5c8d-5f3e-8a39-4d2a1b9e6c77
    tags: [attack.discovery, attack.t1580]
    correlation:
        type: event_count
        rules:
            - aws_access_denied
        group-by:
            - userIdentity.arn
        timespan: 10m
        condition:
            gte: 15
    level: high
    """

    func audit(_ second: Int, user: String, code: Int) -> String {
        let t = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: 1_790_000_000 + Double(second)))
        return #"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a\#(second)","stage":"ResponseComplete","verb":"list","user":{"username":"\#(user)"},"sourceIPs":["10.0.0.1"],"objectRef":{"resource":"secrets","namespace":"prod"},"responseStatus":{"code":\#(code)},"requestReceivedTimestamp":"\#(t)","stageTimestamp":"\#(t)"}"#
    }

    func trail(_ second: Int, arn: String, error: String?) -> String {
        let t = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: 1_790_000_000 + Double(second)))
        return #"{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","arn":"\#(arn)","accountId":"111122223333"},"eventTime":"\#(t)","eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","awsRegion":"eu-west-1","sourceIPAddress":"203.0.113.9","userAgent":"aws-cli","eventID":"e\#(second)","eventType":"AwsApiCall","recipientAccountId":"111122223333"\#(error.map { #","errorCode":"\#($0)""# } ?? "")}"#
    }

    @Test func kubernetesForbiddenBurst() throws {
        let probing = (0..<12).map { audit($0 * 20, user: "system:serviceaccount:ci:deployer", code: 403) }
        let normal = (0..<30).map { audit($0 * 5, user: "alice", code: $0 % 4 == 0 ? 403 : 200) }
        let run = try CorrelationRun(rules: Self.k8s, lines: (probing + normal).shuffled())
        #expect(run.diagnostics.isEmpty)
        #expect(run.alerts.count == 1)
        #expect(run.alerts.first?.rule.title == "Many Forbidden Kubernetes API Requests From One Identity")
        #expect(run.alerts.first?.event.contains(#""user.username":"system:serviceaccount:ci:deployer""#) == true)
        #expect(run.alerts.first?.rule.techniques == ["T1613"])
    }

    @Test func cloudTrailAccessDeniedBurst() throws {
        let arn = "arn:aws:iam::111122223333:user/leaked"
        let enumerating = (0..<15).map { trail($0 * 30, arn: arn, error: $0 % 2 == 0 ? "AccessDenied" : "Client.UnauthorizedOperation") }
        let run = try CorrelationRun(rules: Self.aws, lines: enumerating)
        #expect(run.alerts.map(\.rule.title) == ["Burst Of Access Denied Errors From One Principal"])
        // 14 within 10 minutes, and 15 spread over an hour: nothing.
        #expect(try CorrelationRun(rules: Self.aws, lines: Array(enumerating.prefix(14))).alerts.isEmpty)
        let slow = (0..<15).map { trail($0 * 240, arn: arn, error: "AccessDenied") }
        #expect(try CorrelationRun(rules: Self.aws, lines: slow).alerts.isEmpty)
    }
}

/// Deterministic generator for shuffles (SplitMix64).
struct SeededRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
