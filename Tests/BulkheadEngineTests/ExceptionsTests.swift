import BulkheadEngine
import BulkheadEvent
import BulkheadRules
import BulkheadSources
import Testing

/// Tuning exceptions: compiled like filters, evaluated on the record, counted when they suppress.
@Suite struct ExceptionsTests {
    static let ruleYAML = rule("""
    selection:
        verb: create
        privileged: true
    """)

    /// Alerts raised for each record with the given tuning file applied.
    static func run(_ tuning: String, today: String = "2026-11-20", records: [String]) -> (alerts: Int, engine: Engine, file: ExceptionsFile.Result) {
        let loaded = RuleLoader().load(yaml: ruleYAML, file: "test.yml")
        let set = RuleSet(documents: loaded.documents)
        let engine = Engine(ruleSet: set)
        let file = ExceptionsFile.load(yaml: tuning, file: "exceptions.yml")
        engine.exceptions = CompiledExceptions(entries: file.entries, ruleSet: set, today: today)
        var alerts = 0
        for json in records {
            var tape = JSONTape()
            let bytes = Array(json.utf8)
            _ = try? bytes.withUnsafeBytes { raw in
                try EventView.with(bytes: raw, tape: &tape, scratch: ScratchBuffer()) { v in
                    engine.evaluate(v, format: Formats.genericJSON, kind: 0, origin: { Origin(name: "t", line: 1) }) { _ in alerts += 1 }
                }
            }
        }
        return (alerts, engine, file)
    }

    static let controller = #"{"verb":"create","privileged":true,"user":{"username":"system:serviceaccount:kube-system:daemon-set-controller"}}"#
    static let attacker = #"{"verb":"create","privileged":true,"user":{"username":"mallory@example.com"}}"#

    static let tuning = """
    exceptions:
      - name: ds-controller
        rules: ["11111111-2222-4333-8444-555555555555"]
        match:
          user.username|endswith: ":daemon-set-controller"
        reason: DaemonSet pods follow the DaemonSet spec
        owner: platform-security
        expires: 2026-12-31
      - name: everything-eks
        rules: "*"
        match:
          user.username|startswith: "eks:"
        reason: EKS control plane
        owner: platform-security
    """

    @Test func matchingAlertsAreSuppressedAndCounted() {
        let r = Self.run(Self.tuning, records: [Self.controller, Self.attacker, Self.controller])
        #expect(r.file.diagnostics.isEmpty, "\(r.file.diagnostics)")
        #expect(r.alerts == 1)
        #expect(r.engine.exceptions.active.map(\.name) == ["ds-controller", "everything-eks"])
        #expect(r.engine.suppressedCounts == [2, 0])
        #expect(r.engine.matchCounts == [1])
    }

    @Test func wildcardRulesApplyToEveryRule() {
        let eks = #"{"verb":"create","privileged":true,"user":{"username":"eks:node-manager"}}"#
        let r = Self.run(Self.tuning, records: [eks])
        #expect(r.alerts == 0)
        #expect(r.engine.suppressedCounts == [0, 1])
    }

    @Test func expiredExceptionsDoNotApplyAndAreReported() {
        let r = Self.run(Self.tuning, today: "2027-01-01", records: [Self.controller])
        #expect(r.alerts == 1)
        #expect(r.engine.exceptions.expired.map(\.name) == ["ds-controller"])
        #expect(r.engine.exceptions.active.map(\.name) == ["everything-eks"])
        // The expiry day itself still applies.
        #expect(Self.run(Self.tuning, today: "2026-12-31", records: [Self.controller]).alerts == 0)
    }

    @Test func malformedEntriesAreDiagnosed() {
        let bad = """
        exceptions:
          - name: no-owner
            rules: "*"
            match: {user.username: x}
            reason: r
          - name: bad-date
            rules: "*"
            match: {user.username: x}
            reason: r
            owner: o
            expires: next week
          - name: keywords
            rules: "*"
            match: [a, b]
            reason: r
            owner: o
        """
        let f = ExceptionsFile.load(yaml: bad, file: "x.yml")
        #expect(f.entries.isEmpty)
        #expect(f.diagnostics.count == 3)
        #expect(f.diagnostics.contains { $0.message.contains("missing `owner`") })
        #expect(f.diagnostics.contains { $0.message.contains("YYYY-MM-DD") })
    }

    @Test func unknownRuleIDsAreWarnedAndSkipped() {
        let t = """
        exceptions:
          - name: stale
            rules: [does-not-exist]
            match: {user.username: x}
            reason: r
            owner: o
        """
        let r = Self.run(t, records: [Self.attacker])
        #expect(r.engine.exceptions.active.isEmpty)
        #expect(r.engine.exceptions.diagnostics.count == 1)
        #expect(r.alerts == 1)
    }
}
