import Foundation

/// ATT&CK coverage of a detection pack: per technique and tactic, which detections cover it
/// and at what maturity; rendered as a terminal table, an ATT&CK Navigator layer and the
/// seed map (SEEDS.md).
public struct Coverage: Sendable {
    public struct DetectionRef: Sendable, Hashable {
        public var name: String
        public var title: String
        public var maturity: String
        public var level: String
    }

    public struct Entry: Sendable {
        /// As tagged (may be a v19 id).
        public var techniqueID: String
        /// The v18.1 id used in the Navigator layer (alias target for v19 ids).
        public var navigatorID: String
        public var name: String
        public var tactic: String
        public var detections: [DetectionRef]
        public var bestMaturity: String { detections.map(\.maturity).max(by: { Coverage.rank($0) < Coverage.rank($1) }) ?? "" }
    }

    public var entries: [Entry]
    /// Technique ids tagged in the pack that the catalog does not know.
    public var unknownTechniques: [String]
    public var detectionCount: Int

    public var techniqueIDs: Set<String> { Set(entries.map(\.techniqueID)) }

    /// Maturity → score: stable 3, test 2, experimental 1, anything else 0.
    public static func rank(_ maturity: String) -> Int {
        switch maturity { case "stable": 3; case "test": 2; case "experimental": 1; default: 0 }
    }

    public static let maturityColors: [(maturity: String, color: String)] = [
        ("stable", "#1a9641"), ("test", "#a6d96a"), ("experimental", "#fdae61"),
    ]

    public static func color(_ maturity: String) -> String {
        maturityColors.first { $0.maturity == maturity }?.color ?? "#d7191c"
    }

    public init(pack: DetectionPack, catalog: AttackCatalog = .bundled) {
        var byKey: [String: Entry] = [:]
        var unknown = Set<String>()
        for d in pack.detections {
            guard let rule = d.rule else { continue }
            let ref = DetectionRef(name: d.name, title: rule.title, maturity: rule.status ?? "experimental", level: rule.level ?? "")
            let ruleTactics = Set(rule.tactics.map(catalog.canonicalTactic))
            for raw in rule.techniques {
                let id = raw.uppercased()
                guard let t = catalog.resolve(id) else { unknown.insert(id); continue }
                var tactics = t.tactics.filter { ruleTactics.contains($0) }
                if tactics.isEmpty { tactics = t.tactics }
                for tactic in tactics {
                    let key = id + "|" + tactic
                    var e = byKey[key] ?? Entry(techniqueID: id, navigatorID: t.id, name: catalog.name(of: id) ?? t.name, tactic: tactic, detections: [])
                    if !e.detections.contains(ref) { e.detections.append(ref) }
                    byKey[key] = e
                }
            }
        }
        entries = byKey.values.sorted {
            let a = AttackCatalog.tacticOrder.firstIndex(of: $0.tactic) ?? 99, b = AttackCatalog.tacticOrder.firstIndex(of: $1.tactic) ?? 99
            return a != b ? a < b : $0.techniqueID < $1.techniqueID
        }
        unknownTechniques = unknown.sorted()
        detectionCount = pack.detections.count
    }

    // MARK: terminal table

    public func table() -> String {
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? String(s.prefix(n)) : s + String(repeating: " ", count: n - s.count) }
        var out = "\(pad("technique", 10)) \(pad("name", 48)) \(pad("tactic", 21)) \(pad("detections", 10)) best maturity\n"
        for e in entries {
            out += "\(pad(e.techniqueID, 10)) \(pad(e.name, 48)) \(pad(e.tactic, 21)) \(pad(String(e.detections.count), 10)) \(e.bestMaturity)\n"
        }
        let techniques = techniqueIDs
        let tactics = Set(entries.map(\.tactic))
        let byMaturity = Dictionary(grouping: techniques, by: { id in entries.filter { $0.techniqueID == id }.map(\.bestMaturity).max(by: { Coverage.rank($0) < Coverage.rank($1) }) ?? "" })
        out += "\n\(techniques.count) techniques (\(techniques.filter { !$0.contains(".") }.count) techniques, \(techniques.filter { $0.contains(".") }.count) sub-techniques) in \(tactics.count) tactics, \(entries.count) technique/tactic cells, \(detectionCount) detections"
        out += "\nbest maturity: " + Coverage.maturityColors.map { "\($0.maturity) \(byMaturity[$0.maturity]?.count ?? 0)" }.joined(separator: ", ")
        if !unknownTechniques.isEmpty { out += "\nnot in ATT&CK v18.1: " + unknownTechniques.joined(separator: ", ") }
        return out + "\n"
    }

    // MARK: ATT&CK Navigator layer (format 4.5)

    public func navigatorLayer(name: String = "bulkhead detections") -> [String: Any] {
        var techniques: [[String: Any]] = []
        var covered = Set<String>()
        // Merge v19 aliases into their v18.1 targets: one cell per (id, tactic).
        var cells: [String: (id: String, tactic: String, detections: [DetectionRef], tagged: Set<String>)] = [:]
        var order: [String] = []
        for e in entries {
            let key = e.navigatorID + "|" + e.tactic
            if cells[key] == nil { cells[key] = (e.navigatorID, e.tactic, [], []); order.append(key) }
            for d in e.detections where !cells[key]!.detections.contains(d) { cells[key]!.detections.append(d) }
            cells[key]!.tagged.insert(e.techniqueID)
        }
        for key in order {
            let c = cells[key]!
            let best = c.detections.map(\.maturity).max(by: { Coverage.rank($0) < Coverage.rank($1) }) ?? ""
            var comment = c.detections.map { "\($0.name) (\($0.maturity), \($0.level))" }.joined(separator: "; ")
            let aliases = c.tagged.filter { $0 != c.id }.sorted()
            if !aliases.isEmpty { comment += "; tagged as ATT&CK v19 \(aliases.joined(separator: ", "))" }
            techniques.append([
                "techniqueID": c.id, "tactic": c.tactic, "score": Coverage.rank(best), "color": Coverage.color(best),
                "comment": comment, "enabled": true, "metadata": [] as [Any], "links": [] as [Any], "showSubtechniques": false,
            ])
            covered.insert(key)
        }
        // Expand parents of covered sub-techniques so they are visible.
        for key in order {
            let c = cells[key]!
            guard let dot = c.id.firstIndex(of: ".") else { continue }
            let parentKey = String(c.id[..<dot]) + "|" + c.tactic
            if covered.contains(parentKey) {
                if let i = techniques.firstIndex(where: { ($0["techniqueID"] as? String) == String(c.id[..<dot]) && ($0["tactic"] as? String) == c.tactic }) {
                    techniques[i]["showSubtechniques"] = true
                }
                continue
            }
            covered.insert(parentKey)
            techniques.append(["techniqueID": String(c.id[..<dot]), "tactic": c.tactic, "enabled": true, "showSubtechniques": true,
                               "metadata": [] as [Any], "links": [] as [Any]])
        }
        return [
            "name": name,
            "versions": ["attack": "18", "navigator": "5.1.0", "layer": "4.5"],
            "domain": "enterprise-attack",
            "description": "Techniques covered by the bulkhead detection pack (\(detectionCount) detections). Score and color by best maturity: stable 3, test 2, experimental 1.",
            "filters": ["platforms": ["Linux", "Windows", "IaaS", "Containers", "Network Devices"]],
            "sorting": 3,
            "layout": ["layout": "side", "aggregateFunction": "max", "showID": true, "showName": true, "showAggregateScores": false, "countUnscored": false, "expandedSubtechniques": "annotated"],
            "hideDisabled": false,
            "techniques": techniques,
            "gradient": ["colors": ["#fdae61", "#a6d96a", "#1a9641"], "minValue": 1, "maxValue": 3],
            "legendItems": Coverage.maturityColors.map { ["label": "\($0.maturity) (score \(Coverage.rank($0.maturity)))", "color": $0.color] },
            "metadata": [["name": "generator", "value": "bulkhead coverage"]],
            "links": [] as [Any],
            "showTacticRowBackground": false, "tacticRowBackground": "#dddddd",
            "selectTechniquesAcrossTactics": true, "selectSubtechniquesWithParent": false, "selectVisibleTechniques": false,
        ]
    }

    public func navigatorJSON(name: String = "bulkhead detections") throws -> Data {
        try JSONSerialization.data(withJSONObject: navigatorLayer(name: name), options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    }

    // MARK: seed map

    /// SEEDS.md: every seed pattern of CONVENTIONS.md with the detections that cover it.
    public static func seedMap(pack: DetectionPack) -> String {
        var out = """
        # Seed map

        <!-- Generated by `bulkhead ads seeds` (or `bulkhead coverage --seeds Detections/SEEDS.md`) from the seed patterns in CONVENTIONS.md and each rule.yml's `seeds:`. Do not edit by hand; a test fails when this file is stale. -->

        Every seed pattern (see [CONVENTIONS.md](CONVENTIONS.md)) and the detections that cover it.
        Maturity is the rule's `status`.

        """
        func cell(_ s: String) -> String { s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ") }
        let known = Set(pack.seedPatterns.map(\.id))
        var uncovered: [String] = []
        var body = ""
        for (id, description) in pack.seedPatterns {
            let covering = pack.detections.filter { $0.rule?.seeds.contains(id) == true }
            if covering.isEmpty { uncovered.append(id) }
            body += "\n## \(id)\n\n\(description)\n\n"
            if covering.isEmpty { body += "_No detection covers this pattern._\n"; continue }
            body += "| detection | title | level | maturity |\n| --- | --- | --- | --- |\n"
            for d in covering {
                body += "| [\(cell(d.name))](\(d.name)/ADS.md) | \(cell(d.title)) | \(d.level) | \(d.maturity) |\n"
            }
        }
        out += "\n\(pack.seedPatterns.count) seed patterns, \(pack.seedPatterns.count - uncovered.count) covered"
        out += uncovered.isEmpty ? ".\n" : "; not covered: \(uncovered.joined(separator: ", ")).\n"
        out += body
        let stray = pack.detections.flatMap { d in (d.rule?.seeds ?? []).filter { !known.contains($0) }.map { "\(d.name): \($0)" } }
        if !stray.isEmpty {
            out += "\n## Unknown seed ids\n\n" + stray.map { "- \($0)\n" }.joined()
        }
        return out
    }
}
