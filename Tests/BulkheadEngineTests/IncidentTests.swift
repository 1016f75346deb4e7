@testable import BulkheadEngine
import BulkheadEvent
import BulkheadRules
import BulkheadScan
import BulkheadSinks
import Foundation
import Testing

func alert(_ title: String, second: Int, level: Level = .medium, source: String = "k8s_audit", _ entity: [String: String]) -> Alert {
    let info = RuleInfo(id: title, title: title, level: level, status: nil, description: nil, tags: [], techniques: [], tactics: [],
                        falsepositives: [], references: [], seeds: [], related: [], logsource: LogSource(), file: "r.yml", line: 1)
    return Alert(rule: info, time: 1_790_000_000_000_000_000 + Int64(second) * 1_000_000_000, origin: Origin(name: "f", line: second),
                 source: source, entity: Entity(values: entity), event: "{}")
}

@Suite struct IncidentTests {
    @Test func alertsSharingAnEntityFormOneIncidentAcrossSources() {
        let b = IncidentBuilder()
        b.add(alert("exec", second: 0, ["namespace": "prod", "pod": "web", "user": "mallory"]))
        b.add(alert("shell", second: 30, level: .high, source: "tetragon", ["namespace": "prod", "pod": "web", "container_id": "containerd://abcdef0123456789", "node": "n1"]))
        b.add(alert("nc", second: 60, level: .critical, source: "falco", ["container_id": "abcdef012345"]))
        b.add(alert("dns", second: 90, source: "zeek_dns", ["node": "n1"]))
        b.add(alert("other", second: 100, ["namespace": "dev", "pod": "api", "user": "bob"]))
        let incidents = b.finish()
        #expect(incidents.count == 2)
        let main = incidents[0]
        #expect(main.alerts == 4)
        #expect(main.level == .critical)
        #expect(main.sources == ["falco", "k8s_audit", "tetragon", "zeek_dns"])
        #expect(main.timeline.map(\.title) == ["exec", "shell", "nc", "dns"])
        #expect(main.links.contains("container_id=abcdef012345"))
        #expect(incidents[1].timeline.map(\.title) == ["other"])
    }

    @Test func bridgingAlertMergesIncidents() {
        let b = IncidentBuilder()
        b.add(alert("a", second: 0, ["namespace": "p", "pod": "x"]))
        b.add(alert("b", second: 10, ["node": "n9"]))
        b.add(alert("bridge", second: 20, level: .high, ["namespace": "p", "pod": "x", "node": "n9"]))
        let incidents = b.finish()
        #expect(incidents.count == 1)
        #expect(incidents[0].alerts == 3)
        #expect(incidents[0].level == .high)
    }

    @Test func windowAndPrivateAddressesSeparate() {
        var limits = IncidentLimits()
        limits.window = 600 * 1_000_000_000
        let b = IncidentBuilder(limits: limits)
        b.add(alert("early", second: 0, ["namespace": "p", "pod": "x"]))
        b.add(alert("much later", second: 7200, ["namespace": "p", "pod": "x"]))
        b.add(alert("private ip 1", second: 10, ["source_ip": "10.1.2.3"]))
        b.add(alert("private ip 2", second: 20, ["source_ip": "10.1.2.3"]))
        b.add(alert("public ip 1", second: 30, ["source_ip": "198.51.100.23"]))
        b.add(alert("public ip 2", second: 40, ["source_ip": "198.51.100.23"]))
        let incidents = b.finish()
        #expect(incidents.count == 5)
        #expect(incidents.contains { $0.timeline.map(\.title) == ["public ip 1", "public ip 2"] })
        #expect(b.stats.expiredKeys == 0 || b.stats.expiredKeys > 0)
    }

    @Test func keysAreCappedAndEvictionsCounted() {
        var limits = IncidentLimits()
        limits.maxKeys = 10
        limits.maxIncidents = 30
        let b = IncidentBuilder(limits: limits)
        for i in 0..<50 { b.add(alert("a\(i)", second: i, ["node": "n\(i)"])) }
        let incidents = b.finish()
        #expect(b.stats.evictedKeys > 0)
        #expect(incidents.count == 30)
        #expect(b.stats.dropped == 20)
    }

    @Test func outOfOrderAlertsGroupLikeSortedOnes() {
        func run(_ order: [Int]) -> [[String]] {
            let b = IncidentBuilder()
            let all = [alert("a", second: 0, ["node": "n1"]), alert("b", second: 60, ["node": "n1", "user": "u"]),
                       alert("c", second: 120, ["user": "u"]), alert("d", second: 4000, ["user": "u"])]
            for i in order { b.add(all[i]) }
            return b.finish().map { $0.timeline.map(\.title) }
        }
        #expect(run([0, 1, 2, 3]) == [["a", "b", "c"], ["d"]])
        #expect(run([2, 0, 1, 3]) == run([0, 1, 2, 3]))
    }

    @Test func renderedAsTextAndJSONLines() throws {
        let b = IncidentBuilder()
        b.add(alert("exec", second: 0, ["namespace": "prod", "pod": "web"]))
        b.add(alert("shell", second: 5, level: .high, source: "tetragon", ["namespace": "prod", "pod": "web"]))
        let i = b.finish()[0]
        let json = AlertRenderer(format: .jsonl).render(i)
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        #expect(object?["type"] as? String == "incident")
        #expect(object?["level"] as? String == "high")
        #expect((object?["timeline"] as? [Any])?.count == 2)
        let text = AlertRenderer(format: .text).render(i)
        #expect(text.hasPrefix("INCIDENT INC-1"))
        #expect(text.contains("tetragon"))
        let ocsf = try JSONSerialization.jsonObject(with: Data(AlertRenderer(format: .ocsf).render(i).utf8)) as? [String: Any]
        #expect(ocsf?["class_uid"] as? Int == 2005)
    }

    /// The README's attack story: one incident across audit, Tetragon, Zeek DNS and CloudTrail
    /// (joined by the attacker's public source address), apart from the earlier benign exec.
    @Test func attackStoryFormsOneIncident() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let loaded = RuleFiles.load([root.appendingPathComponent("Detections").path])
        let engine = Engine(ruleSet: RuleSet(documents: loaded.documents))
        let b = IncidentBuilder()
        let pipeline = ScanPipeline(engine: engine, onAlert: { b.add($0) }, onProblem: { _ in })
        pipeline.onInputStart = { b.beginInput(remaining: $0) }
        pipeline.scan(paths: [root.appendingPathComponent("Examples/attack-story").path])
        let incidents = b.finish()
        let story = try #require(incidents.max { $0.alerts < $1.alerts })
        #expect(story.sources == ["cloudtrail", "k8s_audit", "tetragon", "zeek_dns"])
        #expect(story.level == .critical)
        #expect(story.links.contains("pod=payments/debug-tools"))
        #expect(story.links.contains("source_ip=198.51.100.23"))
        #expect(story.alerts == b.stats.alerts - 1)
        #expect(incidents.count == 2)
        #expect(b.stats.late == 0)
    }
}
