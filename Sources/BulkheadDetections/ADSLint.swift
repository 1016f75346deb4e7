import BulkheadEvent
import BulkheadRules
import Foundation

/// Lints ADS documents: the pack's folders (ADS.md + rule.yml) and free-standing seed reports.
///
/// Checks: every Palantir ADS section present and non-empty (and, in the pack, in order and
/// nothing else); ATT&CK ids exist in the v18.1 catalog (v19's T1685/T1686 through the alias
/// table); the techniques' tactics fit the Goal; declared and technique platforms fit the
/// strategy (the rule's logsource, or a container strategy for seed reports); in the pack,
/// the ADS Categorization, the rule's tags and the folder's tactic agree.
public struct ADSLint: Sendable {
    public struct Finding: Sendable, Hashable, CustomStringConvertible {
        public var file: String
        public var line: Int
        public var code: String
        public var message: String
        public var description: String { "\(file):\(line): \(code): \(message)" }
    }

    public let catalog: AttackCatalog

    public init(catalog: AttackCatalog = .bundled) { self.catalog = catalog }

    // MARK: inputs

    public enum Input: Sendable {
        /// A pack folder holding rule.yml (and ADS.md).
        case detection(String)
        /// A markdown ADS report with no rule.
        case report(String)
    }

    /// Paths → inputs. A folder is searched for detection folders (rule.yml) and for ADS
    /// reports (`*.md`, `*.txt` outside detection folders that have a `## Goal` heading).
    public static func inputs(for paths: [String]) -> (inputs: [Input], errors: [String]) {
        let fm = FileManager.default
        var out: [Input] = [], errors: [String] = []
        for path in paths {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDir) else { errors.append("\(path): no such file or directory"); continue }
            if !isDir.boolValue {
                let dir = (path as NSString).deletingLastPathComponent
                if (path as NSString).lastPathComponent == "rule.yml" || ((path as NSString).lastPathComponent == "ADS.md" && fm.fileExists(atPath: (dir.isEmpty ? "." : dir) + "/rule.yml")) {
                    out.append(.detection(dir.isEmpty ? "." : dir))
                } else {
                    out.append(.report(path))
                }
                continue
            }
            if fm.fileExists(atPath: path + "/rule.yml") { out.append(.detection(path)); continue }
            var ruleDirs: [String] = [], reports: [String] = []
            let root = path.hasSuffix("/") ? String(path.dropLast()) : path
            if let e = fm.enumerator(atPath: root) {
                while let rel = e.nextObject() as? String {
                    let full = root + "/" + rel
                    if rel == "rule.yml" || rel.hasSuffix("/rule.yml") { ruleDirs.append((full as NSString).deletingLastPathComponent) }
                    else if rel.hasSuffix(".md") || rel.hasSuffix(".txt") { reports.append(full) }
                }
            }
            out += ruleDirs.sorted().map { .detection($0) }
            let ruleDirSet = Set(ruleDirs)
            for r in reports.sorted() where !ruleDirSet.contains((r as NSString).deletingLastPathComponent) {
                if let text = try? String(contentsOfFile: r, encoding: .utf8), text.contains("\n## Goal") || text.hasPrefix("## Goal") {
                    out.append(.report(r))
                }
            }
        }
        return (out, errors)
    }

    public func lint(paths: [String]) -> (findings: [Finding], documents: Int, errors: [String]) {
        let (inputs, errors) = ADSLint.inputs(for: paths)
        var findings: [Finding] = []
        for input in inputs {
            switch input {
            case .detection(let folder): findings += lint(detection: DetectionPack.loadDetection(folder: folder, root: nil))
            case .report(let path):
                if let doc = try? ADSDocument.load(path: path) { findings += lint(report: doc) }
                else { findings.append(Finding(file: path, line: 1, code: "unreadable", message: "cannot read the file")) }
            }
        }
        findings.sort { ($0.file, $0.line) < ($1.file, $1.line) }
        return (findings, inputs.count, errors)
    }

    // MARK: documents

    /// A seed report: sections, techniques, tactics and platforms against its Goal.
    public func lint(report doc: ADSDocument) -> [Finding] {
        var f = sectionFindings(doc, strict: false)
        let container = ADSLint.isContainerStrategy(doc.goal + " " + (doc.section("Strategy Abstract")?.text ?? "") + " " + (doc.title ?? ""))
        f += mappingFindings(doc, expectedPlatforms: container ? ADSLint.containerPlatforms : nil, strategy: "a container strategy")
        return f
    }

    /// A pack folder: ADS.md and rule.yml together.
    public func lint(detection d: DetectionPack.Detection) -> [Finding] {
        guard let doc = d.ads else { return [Finding(file: d.adsPath, line: 1, code: "missing-ads", message: "detection folder has no ADS.md")] }
        var f = sectionFindings(doc, strict: true)
        guard let rule = d.rule else {
            return f + [Finding(file: d.rulePath, line: 1, code: "missing-rule", message: "rule.yml holds no loadable Sigma rule")]
        }
        let expected = ADSLint.expectedPlatforms(for: rule.logsource)
        f += mappingFindings(doc, expectedPlatforms: expected, strategy: "logsource \(rule.logsource)")

        // ADS Categorization ↔ rule tags.
        let adsIDs = Set(doc.mappings.map { $0.id.uppercased() })
        let tagIDs = rule.techniques.map { $0.uppercased() }
        for id in tagIDs where !adsIDs.contains(id) {
            f.append(Finding(file: d.rulePath, line: d.ruleLine(containing: "attack.\(id.lowercased())"), code: "technique-mismatch",
                             message: "\(id) is tagged in rule.yml but not listed in the ADS Categorization"))
        }
        for m in doc.mappings where !tagIDs.contains(m.id.uppercased()) {
            f.append(Finding(file: doc.path, line: m.line, code: "technique-mismatch",
                             message: "\(m.id) is listed in the ADS Categorization but not tagged in rule.yml (attack.\(m.id.lowercased()))"))
        }
        // Rule tactic tags ↔ techniques ↔ folder.
        let ruleTactics = rule.tactics.map(catalog.canonicalTactic)
        for t in rule.tactics where !catalog.isKnownTactic(t) {
            f.append(Finding(file: d.rulePath, line: d.ruleLine(containing: "attack.\(t)"), code: "unknown-tactic", message: "attack.\(t) is not an ATT&CK tactic"))
        }
        if ruleTactics.isEmpty {
            f.append(Finding(file: d.rulePath, line: d.ruleLine(containing: "tags:"), code: "tactic-mismatch", message: "rule.yml has no ATT&CK tactic tag"))
        }
        for id in tagIDs {
            guard let t = catalog.resolve(id) else { continue }
            if !ruleTactics.isEmpty, Set(t.tactics).isDisjoint(with: ruleTactics) {
                f.append(Finding(file: d.rulePath, line: d.ruleLine(containing: "attack.\(id.lowercased())"), code: "tactic-mismatch",
                                 message: "\(id) \(t.name) is \(t.tactics.joined(separator: ", ")) in ATT&CK, but the rule's tactic tags are \(rule.tactics.joined(separator: ", "))"))
            }
        }
        let folderTactic = AttackCatalog.tacticShortName(ADSLint.folderTactic(d.slug) ?? "")
        if !folderTactic.isEmpty, !ruleTactics.contains(catalog.canonicalTactic(folderTactic)) {
            f.append(Finding(file: d.rulePath, line: d.ruleLine(containing: "tags:"), code: "tactic-mismatch",
                             message: "folder \(d.slug) names tactic \(folderTactic), which is not among the rule's tactic tags (\(rule.tactics.joined(separator: ", ")))"))
        }
        return f
    }

    // MARK: sections

    func sectionFindings(_ doc: ADSDocument, strict: Bool) -> [Finding] {
        var f: [Finding] = []
        let present = doc.sections.filter(\.isADSSection)
        for name in ADSDocument.requiredSections {
            let matches = present.filter { $0.name == name }
            if matches.isEmpty {
                f.append(Finding(file: doc.path, line: 1, code: "missing-section", message: "no '## \(name)' section"))
            } else {
                for s in matches where s.isEmpty { f.append(Finding(file: doc.path, line: s.line, code: "empty-section", message: "section '\(s.heading)' is empty")) }
                for s in matches.dropFirst() { f.append(Finding(file: doc.path, line: s.line, code: "duplicate-section", message: "section '\(name)' appears more than once")) }
            }
        }
        guard strict else { return f }
        for s in doc.sections where !s.isADSSection {
            f.append(Finding(file: doc.path, line: s.line, code: "unexpected-section", message: "'## \(s.heading)' is not an ADS section (use ### inside a section)"))
        }
        var last = -1
        for s in present {
            guard let idx = ADSDocument.requiredSections.firstIndex(of: s.name) else { continue }
            if idx < last {
                f.append(Finding(file: doc.path, line: s.line, code: "section-order", message: "section '\(s.name)' is out of order (expected: \(ADSDocument.requiredSections.joined(separator: ", ")))"))
            }
            last = max(last, idx)
        }
        return f
    }

    // MARK: techniques, tactics, platforms

    func mappingFindings(_ doc: ADSDocument, expectedPlatforms: Set<String>?, strategy: String) -> [Finding] {
        var f: [Finding] = []
        let catLine = doc.section("Categorization")?.line ?? 1
        if doc.mappings.isEmpty {
            f.append(Finding(file: doc.path, line: catLine, code: "no-technique", message: "Categorization names no ATT&CK technique"))
        }
        let goalTactics = ADSLint.goalTactics(doc.goal)
        var techniqueTactics = Set<String>()
        var resolved: [(mapping: ADSDocument.Mapping, technique: AttackCatalog.Technique, name: String, tactics: [String])] = []
        for m in doc.mappings {
            let technique: AttackCatalog.Technique
            var shownName: String
            switch catalog.lookup(m.id) {
            case .unknown:
                f.append(Finding(file: doc.path, line: m.line, code: "unknown-technique", message: "\(m.id) is not in ATT&CK Enterprise v\(catalog.version) (nor a known v19 alias)"))
                continue
            case .technique(let t):
                technique = t; shownName = t.name
                if t.revoked || t.deprecated {
                    f.append(Finding(file: doc.path, line: m.line, code: "revoked-technique", message: "\(m.id) \(t.name) is \(t.revoked ? "revoked" : "deprecated") in ATT&CK v\(catalog.version)"))
                }
            case .alias(let a, let t):
                technique = t; shownName = a.name
            }
            if let name = m.name, !ADSLint.sameName(name, shownName), !ADSLint.sameName(name, technique.name) {
                f.append(Finding(file: doc.path, line: m.line, code: "technique-name", message: "\(m.id) is '\(shownName)' in ATT&CK, not '\(name)'"))
            }
            let tactics = technique.tactics.map(catalog.canonicalTactic)
            techniqueTactics.formUnion(tactics)
            for t in m.tactics where !tactics.contains(catalog.canonicalTactic(t)) {
                f.append(Finding(file: doc.path, line: m.line, code: "tactic-mismatch",
                                 message: "\(m.id) \(shownName) is \(technique.tactics.map(AttackCatalog.tacticDisplayName).joined(separator: ", ")) in ATT&CK, not \(AttackCatalog.tacticDisplayName(t))"))
            }
            resolved.append((m, technique, shownName, tactics))
            if let expectedPlatforms, Set(technique.platforms).isDisjoint(with: expectedPlatforms) {
                f.append(Finding(file: doc.path, line: m.line, code: "technique-platform",
                                 message: "\(m.id) \(shownName) applies to \(technique.platforms.joined(separator: ", ")) in ATT&CK, none of which fits \(strategy) (\(expectedPlatforms.sorted().joined(separator: ", ")))"))
            }
        }
        // Tactics against the Goal: at least one technique must fit what the Goal sets out to
        // detect; pre-compromise techniques (Reconnaissance, Resource Development) never fit a
        // strategy that watches an environment from the inside.
        if let goalTactics {
            let noneFits = !resolved.isEmpty && resolved.allSatisfy { Set($0.tactics).isDisjoint(with: goalTactics.tactics) }
            for r in resolved {
                let pre = !r.tactics.isEmpty && r.tactics.allSatisfy(ADSLint.preCompromiseTactics.contains)
                guard noneFits || (pre && Set(r.tactics).isDisjoint(with: goalTactics.tactics)) else { continue }
                f.append(Finding(file: doc.path, line: r.mapping.line, code: "tactic-goal",
                                 message: "\(r.mapping.id) \(r.name) (\(r.technique.tactics.map(AttackCatalog.tacticDisplayName).joined(separator: ", "))) does not fit the Goal (\(goalTactics.themes.joined(separator: ", ")): expects \(goalTactics.tactics.sorted(by: ADSLint.tacticOrder).map(AttackCatalog.tacticDisplayName).joined(separator: ", ")))"))
            }
        }
        // Declared tactics (seed style `Tactic / Kill Chain Phases:` line).
        if let line = doc.tacticLine {
            for t in doc.declaredTactics {
                if !catalog.isKnownTactic(t) {
                    f.append(Finding(file: doc.path, line: line, code: "unknown-tactic", message: "'\(t)' is not an ATT&CK tactic"))
                } else if !techniqueTactics.isEmpty, !techniqueTactics.contains(catalog.canonicalTactic(t)) {
                    f.append(Finding(file: doc.path, line: line, code: "tactic-mismatch", message: "tactic \(AttackCatalog.tacticDisplayName(t)) is not a tactic of the mapped techniques"))
                } else if let goalTactics, !goalTactics.tactics.contains(catalog.canonicalTactic(t)),
                          !doc.declaredTactics.contains(where: { goalTactics.tactics.contains(catalog.canonicalTactic($0)) }) {
                    f.append(Finding(file: doc.path, line: line, code: "tactic-goal",
                                     message: "tactic \(AttackCatalog.tacticDisplayName(t)) does not fit the Goal (\(goalTactics.themes.joined(separator: ", ")))"))
                }
            }
        }
        // Declared platforms.
        guard let line = doc.platformLine, !doc.platforms.isEmpty else {
            f.append(Finding(file: doc.path, line: catLine, code: "no-platform", message: "Categorization names no ATT&CK platform (e.g. '- Platforms: Containers')"))
            return f
        }
        let known = catalog.platformNames
        var valid: [String] = []
        for p in doc.platforms {
            if let k = known.first(where: { $0.caseInsensitiveCompare(p) == .orderedSame }) { valid.append(k) }
            else { f.append(Finding(file: doc.path, line: line, code: "unknown-platform", message: "'\(p)' is not an ATT&CK platform (\(known.sorted().joined(separator: ", ")))")) }
        }
        for p in valid where p == "PRE" {
            f.append(Finding(file: doc.path, line: line, code: "platform-strategy",
                             message: "platform PRE is pre-compromise activity outside the environment; \(strategy) cannot observe it"))
        }
        if let expectedPlatforms, valid.contains(where: { $0 != "PRE" }), Set(valid).isDisjoint(with: expectedPlatforms) {
            f.append(Finding(file: doc.path, line: line, code: "platform-strategy",
                             message: "platforms \(valid.joined(separator: ", ")) do not fit \(strategy) (expects one of \(expectedPlatforms.sorted().joined(separator: ", ")))"))
        }
        return f
    }

    /// Tactics of activity that happens before and outside the target environment.
    static let preCompromiseTactics: Set<String> = ["reconnaissance", "resource-development"]

    static func sameName(_ a: String, _ b: String) -> Bool {
        func norm(_ s: String) -> String { s.lowercased().filter { $0.isLetter || $0.isNumber } }
        return norm(a) == norm(b)
    }

    static func tacticOrder(_ a: String, _ b: String) -> Bool {
        (AttackCatalog.tacticOrder.firstIndex(of: a) ?? 99) < (AttackCatalog.tacticOrder.firstIndex(of: b) ?? 99)
    }

    /// `privilege_escalation_host_pid` → `privilege_escalation`.
    static func folderTactic(_ slug: String) -> String? {
        let s = slug.replacingOccurrences(of: "_", with: "-")
        return AttackCatalog.tacticOrder.filter { s.hasPrefix($0 + "-") }.max(by: { $0.count < $1.count })
    }

    // MARK: strategy model (heuristics, documented in docs/detections.md)

    /// Platforms a container detection strategy can observe: the containers, their Linux or
    /// Windows hosts, and the cloud control plane they run in.
    public static let containerPlatforms: Set<String> = ["Containers", "Linux", "Windows", "IaaS"]

    /// Platforms a rule's logsource can observe.
    public static func expectedPlatforms(for ls: LogSource) -> Set<String> {
        switch ls.product {
        // Kubernetes audit records what runs in the (Linux) containers too: exec commands, node proxy.
        case "kubernetes", "openshift": return ["Containers", "Linux"]
        case "docker": return ["Containers", "Linux"]
        case "linux": return ["Linux", "Containers"]
        case "windows": return ["Windows", "Containers"]
        case "aws", "azure", "gcp": return ["IaaS", "Containers"]
        default:
            if ls.category != nil { return ["Containers", "Linux", "IaaS", "Network Devices"] }
            return containerPlatforms
        }
    }

    static func isContainerStrategy(_ text: String) -> Bool {
        let t = text.lowercased()
        return ["container", "kubernetes", "docker", " pod", "openshift", "swarm", "orchestrat"].contains { t.contains($0) }
    }

    /// What a Goal sets out to detect, as keyword themes, and the ATT&CK tactics those themes admit.
    /// Nil when the Goal names no theme (then the tactic/Goal check is skipped).
    public static func goalTactics(_ goal: String) -> (themes: [String], tactics: Set<String>)? {
        // Hyphens and line breaks as spaces: `reverse-shell` matches `reverse shell`.
        let g = " " + goal.lowercased().map { $0 == "-" || $0 == "\n" ? " " : $0 }.map(String.init).joined() + " "
        var themes: [String] = []
        var tactics = Set<String>()
        for theme in goalThemes where theme.keywords.contains(where: { g.contains($0) }) {
            if !themes.contains(theme.name) { themes.append(theme.name) }
            tactics.formUnion(theme.tactics)
        }
        // A Goal naming a tactic outright admits it.
        for t in AttackCatalog.tacticOrder where g.contains(t.replacingOccurrences(of: "-", with: " ")) {
            let name = t.replacingOccurrences(of: "-", with: " ")
            if !themes.contains(name) { themes.append(name) }
            tactics.insert(t == "defense-impairment" ? "defense-evasion" : t)
        }
        return themes.isEmpty ? nil : (themes, tactics)
    }

    static let goalThemes: [(name: String, keywords: [String], tactics: [String])] = [
        ("evasion", ["bypass", "evade", "evasion", "blind", "tamper", "disable", "impair", "weaken", "suppress", "conceal",
                     "hide", "hiding", "unmonitored", "not recorded", "unrecorded", "turn off", "turned off", "switch off",
                     "switching off", "switched off", "loosen", "relax", "delete", "deleting", "deletion", "defen", "unconfined",
                     "logging", "audit", "firewall", "security group", "guardrail"],
         ["defense-evasion"]),
        ("privilege escalation / escape", ["escape", "escalat", "privilege", "host namespace", "hostpath", "host path", "host pid",
                                           "host network", "breakout", "break out", "node filesystem", "host filesystem", "node's process",
                                           "container boundary", "root shell on the node", "capabilit", "cluster admin", "impersonat",
                                           "release agent", "release_agent", "nsenter", "host device", "runtime socket", "host bind mount",
                                           "host mount"],
         ["privilege-escalation"]),
        ("execution", ["execut", "exec ", "exec/", "command", "shell", "run ", "runs ", "running", "deploy", "launch", "start",
                       "attach", "session", "image", "workload", "pod created", "debug container"],
         ["execution"]),
        ("persistence", ["persist", "backdoor", "implant", "webhook", "sidecar", "kernel module", "retag", "survive",
                         "aws auth", "foothold"],
         ["persistence"]),
        ("process injection", ["inject", "ptrace", "memory writes", "register writes"],
         ["defense-evasion", "privilege-escalation", "credential-access"]),
        ("credential access", ["credential", "secret", "token", "password", "/environ", " environ ", "environment file", "process memory", "process's memory", "procfs", "/mem", "key material"],
         ["credential-access"]),
        ("use of valid credentials", ["credentials being used", "credential use", "token use", "token being used", "used from somewhere",
                                      "stolen token", "token theft", "valid account", "stolen credential"],
         ["initial-access", "persistence", "privilege-escalation", "defense-evasion", "lateral-movement"]),
        ("discovery", ["discover", "enumerat", "reconnaissance", "probe", "probing", "forbidden", "port scan", "network scan"],
         ["discovery"]),
        ("exfiltration", ["exfiltrat", "data out", "copy data", "scp", "rsync", "netcat", "upload", "leak", "ssh", "outbound",
                          "external host"],
         ["exfiltration", "command-and-control"]),
        ("command and control", ["command and control", " c2 ", "tunnel", "beacon", "dns over https", " doh ", "reverse shell",
                                 "resolver", "remote access", "command channel"],
         ["command-and-control"]),
        ("impact", ["mining", "miner", "cryptojack", "resource hijack", "gpu", "denial of service", "destroy"],
         ["impact"]),
        ("initial access", ["anonymous", "unauthenticated", "initial access", "from outside", "external ip", "external address", "exposed"],
         ["initial-access"]),
        ("lateral movement", ["lateral", "pivot", "other hosts", "internal host", "neighbouring", "neighboring"],
         ["lateral-movement"]),
        ("collection", ["collect"], ["collection"]),
    ]
}
