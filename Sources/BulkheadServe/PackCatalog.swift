import BulkheadDetections
import BulkheadEngine
import BulkheadSinks
import Foundation

/// The loaded detections as the API shows them: list, rule and ADS text, ATT&CK coverage,
/// and which detection folder a rule id belongs to.
struct PackCatalog: Sendable {
    let packs: [DetectionPack]
    let detectionByRule: [String: String]
    let coverageJSON: String

    init(rulePaths: [String]) {
        var packs: [DetectionPack] = []
        for p in rulePaths {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: p, isDirectory: &isDir), isDir.boolValue {
                let pack = DetectionPack.load(root: p)
                if !pack.detections.isEmpty { packs.append(pack) }
            }
        }
        self.packs = packs
        var byRule: [String: String] = [:]
        for pack in packs {
            for d in pack.detections { if let id = d.rule?.id { byRule[id] = d.name } }
        }
        detectionByRule = byRule
        coverageJSON = Self.coverage(packs)
    }

    var detections: [DetectionPack.Detection] { packs.flatMap(\.detections) }

    func detection(named name: String) -> DetectionPack.Detection? { detections.first { $0.name == name } }

    func summary(_ d: DetectionPack.Detection) -> JSONValue {
        .object([
            ("name", .string(d.name)), ("id", d.rule?.id.map { .string($0) } ?? .null), ("title", .string(d.title)),
            ("level", .string(d.level)), ("status", .string(d.maturity)),
            ("tactics", .array((d.rule?.tactics ?? []).map { .string($0) })),
            ("techniques", .array(d.techniques.map { .string($0) })), ("source", .string(d.source)),
        ])
    }

    func detail(_ d: DetectionPack.Detection) -> JSONValue {
        guard case .object(var fields) = summary(d) else { return .null }
        let ads = (try? String(contentsOfFile: d.adsPath, encoding: .utf8)) ?? ""
        fields += [("rule_yaml", .string(d.ruleText)), ("ads_markdown", .string(ads))]
        return .object(fields)
    }

    /// Goal, strategy and blind spots: what an analyst reads first on an alert.
    func adsExcerpt(detection name: String?) -> JSONValue {
        guard let name, let d = detection(named: name), let ads = d.ads else { return .null }
        var parts: [String] = []
        for s in ads.sections where !s.isEmpty {
            let h = s.heading.lowercased()
            if h.contains("goal") || h.contains("strategy abstract") || h.contains("blind spots") {
                parts.append("## \(s.heading)\n\n\(s.text)")
            }
        }
        return .object([("detection", .string(name)), ("excerpt", .string(parts.joined(separator: "\n\n")))])
    }

    static let tacticOrder = [
        "reconnaissance", "resource-development", "initial-access", "execution", "persistence", "privilege-escalation",
        "defense-evasion", "credential-access", "discovery", "lateral-movement", "collection", "command-and-control",
        "exfiltration", "impact",
    ]

    static func coverage(_ packs: [DetectionPack]) -> String {
        var entries: [JSONValue] = []
        var count = 0
        for pack in packs {
            let c = Coverage(pack: pack)
            count += c.detectionCount
            for e in c.entries {
                entries.append(.object([
                    ("technique", .string(e.techniqueID)), ("name", .string(e.name)), ("tactic", .string(e.tactic)),
                    ("maturity", .string(e.bestMaturity)),
                    ("detections", .array(e.detections.map {
                        .object([("name", .string($0.name)), ("title", .string($0.title)), ("level", .string($0.level)), ("maturity", .string($0.maturity))])
                    })),
                ]))
            }
        }
        return JSONText.write(.object([
            ("tactics", .array(tacticOrder.map { .string($0) })), ("detections", .int(Int64(count))), ("entries", .array(entries)),
        ]))
    }
}
