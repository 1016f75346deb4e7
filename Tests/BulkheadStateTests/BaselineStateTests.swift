import BulkheadEngine
import BulkheadRules
import BulkheadScan
import BulkheadState
import Foundation
import Testing

// MARK: Helpers

private func tempDir() -> String {
    let d = NSTemporaryDirectory() + "bulkhead-state-tests-" + UUID().uuidString
    try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
}

private func ruleSet(_ yaml: String) -> RuleSet {
    let dir = tempDir()
    let path = dir + "/rule.yml"
    _ = FileManager.default.createFile(atPath: path, contents: Data(yaml.utf8))
    let loaded = RuleFiles.load([path])
    return RuleSet(documents: loaded.documents)
}

private let t0: Int64 = 1_793_606_400 * 1_000_000_000  // 2026-11-02T08:00:00Z
private let minute: Int64 = 60_000_000_000
private let day: Int64 = 86_400_000_000_000

private func iso(_ ns: Int64) -> String {
    let d = Date(timeIntervalSince1970: Double(ns) / 1e9)
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return f.string(from: d)
}

/// A Kubernetes audit `create deployments` record.
private func deploy(_ t: Int64, ns: String, name: String, images: [String], cpu: String? = nil) -> String {
    let containers = images.map { img in
        "{\"name\":\"c\",\"image\":\"\(img)\"" + (cpu.map { ",\"resources\":{\"requests\":{\"cpu\":\"\($0)\"}}" } ?? "") + "}"
    }.joined(separator: ",")
    return """
    {"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"\(UUID().uuidString)","stage":"ResponseComplete","requestURI":"/apis/apps/v1/namespaces/\(ns)/deployments","verb":"create","user":{"username":"ci@example.com"},"sourceIPs":["10.0.9.88"],"objectRef":{"resource":"deployments","namespace":"\(ns)","name":"\(name)","apiGroup":"apps","apiVersion":"v1"},"responseStatus":{"code":201},"requestObject":{"kind":"Deployment","metadata":{"name":"\(name)","namespace":"\(ns)"},"spec":{"template":{"spec":{"containers":[\(containers)]}}}},"requestReceivedTimestamp":"\(iso(t))","stageTimestamp":"\(iso(t))"}
    """
}

private func registryRule(learning: String = "7d", retention: String = "90d", extra: String = "") -> String {
    """
    title: New Registry
    id: 0b7c1f3e-1111-4c5d-9e8f-000000000001
    logsource: {product: kubernetes, service: audit}
    detection:
        selection: {verb: create, objectRef.resource: deployments}
        condition: selection
    level: medium
    x-bulkhead-new-terms:
        group-by: [entity.namespace]
        terms: ["requestObject.spec.containers.image or requestObject.spec.template.spec.containers.image|registry"]
        learning: \(learning)
        retention: \(retention)
        min-observations: 1
    \(extra)
    """
}

/// Scans JSON lines through a fresh engine (optionally restored from and saved to a store); returns alert titles.
@discardableResult
private func scan(_ rs: RuleSet, _ lines: [String], store: SQLiteStateStore? = nil, learnOnly: Bool = false,
                  engineOut: ((Engine) -> Void)? = nil) throws -> [String] {
    let engine = Engine(ruleSet: rs)
    if let store { engine.baselines.restore(try store.load()) }
    engine.baselines.learnOnly = learnOnly
    let file = tempDir() + "/input.jsonl"
    _ = FileManager.default.createFile(atPath: file, contents: Data(lines.joined(separator: "\n").utf8))
    var titles: [String] = []
    let pipeline = ScanPipeline(engine: engine, onAlert: { titles.append($0.rule.title) }, onProblem: { Issue.record("\($0)") })
    pipeline.scan(paths: [file])
    if let store { try store.save(engine.baselines.snapshot()) }
    engineOut?(engine)
    return titles
}

private let internalImage = "registry.example.com/payments/api:1.0"

// MARK: New terms

@Suite struct NewTermsTests {
    @Test func specParsesAndTransforms() throws {
        let rs = ruleSet(registryRule())
        #expect(rs.diagnostics.isEmpty)
        #expect(rs.analytics.first?.kind == "new_terms")
        let i = TermTransforms.image("nginx:1.27")
        #expect(i.registry == "docker.io" && i.path == "library/nginx" && i.tag == "1.27")
        #expect(TermTransforms.image("ghcr.io/a/b@sha256:abc").registry == "ghcr.io")
        #expect(TermTransforms.image("localhost:5000/x:1").registry == "localhost:5000")
        #expect(TermTransforms.image("bitnami/redis").path == "bitnami/redis")
        #expect(TermTransforms.workload("payments-api-5f6c7d9b8-kq4zt") == "payments-api")
        #expect(TermTransforms.workload("fluent-bit-x7k2p") == "fluent-bit")
        #expect(TermTransforms.workload("redis-cache") == "redis-cache")
        #expect(TermTransforms.workload("postgres-0") == "postgres-0")
    }

    @Test func badSpecIsADiagnostic() {
        let rs = ruleSet(registryRule(learning: "soon"))
        #expect(rs.diagnostics.contains { $0.code == .invalidValue })
    }

    @Test func learningThenFirstSeenTermFires() throws {
        let rs = ruleSet(registryRule())
        var lines = (0..<8).map { deploy(t0 + Int64($0) * day, ns: "payments", name: "api", images: [internalImage]) }
        // Inside learning (day 3): a new registry is learned, not alerted.
        lines.insert(deploy(t0 + 3 * day + minute, ns: "payments", name: "dbg", images: ["quay.io/tools/dbg:1"]), at: 4)
        // After learning: a known registry is quiet, a new one fires once, then is learned.
        lines.append(deploy(t0 + 8 * day, ns: "payments", name: "fx", images: ["quay.io/tools/fx:1"]))
        lines.append(deploy(t0 + 8 * day + minute, ns: "payments", name: "sync", images: ["ghcr.io/x/sync:1"]))
        lines.append(deploy(t0 + 8 * day + 2 * minute, ns: "payments", name: "sync2", images: ["ghcr.io/x/sync:2"]))
        var engine: Engine?
        let titles = try scan(rs, lines) { engine = $0 }
        #expect(titles == ["New Registry: ghcr.io"])
        let b = try #require(engine?.baselines.rules.first)
        #expect(b.knownTerms(group: "namespace=payments") == ["ghcr.io", "quay.io", "registry.example.com"])
        #expect(b.stats.learningObservations == 8)
        #expect(b.stats.alerts == 1)
    }

    @Test func learningWindowZeroWithMinimumObservations() throws {
        let rs = ruleSet(registryRule(learning: "0").replacingOccurrences(of: "min-observations: 1", with: "min-observations: 3"))
        var lines = (0..<2).map { deploy(t0 + Int64($0) * minute, ns: "payments", name: "api", images: [internalImage]) }
        lines.append(deploy(t0 + 3 * minute, ns: "payments", name: "x", images: ["ghcr.io/x/y:1"]))  // group has 2 < 3 records
        lines.append(deploy(t0 + 4 * minute, ns: "payments", name: "z", images: ["quay.io/x/z:1"]))  // 3 records: fires
        #expect(try scan(rs, lines) == ["New Registry: quay.io"])
    }

    @Test func evictionCapsAndCounts() throws {
        let rs = ruleSet(registryRule(learning: "0").replacingOccurrences(of: "min-observations: 1", with: "min-observations: 0\n    max-terms: 16"))
        let lines = (0..<100).map { deploy(t0 + Int64($0) * minute, ns: "ns\($0)", name: "a", images: ["r\($0).example.com/a:1"]) }
        var engine: Engine?
        try scan(rs, lines) { engine = $0 }
        let b = try #require(engine?.baselines.rules.first)
        #expect(b.termCount <= 16)
        #expect(b.stats.evictedLRU > 0)
        #expect(b.stats.peakEntries == 16)
        #expect(b.stats.learned == 100)
    }
}

// MARK: Numeric baseline

@Suite struct NumericBaselineTests {
    @Test func quantities() {
        #expect(Quantity.parse("500m") == 0.5)
        #expect(Quantity.parse("2") == 2)
        #expect(Quantity.parse("2Gi") == 2_147_483_648.0)
        #expect(Quantity.parse("512Mi") == 536_870_912.0)
        #expect(Quantity.parse("1G") == 1e9)
        #expect(Quantity.parse("100k") == 1e5)
        #expect(Quantity.parse("1e3") == 1000)
        #expect(Quantity.parse("lots") == nil)
        #expect(Quantity.display(0.25, unit: .cpu) == "250m")
        #expect(Quantity.display(16, unit: .cpu) == "16 cores")
        #expect(Quantity.display(64 * 1_073_741_824, unit: .memory) == "64 GiB")
    }

    @Test func cpuRequestsAgainstTheNamespaceBaseline() throws {
        let rs = ruleSet("""
            title: Big CPU
            id: 0b7c1f3e-1111-4c5d-9e8f-000000000002
            logsource: {product: kubernetes, service: audit}
            detection:
                selection: {verb: create, objectRef.resource: deployments}
                condition: selection
            x-bulkhead-numeric-baseline:
                group-by: [entity.namespace]
                value: requestObject.spec.template.spec.containers.resources.requests.cpu
                unit: cpu
                factor: 10
                learning: 1d
                min-observations: 5
            """)
        #expect(rs.diagnostics.isEmpty)
        var lines = (0..<10).map { deploy(t0 + Int64($0) * 3 * 3_600_000_000_000, ns: "payments", name: "api", images: [internalImage, internalImage], cpu: $0 % 2 == 0 ? "250m" : "0.1") }
        lines.append(deploy(t0 + 2 * day, ns: "payments", name: "ok", images: [internalImage], cpu: "1"))      // 1 core: below 10 x mean (~0.35 x 10)
        lines.append(deploy(t0 + 2 * day + minute, ns: "payments", name: "miner", images: [internalImage], cpu: "16"))
        lines.append(deploy(t0 + 2 * day + 2 * minute, ns: "other", name: "x", images: [internalImage], cpu: "64"))  // young group
        var engine: Engine?
        let titles = try scan(rs, lines) { engine = $0 }
        #expect(titles == ["Big CPU: 16 cores"])
        let n = try #require(engine?.baselines.rules.first?.numeric(group: "namespace=payments"))
        #expect(n.count == 12 && n.max == 16)
    }
}

// MARK: Persistence

@Suite struct StatePersistenceTests {
    @Test func secondScanContinuesWhereTheFirstStopped() throws {
        let dir = tempDir()
        let rs = ruleSet(registryRule(learning: "1d"))
        let store = try SQLiteStateStore(directory: dir)
        // Scan 1: two days; quay.io learned during learning.
        let scan1 = (0..<4).map { deploy(t0 + Int64($0) * 12 * 3_600_000_000_000, ns: "payments", name: "api", images: [$0 == 1 ? "quay.io/t/x:1" : internalImage]) }
        #expect(try scan(rs, scan1, store: store).isEmpty)
        #expect(try store.rowCount("baseline_terms") == 2)
        // Scan 2, a new process and engine: the learned term is quiet, a new one fires.
        let store2 = try SQLiteStateStore(directory: dir)
        let scan2 = [deploy(t0 + 3 * day, ns: "payments", name: "a", images: ["quay.io/t/y:2"]),
                     deploy(t0 + 3 * day + minute, ns: "payments", name: "b", images: ["ghcr.io/evil/b:1"])]
        #expect(try scan(rs, scan2, store: store2) == ["New Registry: ghcr.io"])
        // Scan 3: ghcr.io was learned in scan 2.
        #expect(try scan(rs, [deploy(t0 + 4 * day, ns: "payments", name: "c", images: ["ghcr.io/evil/c:1"])], store: SQLiteStateStore(directory: dir)).isEmpty)
    }

    @Test func baselineLearnThenScanAlertsAtOnce() throws {
        let dir = tempDir()
        let rs = ruleSet(registryRule(learning: "30d"))
        let history = (0..<3).map { deploy(t0 + Int64($0) * day, ns: "payments", name: "api", images: [internalImage]) }
        var learned: Engine?
        let store = try SQLiteStateStore(directory: dir)
        let engine = Engine(ruleSet: rs)
        engine.baselines.learnOnly = true
        let file = tempDir() + "/h.jsonl"
        _ = FileManager.default.createFile(atPath: file, contents: Data(history.joined(separator: "\n").utf8))
        ScanPipeline(engine: engine, onAlert: { _ in Issue.record("learn alerted") }, onProblem: { _ in }).scan(paths: [file])
        engine.baselines.completeLearning(learning: nil)  // the history is the baseline, though the rule says 30d
        try store.save(engine.baselines.snapshot())
        learned = engine
        #expect(learned?.baselines.rules.first?.learningEnd == t0 + 2 * day)
        let titles = try scan(rs, [deploy(t0 + 3 * day, ns: "payments", name: "b", images: ["ghcr.io/evil/b:1"])], store: SQLiteStateStore(directory: dir))
        #expect(titles == ["New Registry: ghcr.io"])
    }

    @Test func retentionPrunesOldTermsInMemoryAndInTheStore() throws {
        let dir = tempDir()
        let rs = ruleSet(registryRule(learning: "0", retention: "2d"))
        let store = try SQLiteStateStore(directory: dir)
        let lines = [deploy(t0, ns: "payments", name: "old", images: ["quay.io/t/x:1"]),
                     deploy(t0 + 5 * day, ns: "payments", name: "api", images: [internalImage])]
        try scan(rs, lines, store: store)
        // quay.io was last seen 5 days before the latest record: past the 2-day retention.
        #expect(try store.rowCount("baseline_terms") == 1)
        // A stored rule that is not loaded is pruned by SQL on save.
        var snap = StateSnapshot()
        snap.baselines = [BaselineRuleState(ruleID: "gone", kind: "new_terms", learningStart: 0, learningEnd: 0, lastTime: 10 * day, retention: day,
                                            terms: [.init(group: "g", term: "old", firstSeen: 0, lastSeen: 0, count: 1),
                                                    .init(group: "g", term: "fresh", firstSeen: 0, lastSeen: 10 * day, count: 1)])]
        try store.save(snap)
        #expect(store.lastSave.pruned == 1)
        let loaded = try store.load()
        #expect(loaded.baselines.first { $0.ruleID == "gone" }?.terms.map(\.term) == ["fresh"])
        // After pruning, the forgotten term is new again.
        #expect(try scan(rs, [deploy(t0 + 6 * day, ns: "payments", name: "x", images: ["quay.io/t/x:2"])], store: SQLiteStateStore(directory: dir)) == ["New Registry: quay.io"])
    }

    @Test func gapStateRoundTrips() throws {
        let dir = tempDir()
        let store = try SQLiteStateStore(directory: dir)
        let snap = StateSnapshot(gap: GapState(watermark: t0, keys: [.init(source: "tetragon", scope: "node a", firstSeen: t0 - day, lastSeen: t0, count: 99, alerted: false)],
                                               mixes: [.init(cluster: "default", learningEnd: t0, windowStart: t0, shifted: false, counts: ["level=Metadata": [10, 2]])],
                                               auditNodes: ["a": t0]))
        try store.save(snap)
        #expect(try store.load() == snap)
    }
}

// MARK: Telemetry gaps

@Suite struct TelemetryGapTests {
    static let gapRule = """
        title: Telemetry Gap
        id: 0b7c1f3e-1111-4c5d-9e8f-000000000003
        logsource: {product: bulkhead, service: telemetry}
        detection:
            selection: {bulkhead.analytic: telemetry_gap}
            condition: selection
        level: medium
        x-bulkhead-analytic: telemetry_gap
        x-bulkhead-parameters: {min_silence: 15m, multiplier: 10, min_events: 20, learning: 1h, mix_window: 15m, mix_min_events: 50, mix_threshold: 0.4}
        """

    func monitor() throws -> TelemetryGapMonitor {
        let engine = Engine(ruleSet: ruleSet(Self.gapRule))
        return try #require(engine.baselines.gap)
    }

    @Test func silentSourceAlertsOncePastItsThreshold() throws {
        let g = try monitor()
        var findings: [TelemetryGapMonitor.Finding] = []
        for m in 0..<150 {
            let t = t0 + Int64(m) * minute
            findings += g.observe(source: "tetragon", scope: "node a", time: t)
            if m < 80 { findings += g.observe(source: "tetragon", scope: "node b", time: t + 1) }
        }
        #expect(findings.count == 1)
        guard case .silent(let key, _, let threshold, let now, let audit)? = findings.first else { Issue.record("no silence"); return }
        #expect(key.scope == "node b" && threshold == 15 * minute && audit == nil)
        #expect(now - (t0 + 79 * minute) > 15 * minute && now - (t0 + 79 * minute) <= 17 * minute)
        // Resuming re-arms it.
        _ = g.observe(source: "tetragon", scope: "node b", time: t0 + 151 * minute)
        #expect(g.stats.resumed == 1)
    }

    @Test func shortPauseAndYoungKeysStayQuiet() throws {
        let g = try monitor()
        var findings: [TelemetryGapMonitor.Finding] = []
        for m in 0..<150 {
            let t = t0 + Int64(m) * minute
            findings += g.observe(source: "tetragon", scope: "node a", time: t)
            if !(80..<90).contains(m) { findings += g.observe(source: "tetragon", scope: "node b", time: t) }
            if m == 100 { findings += g.observe(source: "falco", scope: "node c", time: t) }  // one record: never judged
        }
        findings += g.finish()
        #expect(findings.isEmpty)
    }

    @Test func runtimeStopsWhileAuditShowsTheNode() throws {
        let g = try monitor()
        var findings: [TelemetryGapMonitor.Finding] = []
        for m in 0..<150 {
            let t = t0 + Int64(m) * minute
            if m < 90 { findings += g.observe(source: "falco", scope: "node ip-10-0-2-41", time: t) }
            findings += g.observe(source: "k8s_audit", scope: "cluster default", time: t, auditNode: "ip-10-0-2-41")
        }
        guard case .silent(let key, _, _, _, let audit)? = findings.first else { Issue.record("no finding"); return }
        #expect(key.source == "falco" && audit != nil)
        #expect(g.stats.runtimeStoppedAlerts == 1)
    }

    @Test func auditLevelMixShiftIsADowngrade() throws {
        let g = try monitor()
        var findings: [TelemetryGapMonitor.Finding] = []
        for s in stride(from: 0, to: 7_200, by: 15) {
            let level = s < 4_500 ? (s % 30 == 0 ? "RequestResponse" : "Metadata") : "Metadata"
            findings += g.observe(source: "k8s_audit", scope: "cluster default", time: t0 + Int64(s) * 1_000_000_000, level: level, stage: "ResponseComplete")
        }
        findings += g.finish()
        #expect(findings.count == 1)
        guard case .mixShift(_, _, _, let d, let dim, _, _)? = findings.first else { Issue.record("no shift"); return }
        #expect(dim == "level" && d >= 0.4)
        // The alert says downgrade.
        let engine = Engine(ruleSet: ruleSet(Self.gapRule))
        _ = engine
    }

    @Test func cloudTrailDeliveryStopsForOneRegion() throws {
        let g = try monitor()
        var findings: [TelemetryGapMonitor.Finding] = []
        for m in 0..<180 {
            let t = t0 + Int64(m) * minute
            findings += g.observe(source: "cloudtrail", scope: "account 111122223333 eu-west-1", time: t)
            if m < 100 { findings += g.observe(source: "cloudtrail", scope: "account 111122223333 us-east-1", time: t) }
        }
        #expect(findings.count == 1)
        #expect(g.stats.silenceAlerts == 1)
    }
}
