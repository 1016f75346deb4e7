import BulkheadDetections
import Foundation
import Testing

enum SeedFixtures {
    static let names = ["000_4eb3264fdb4ba1f6", "001_1d5e6e988fce5eee", "002_f9594e4b52e449fe", "003_4bdeaaec94fa1e74", "004_7a920feaaf9ef004"]
    static func path(_ name: String) throws -> String {
        try #require(Bundle.module.url(forResource: name, withExtension: "txt", subdirectory: "Fixtures/seeds"), "fixture \(name).txt missing").path
    }
}

@Suite struct ADSLintTests {
    let lint = ADSLint()

    @Test func bundledCatalogLoads() {
        let c = AttackCatalog.bundled
        #expect(c.techniques.count > 800)
        #expect(c.resolve("T1611")?.name == "Escape to Host")
        #expect(c.source.contains("MITRE"))
        // v19 ids accepted through the alias table (an assumption, see v19-aliases.json).
        #expect(c.resolve("T1685")?.id == "T1562.001")
        #expect(c.resolve("T1686.001")?.id == "T1562.007")
        #expect(c.resolve("T1685.003") != nil)  // unlisted sub-technique falls back to the parent
        #expect(c.canonicalTactic("defense-impairment") == "defense-evasion")
        #expect(c.resolve("T9999") == nil)
    }

    @Test func packIsClean() {
        let (findings, documents, errors) = lint.lint(paths: [Pack.root])
        #expect(errors.isEmpty)
        #expect(documents == Pack.detections.count)
        #expect(findings.isEmpty, "\(findings.map(\.description).joined(separator: "\n"))")
    }

    @Test func seedsProduceTheExpectedFindings() throws {
        var byFile: [String: [ADSLint.Finding]] = [:]
        for name in SeedFixtures.names {
            let doc = try ADSDocument.load(path: try SeedFixtures.path(name))
            byFile[String(name.prefix(3))] = lint.lint(report: doc)
        }
        func codes(_ seed: String) -> [String] { (byFile[seed] ?? []).map { "\($0.line): \($0.code)" } }
        let mappingCodes: Set<String> = ["tactic-goal", "technique-platform", "platform-strategy", "unknown-technique", "tactic-mismatch"]
        // 000: reconnaissance technique, PRE platform for a container-evasion goal.
        #expect(codes("000") == ["9: technique-platform", "9: tactic-goal", "10: tactic-goal", "11: platform-strategy"])
        // 001: credential-access technique for a container-evasion goal.
        #expect(codes("001") == ["7: tactic-goal", "9: tactic-goal"])
        #expect(byFile["001"]?.first?.message.contains("T1555.002") == true)
        // 002: reconnaissance technique, PRE platform; also no Validation section.
        #expect(codes("002") == ["1: missing-section", "7: technique-platform", "7: tactic-goal", "8: tactic-goal", "9: platform-strategy"])
        // 003 and 004: mappings accepted (003 lacks a Validation section).
        #expect(!(byFile["003"] ?? []).contains { mappingCodes.contains($0.code) })
        #expect(codes("003") == ["1: missing-section"])
        #expect(codes("004").isEmpty, "\(byFile["004"] ?? [])")
    }

    @Test func seedCategorizationIsParsed() throws {
        let doc = try ADSDocument.load(path: try SeedFixtures.path("002_f9594e4b52e449fe"))
        #expect(doc.mappings.map(\.id) == ["T1589.002"])  // the reference link is not a mapping
        #expect(doc.declaredTactics == ["reconnaissance"])
        #expect(doc.platforms == ["PRE"])
        let seed0 = try ADSDocument.load(path: try SeedFixtures.path("000_4eb3264fdb4ba1f6"))
        #expect(seed0.section("Validation")?.heading == "Validation (Adversary Emulation)")
    }

    static let goodADS = """
    # Privileged Pod Created

    ## Goal

    Detect privileged containers that can escape to the node.

    ## Categorization

    - T1611 Escape to Host (Privilege Escalation)
    - Platforms: Containers

    ## Strategy Abstract

    Match pod creations with privileged: true.

    ## Technical Context

    Context.

    ## Blind Spots and Assumptions

    Blind spots.

    ## False Positives

    CNI and storage drivers.

    ## Validation

    kubectl apply -f privileged.yaml

    ## Priority

    High.

    ## Response

    1. Check the pod.

    ## Additional Resources

    - https://kubernetes.io/
    """

    func lintDetection(ads: String, tags: [String] = ["attack.privilege-escalation", "attack.t1611"], product: String = "kubernetes",
                       slug: String = "privilege_escalation_privileged_pod") throws -> [String] {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ads-lint-\(UUID().uuidString)/kubernetes/\(slug)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: (dir as NSString).deletingLastPathComponent) }
        let rule = """
        title: Privileged Pod Created
        id: 2c0b6a0e-0000-4000-8000-000000000001
        status: test
        tags:
        \(tags.map { "  - \($0)" }.joined(separator: "\n"))
        logsource:
          product: \(product)
          service: audit
        detection:
          selection:
            verb: create
          condition: selection
        level: high
        """
        try rule.write(toFile: dir + "/rule.yml", atomically: true, encoding: .utf8)
        try ads.write(toFile: dir + "/ADS.md", atomically: true, encoding: .utf8)
        return lint.lint(paths: [dir]).findings.map(\.code)
    }

    @Test func aCleanDetectionHasNoFindings() throws {
        #expect(try lintDetection(ads: Self.goodADS).isEmpty)
    }

    @Test func brokenDetectionsAreFlagged() throws {
        #expect(try lintDetection(ads: Self.goodADS.replacingOccurrences(of: "## Priority\n\nHigh.\n\n", with: "")) == ["missing-section"])
        #expect(try lintDetection(ads: Self.goodADS.replacingOccurrences(of: "CNI and storage drivers.", with: "")) == ["empty-section"])
        #expect(try lintDetection(ads: Self.goodADS.replacingOccurrences(of: "## Technical Context", with: "## Context")).sorted()
                == ["missing-section", "unexpected-section"])
        #expect(try lintDetection(ads: Self.goodADS.replacingOccurrences(of: "T1611 Escape to Host", with: "T1611 Escape To The Host")) == ["technique-name"])
        #expect(try lintDetection(ads: Self.goodADS.replacingOccurrences(of: "(Privilege Escalation)", with: "(Discovery)")) == ["tactic-mismatch"])
        #expect(try lintDetection(ads: Self.goodADS.replacingOccurrences(of: "Platforms: Containers", with: "Platforms: macOS")) == ["platform-strategy"])
        #expect(try lintDetection(ads: Self.goodADS, tags: ["attack.privilege-escalation", "attack.t1611", "attack.execution", "attack.t1610"]) == ["technique-mismatch"])
        #expect(try lintDetection(ads: Self.goodADS, slug: "execution_privileged_pod") == ["tactic-mismatch"])
        // A reconnaissance technique for a container-escape goal.
        let recon = Self.goodADS.replacingOccurrences(of: "- T1611 Escape to Host (Privilege Escalation)", with: "- T1595 Active Scanning (Reconnaissance)")
        let codes = try lintDetection(ads: recon, tags: ["attack.privilege-escalation", "attack.t1595"])
        #expect(codes.contains("tactic-goal") && codes.contains("technique-platform"))
        #expect(try lintDetection(ads: Self.goodADS.replacingOccurrences(of: "T1611 Escape to Host", with: "T1999 Nothing"),
                                  tags: ["attack.privilege-escalation", "attack.t1999"]).contains("unknown-technique"))
    }

    @Test func v19AliasesAreAccepted() throws {
        let ads = Self.goodADS
            .replacingOccurrences(of: "Detect privileged containers that can escape to the node.", with: "Detect security tools being disabled in containers.")
            .replacingOccurrences(of: "- T1611 Escape to Host (Privilege Escalation)", with: "- T1685 Disable or Modify Tools (Defense Impairment)")
        #expect(try lintDetection(ads: ads, tags: ["attack.defense-impairment", "attack.t1685"], slug: "defense_evasion_tools_disabled").isEmpty)
    }
}

@Suite struct CoverageTests {
    @Test func navigatorLayerHasTheExpectedShape() throws {
        let coverage = Coverage(pack: DetectionPack.load(root: Pack.root))
        let data = try coverage.navigatorJSON()
        let layer = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(layer["name"] is String)
        #expect(layer["domain"] as? String == "enterprise-attack")
        let versions = try #require(layer["versions"] as? [String: String])
        #expect(versions == ["attack": "18", "navigator": "5.1.0", "layer": "4.5"])
        let techniques = try #require(layer["techniques"] as? [[String: Any]])
        #expect(techniques.count >= 40)
        let catalog = AttackCatalog.bundled
        for t in techniques {
            let id = try #require(t["techniqueID"] as? String)
            let tactic = try #require(t["tactic"] as? String)
            let known = try #require(catalog.techniques[id], "\(id) not in ATT&CK v18.1")
            #expect(known.tactics.contains(tactic), "\(id) is not in tactic \(tactic)")
            if let score = t["score"] {
                #expect([1, 2, 3].contains(score as? Int), "\(id): score \(score)")
                let color = try #require(t["color"] as? String)
                #expect(color.hasPrefix("#") && color.count == 7)
                #expect((t["comment"] as? String)?.isEmpty == false)
            } else {
                #expect(id.count == 5 && t["showSubtechniques"] as? Bool == true)  // an expanded parent
            }
        }
        let legend = try #require(layer["legendItems"] as? [[String: String]])
        #expect(legend.count == 3 && legend.allSatisfy { $0["label"] != nil && $0["color"]?.hasPrefix("#") == true })
        #expect(coverage.techniqueIDs.contains("T1611"))
        #expect(coverage.unknownTechniques.isEmpty)
    }

    @Test func seedMapIsCurrent() throws {
        let pack = DetectionPack.load(root: Pack.root)
        let committed = try String(contentsOfFile: Pack.root + "/SEEDS.md", encoding: .utf8)
        #expect(committed == Coverage.seedMap(pack: pack), "Detections/SEEDS.md is stale: run `bulkhead ads seeds`")
        #expect(pack.seedPatterns.count == 27)
    }

    @Test func renderEscapesAndWritesEveryPage() throws {
        let pack = DetectionPack.load(root: Pack.root)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ads-render-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let files = try ADSRender().write(pack: pack, to: dir)
        #expect(files.count == pack.detections.count * 2 + 2)
        let d = try #require(pack.detections.first { $0.name == "kubernetes/execution_pod_exec_or_attach" })
        let html = ADSRender().html(d)
        #expect(!html.lowercased().contains("<script"))
        #expect(html.contains("T1609") && html.contains("001.exec") && html.contains("fires-attach.json"))
        #expect(html.contains("&quot;authorization.k8s.io/decision&quot;"))  // rule YAML, escaped
        #expect(ADSRender.markdownToHTML("a <b> & `<c>`") == "<p>a &lt;b&gt; &amp; <code>&lt;c&gt;</code></p>\n")
        let md = ADSRender().markdown(d)
        #expect(md.contains("```yaml") && md.contains("## Samples"))
    }
}
