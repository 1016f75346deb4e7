import BulkheadEngine
import Foundation

/// Response steps of every detection, read once from the pack: each rule's ADS.md (next to its
/// rule file) contributes its numbered `## Response` list. `apply` attaches the steps and the
/// containment artefacts for the alert's entity.
public struct ResponsePlaybook: Sendable {
    /// rule id → response steps.
    public private(set) var steps: [String: [String]] = [:]

    public init(steps: [String: [String]] = [:]) { self.steps = steps }

    /// Reads the ADS.md in the folder of each rule's file.
    public init(rules: [RuleInfo]) {
        var byFolder: [String: [String]] = [:]
        for r in rules {
            let folder = (r.file as NSString).deletingLastPathComponent
            let found: [String]
            if let cached = byFolder[folder] {
                found = cached
            } else {
                let path = (folder.isEmpty ? "." : folder) + "/ADS.md"
                if let data = FileManager.default.contents(atPath: path) {
                    found = Self.responseSteps(markdown: String(decoding: data, as: UTF8.self))
                } else {
                    found = []
                }
                byFolder[folder] = found
            }
            if !found.isEmpty { steps[r.id] = found }
        }
    }

    public init(ruleSet: RuleSet) { self.init(rules: ruleSet.rules) }

    /// The items of the `## Response` section's numbered list (continuation lines joined).
    /// A section with bullets but no numbers yields the bullets.
    public static func responseSteps(markdown: String) -> [String] {
        var inSection = false
        var numbered: [String] = []
        var bullets: [String] = []
        var current: String?
        var currentIsNumbered = false
        func flush() {
            if let c = current?.trimmingCharacters(in: .whitespaces), !c.isEmpty {
                if currentIsNumbered { numbered.append(c) } else { bullets.append(c) }
            }
            current = nil
        }
        for raw in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(raw).replacingOccurrences(of: "\r", with: "")
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("#") {
                let title = trimmed.drop(while: { $0 == "#" }).trimmingCharacters(in: .whitespaces).lowercased()
                let level = trimmed.prefix(while: { $0 == "#" }).count
                if level <= 2 {
                    flush()
                    if inSection { break }
                    inSection = title == "response"
                    continue
                }
            }
            guard inSection else { continue }
            if trimmed.isEmpty { continue }
            let indent = line.prefix(while: { $0 == " " || $0 == "\t" }).count
            if indent < 4, let item = numberedItem(trimmed) {
                flush()
                current = item
                currentIsNumbered = true
            } else if indent < 2, trimmed.hasPrefix("- ") || trimmed.hasPrefix("* ") {
                flush()
                current = String(trimmed.dropFirst(2))
                currentIsNumbered = false
            } else if current != nil {
                current! += " " + trimmed
            }
        }
        flush()
        return numbered.isEmpty ? bullets : numbered
    }

    /// `12. text` or `12) text` → text.
    static func numberedItem(_ s: String) -> String? {
        let digits = s.prefix(while: { $0.isASCII && $0.isNumber })
        guard !digits.isEmpty, digits.count <= 3 else { return nil }
        let rest = s.dropFirst(digits.count)
        guard let mark = rest.first, mark == "." || mark == ")", rest.dropFirst().first == " " else { return nil }
        return rest.dropFirst(2).trimmingCharacters(in: .whitespaces)
    }

    public func steps(for ruleID: String) -> [String] { steps[ruleID] ?? [] }

    /// Attaches the rule's response steps and the containment artefacts for the alert's entity.
    public func apply(_ alert: inout Alert) {
        alert.responseSteps = steps(for: alert.rule.id)
        alert.containment = Containment.artefacts(for: alert)
    }
}
