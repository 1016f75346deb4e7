import BulkheadEngine
import Foundation
import Synchronization

/// Response steps of every detection: each rule's ADS.md (next to its rule file) contributes
/// its numbered `## Response` list. An ADS is read when its rule first alerts (most rules of a
/// pack never do in one scan: reading them all was a tenth of a short scan's start-up).
/// `apply` attaches the steps and the containment artefacts for the alert's entity.
public struct ResponsePlaybook: Sendable {
    /// rule id → the folder whose ADS.md holds its steps.
    private let folders: [String: String]
    /// Steps given outright, and those read so far (folder → steps).
    private let given: [String: [String]]
    private let cache = StepCache()

    final class StepCache: Sendable {
        let byFolder = Mutex<[String: [String]]>([:])
    }

    public init(steps: [String: [String]] = [:]) {
        given = steps
        folders = [:]
    }

    /// Steps from the ADS.md in the folder of each rule's file.
    public init(rules: [RuleInfo]) {
        var folders: [String: String] = [:]
        for r in rules { folders[r.id] = (r.file as NSString).deletingLastPathComponent }
        self.folders = folders
        given = [:]
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

    public func steps(for ruleID: String) -> [String] {
        if let known = given[ruleID] { return known }
        guard let folder = folders[ruleID] else { return [] }
        return cache.byFolder.withLock { cache in
            if let known = cache[folder] { return known }
            let path = (folder.isEmpty ? "." : folder) + "/ADS.md"
            let found = FileManager.default.contents(atPath: path).map { Self.responseSteps(markdown: String(decoding: $0, as: UTF8.self)) } ?? []
            cache[folder] = found
            return found
        }
    }

    /// Attaches the rule's response steps and the containment artefacts for the alert's entity.
    public func apply(_ alert: inout Alert) {
        alert.responseSteps = steps(for: alert.rule.id)
        alert.containment = Containment.artefacts(for: alert)
    }
}
