import BulkheadRules
import BulkheadScan
import Foundation

/// The detection pack read as documents: each folder's rule, ADS and samples.
public struct DetectionPack: Sendable {
    public struct Detection: Sendable {
        /// Folder path as found (under the root given).
        public var folder: String
        /// `kubernetes/execution_pod_exec_or_attach`
        public var name: String
        public var source: String { String(name.split(separator: "/").first ?? "") }
        public var slug: String { String(name.split(separator: "/").last ?? "") }
        public var rule: SigmaRule?
        public var ruleText: String
        public var ruleDiagnostics: [Diagnostic]
        public var ads: ADSDocument?
        /// Sample file names (`fires-*`, `silent-*`) in events/.
        public var samples: [String]

        public var rulePath: String { folder + "/rule.yml" }
        public var adsPath: String { folder + "/ADS.md" }
        public var title: String { rule?.title ?? ads?.title ?? name }
        public var maturity: String { rule?.status ?? "experimental" }
        public var level: String { rule?.level ?? "" }
        /// Technique ids from the rule's tags and the ADS Categorization, in first-seen order.
        public var techniques: [String] {
            var seen: [String] = []
            for t in (rule?.techniques ?? []).map({ $0.uppercased() }) + (ads?.mappings.map(\.id) ?? []) where !seen.contains(t) { seen.append(t) }
            return seen
        }
        /// 1-based line of the first line containing `needle` in rule.yml (case-insensitive).
        public func ruleLine(containing needle: String) -> Int {
            let n = needle.lowercased()
            for (i, l) in ruleText.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where l.lowercased().contains(n) { return i + 1 }
            return 1
        }
    }

    public var root: String
    public var detections: [Detection]

    /// Seed pattern ids and descriptions from the pack's CONVENTIONS.md, in order.
    public var seedPatterns: [(id: String, description: String)]

    public static func load(root: String) -> DetectionPack {
        let fm = FileManager.default
        var folders: [String] = []
        if let e = fm.enumerator(atPath: root) {
            while let rel = e.nextObject() as? String {
                if rel == "rule.yml" || rel.hasSuffix("/rule.yml") { folders.append((root as NSString).appendingPathComponent((rel as NSString).deletingLastPathComponent)) }
            }
        }
        var detections: [Detection] = []
        for folder in folders.sorted() {
            detections.append(loadDetection(folder: folder, root: root))
        }
        let conventions = (try? String(contentsOfFile: root + "/CONVENTIONS.md", encoding: .utf8)) ?? ""
        return DetectionPack(root: root, detections: detections, seedPatterns: seedPatterns(fromConventions: conventions))
    }

    public static func loadDetection(folder: String, root: String?) -> Detection {
        let fm = FileManager.default
        let ruleText = (fm.contents(atPath: folder + "/rule.yml")).map { String(decoding: $0, as: UTF8.self) } ?? ""
        let loaded = RuleFiles.load([folder + "/rule.yml"])
        var rule: SigmaRule?
        for d in loaded.documents { if case .rule(let r) = d, rule == nil { rule = r } }
        let ads = fm.fileExists(atPath: folder + "/ADS.md") ? try? ADSDocument.load(path: folder + "/ADS.md") : nil
        let samples = ((try? fm.contentsOfDirectory(atPath: folder + "/events")) ?? [])
            .filter { $0.hasPrefix("fires-") || $0.hasPrefix("silent-") }.sorted()
        var name = folder
        if let root, folder.hasPrefix(root) { name = String(folder.dropFirst(root.count).drop(while: { $0 == "/" })) }
        let parts = name.split(separator: "/")
        if parts.count > 2 { name = parts.suffix(2).joined(separator: "/") }
        return Detection(folder: folder, name: name, rule: rule, ruleText: ruleText, ruleDiagnostics: loaded.diagnostics, ads: ads, samples: samples)
    }

    /// `- 000.container-escape: description` lines of CONVENTIONS.md.
    public static func seedPatterns(fromConventions text: String) -> [(id: String, description: String)] {
        text.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("- 0"), let colon = line.firstIndex(of: ":") else { return nil }
            let id = String(line.dropFirst(2)[..<colon])
            guard id.first?.isNumber == true, !id.contains(" ") else { return nil }
            return (id, line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
    }
}
