import Foundation

/// The MITRE ATT&CK Enterprise technique catalog (v18.1, shipped as a resource) plus the
/// v19 alias table (T1685/T1686 → the v18.1 technique they were carved out of; an assumption,
/// see Resources/attack/v19-aliases.json).
public struct AttackCatalog: Sendable {
    public struct Technique: Sendable, Hashable, Decodable {
        public var id: String
        public var name: String
        public var tactics: [String]
        public var platforms: [String]
        public var subtechnique: Bool
        public var revoked: Bool
        public var deprecated: Bool
    }

    public struct Alias: Sendable, Hashable {
        public var id: String
        public var target: String
        public var name: String
    }

    /// What looking an id up found.
    public enum Lookup: Sendable {
        case technique(Technique)
        /// A v19 id accepted through the alias table: `technique` is the v18.1 stand-in.
        case alias(Alias, Technique)
        case unknown
    }

    public let version = "18.1"
    public let source: String
    public let techniques: [String: Technique]
    public let aliases: [String: Alias]
    public let tacticAliases: [String: String]

    /// ATT&CK Enterprise tactics in matrix order (short names), plus v19's defense-impairment.
    public static let tacticOrder = [
        "reconnaissance", "resource-development", "initial-access", "execution", "persistence",
        "privilege-escalation", "defense-evasion", "defense-impairment", "credential-access", "discovery",
        "lateral-movement", "collection", "command-and-control", "exfiltration", "impact",
    ]

    public static func tacticDisplayName(_ short: String) -> String {
        if short == "command-and-control" { return "Command and Control" }
        return short.split(separator: "-").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined(separator: " ")
    }

    /// Tactic display name or short name (`Privilege Escalation`, `privilege_escalation`) → short name.
    public static func tacticShortName(_ text: String) -> String {
        text.trimmingCharacters(in: .whitespaces).lowercased()
            .replacingOccurrences(of: "_", with: "-").replacingOccurrences(of: " ", with: "-")
    }

    /// Every platform name the catalog uses.
    public var platformNames: Set<String> { Set(techniques.values.flatMap(\.platforms)) }

    public init(techniques: [Technique], source: String, aliases: [Alias] = [], tacticAliases: [String: String] = [:]) {
        self.techniques = Dictionary(techniques.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        self.source = source
        self.aliases = Dictionary(aliases.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        self.tacticAliases = tacticAliases
    }

    /// The catalog bundled with bulkhead.
    public static let bundled: AttackCatalog = {
        do { return try load() } catch { fatalError("bundled ATT&CK catalog unreadable: \(error)") }
    }()

    public static func load(catalogURL: URL? = nil, aliasesURL: URL? = nil) throws -> AttackCatalog {
        let dir = resourceDirectory()
        struct File: Decodable { var source: String; var techniques: [Technique] }
        let file = try JSONDecoder().decode(File.self, from: Data(contentsOf: catalogURL ?? dir.appendingPathComponent("enterprise-techniques-v18.1.json")))
        struct AliasFile: Decodable {
            struct Entry: Decodable { var target: String; var name: String }
            var tactics: [String: String]
            var techniques: [String: Entry]
        }
        let a = try JSONDecoder().decode(AliasFile.self, from: Data(contentsOf: aliasesURL ?? dir.appendingPathComponent("v19-aliases.json")))
        return AttackCatalog(techniques: file.techniques, source: file.source,
                             aliases: a.techniques.map { Alias(id: $0.key, target: $0.value.target, name: $0.value.name) },
                             tacticAliases: a.tactics)
    }

    /// The `Resources/attack` folder of the module bundle (layouts differ between platforms).
    static func resourceDirectory() -> URL {
        let fm = FileManager.default
        let candidates = [Bundle.module.bundleURL.appendingPathComponent("Resources/attack"),
                          Bundle.module.resourceURL?.appendingPathComponent("Resources/attack"),
                          Bundle.module.resourceURL?.appendingPathComponent("attack")].compactMap { $0 }
        return candidates.first { fm.fileExists(atPath: $0.appendingPathComponent("enterprise-techniques-v18.1.json").path) } ?? candidates[0]
    }

    /// `T1611`, `t1611.001`, `attack.t1611` → `T1611` / `T1611.001`; nil when not a technique id.
    public static func normalize(_ text: String) -> String? {
        var t = text.trimmingCharacters(in: .whitespaces).lowercased()
        if t.hasPrefix("attack.") { t.removeFirst(7) }
        guard t.hasPrefix("t") else { return nil }
        let parts = t.dropFirst().split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), parts[0].count == 4, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }) else { return nil }
        if parts.count == 2 && parts[1].count != 3 { return nil }
        return "T" + t.dropFirst()
    }

    public func lookup(_ id: String) -> Lookup {
        guard let id = AttackCatalog.normalize(id) else { return .unknown }
        if let t = techniques[id] { return .technique(t) }
        var alias = aliases[id]
        if alias == nil, let dot = id.firstIndex(of: "."), let parent = aliases[String(id[..<dot])] {
            alias = Alias(id: id, target: parent.target, name: parent.name)
        }
        if let alias, let t = techniques[alias.target] { return .alias(alias, t) }
        return .unknown
    }

    /// The technique to reason with (the alias target for v19 ids), or nil.
    public func resolve(_ id: String) -> Technique? {
        switch lookup(id) {
        case .technique(let t): return t
        case .alias(_, let t): return t
        case .unknown: return nil
        }
    }

    /// Display name: the catalog's, or the alias's own name for v19 ids.
    public func name(of id: String) -> String? {
        switch lookup(id) {
        case .technique(let t): return t.name
        case .alias(let a, _): return a.name
        case .unknown: return nil
        }
    }

    /// Tactic short name with v19 aliases applied (`defense-impairment` → `defense-evasion`).
    public func canonicalTactic(_ tactic: String) -> String {
        let short = AttackCatalog.tacticShortName(tactic)
        return tacticAliases[short] ?? short
    }

    public func isKnownTactic(_ tactic: String) -> Bool {
        AttackCatalog.tacticOrder.contains(AttackCatalog.tacticShortName(tactic))
    }
}
