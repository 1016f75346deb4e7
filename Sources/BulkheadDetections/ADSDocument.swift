import Foundation

/// An Alerting and Detection Strategy (Palantir ADS) document: the pack's `ADS.md` or a
/// free-form seed report. Sections keep their line numbers so lint can point at them.
public struct ADSDocument: Sendable {
    /// The Palantir ADS sections, in the framework's order.
    public static let requiredSections = [
        "Goal", "Categorization", "Strategy Abstract", "Technical Context", "Blind Spots and Assumptions",
        "False Positives", "Validation", "Priority", "Response", "Additional Resources",
    ]

    public struct Section: Sendable {
        /// The canonical ADS section name, or the heading as written when it is not one.
        public var name: String
        public var heading: String
        public var isADSSection: Bool
        public var line: Int
        /// (line number, text) of every line up to the next `##` heading.
        public var body: [(line: Int, text: String)]
        public var text: String { body.map(\.text).joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines) }
        public var isEmpty: Bool { text.isEmpty }
    }

    /// One ATT&CK technique named in Categorization.
    public struct Mapping: Sendable {
        public var id: String
        public var name: String?
        /// Tactics written next to the technique (`(Privilege Escalation)`), short names.
        public var tactics: [String]
        public var line: Int
    }

    public var path: String
    public var title: String?
    public var sections: [Section]
    public var mappings: [Mapping]
    /// Tactics from a `Tactic / Kill Chain Phases:` line (seed style), short names.
    public var declaredTactics: [String]
    public var tacticLine: Int?
    public var platforms: [String]
    public var platformLine: Int?

    public func section(_ name: String) -> Section? { sections.first { $0.name == name } }
    public var goal: String { section("Goal")?.text ?? "" }

    public static func load(path: String) throws -> ADSDocument {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return parse(String(decoding: data, as: UTF8.self), path: path)
    }

    public static func parse(_ text: String, path: String) -> ADSDocument {
        var doc = ADSDocument(path: path, title: nil, sections: [], mappings: [], declaredTactics: [], tacticLine: nil, platforms: [], platformLine: nil)
        var inFence = false
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.hasSuffix("\r") ? String(raw.dropLast()) : String(raw)
            let n = i + 1
            if line.hasPrefix("```") { inFence.toggle() }
            if !inFence, line.hasPrefix("## ") {
                let heading = String(line.dropFirst(3)).trimmingCharacters(in: .whitespaces)
                let canonical = canonicalSection(heading)
                doc.sections.append(Section(name: canonical ?? heading, heading: heading, isADSSection: canonical != nil, line: n, body: []))
                continue
            }
            if !inFence, line.hasPrefix("# "), doc.title == nil, doc.sections.isEmpty {
                doc.title = String(line.dropFirst(2)).trimmingCharacters(in: .whitespaces)
                continue
            }
            if !doc.sections.isEmpty { doc.sections[doc.sections.count - 1].body.append((n, line)) }
        }
        if let cat = doc.section("Categorization") { doc.parseCategorization(cat) }
        return doc
    }

    /// `Validation (Adversary Emulation)` → `Validation`; nil when not an ADS section.
    static func canonicalSection(_ heading: String) -> String? {
        var h = heading.replacingOccurrences(of: "*", with: "").trimmingCharacters(in: .whitespaces)
        if let paren = h.firstIndex(of: "(") { h = String(h[..<paren]).trimmingCharacters(in: .whitespaces) }
        if h.hasSuffix(":") { h.removeLast() }
        return requiredSections.first { $0.caseInsensitiveCompare(h) == .orderedSame }
    }

    private mutating func parseCategorization(_ section: Section) {
        for (n, raw) in section.body {
            var line = raw.trimmingCharacters(in: .whitespaces)
            guard line.hasPrefix("-") || line.hasPrefix("*") else { continue }
            line = String(line.dropFirst()).replacingOccurrences(of: "**", with: "").trimmingCharacters(in: .whitespaces)
            // `[MITRE ATT&CK Reference](https://attack.mitre.org/techniques/T1589/002)` is a link, not a mapping.
            if line.hasPrefix("[") { continue }
            let lower = line.lowercased()
            if let colon = line.firstIndex(of: ":"), lower.hasPrefix("platform") {
                platforms = ADSDocument.list(String(line[line.index(after: colon)...]))
                platformLine = n
            } else if let colon = line.firstIndex(of: ":"), lower.hasPrefix("tactic") {
                declaredTactics = ADSDocument.list(String(line[line.index(after: colon)...])).map(AttackCatalog.tacticShortName)
                tacticLine = n
            } else if let colon = line.firstIndex(of: ":"), lower.contains("att&ck") || lower.contains("mitre") || lower.hasPrefix("technique") {
                // `MITRE ATT&CK Mapping: T1598.002 - Spearphishing Attachment` (one or more ids)
                let rest = String(line[line.index(after: colon)...])
                let ids = ADSDocument.techniqueIDs(in: rest)
                for id in ids {
                    var name: String?
                    if ids.count == 1, let r = rest.range(of: id) {
                        let tail = rest[r.upperBound...].trimmingCharacters(in: CharacterSet(charactersIn: " -–—:\t"))
                        if !tail.isEmpty { name = tail }
                    }
                    mappings.append(Mapping(id: id, name: name, tactics: [], line: n))
                }
            } else if let id = ADSDocument.techniqueIDs(in: line).first, line.hasPrefix(id) {
                // `T1611 Escape to Host (Privilege Escalation)`
                var rest = line.dropFirst(id.count).trimmingCharacters(in: .whitespaces)
                var tactics: [String] = []
                if rest.hasSuffix(")"), let open = rest.lastIndex(of: "(") {
                    tactics = ADSDocument.list(String(rest[rest.index(after: open)..<rest.index(before: rest.endIndex)])).map(AttackCatalog.tacticShortName)
                    rest = String(rest[..<open]).trimmingCharacters(in: .whitespaces)
                }
                rest = rest.trimmingCharacters(in: CharacterSet(charactersIn: " -–—:"))
                mappings.append(Mapping(id: id, name: rest.isEmpty ? nil : rest, tactics: tactics, line: n))
            }
        }
    }

    /// `Linux, macOS`, `PRE (Preparation)`, `Defense Evasion / Execution` → items without parentheses.
    static func list(_ text: String) -> [String] {
        var cleaned = ""
        var depth = 0
        for c in text {
            if c == "(" { depth += 1 } else if c == ")" { depth = max(0, depth - 1) } else if depth == 0 { cleaned.append(c) }
        }
        return cleaned.split(whereSeparator: { $0 == "," || $0 == "/" || $0 == ";" })
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// Technique ids (`T1234`, `T1234.001`) in text, in order.
    static func techniqueIDs(in text: String) -> [String] {
        var out: [String] = []
        let chars = Array(text)
        var i = 0
        while i < chars.count {
            if chars[i] == "T", i == 0 || !(chars[i - 1].isLetter || chars[i - 1].isNumber) {
                var j = i + 1
                while j < chars.count, chars[j].isNumber { j += 1 }
                if j - i - 1 == 4 {
                    if j + 3 < chars.count, chars[j] == ".", chars[j + 1 ... j + 3].allSatisfy(\.isNumber),
                       j + 4 == chars.count || !chars[j + 4].isNumber {
                        j += 4
                    }
                    if j == chars.count || !(chars[j].isLetter || chars[j].isNumber) {
                        out.append(String(chars[i..<j]))
                    }
                    i = j
                    continue
                }
            }
            i += 1
        }
        return out
    }
}
