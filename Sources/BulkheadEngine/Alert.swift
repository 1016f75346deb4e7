import BulkheadEvent
import BulkheadSources

/// Where a record came from: file and line, or stream and offset.
public struct Origin: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var line: Int
    public init(name: String, line: Int) {
        self.name = name
        self.line = line
    }
    public var description: String { "\(name):\(line)" }
}

/// The entity a record belongs to: who and what, in cluster and cloud terms.
public struct Entity: Sendable, Hashable {
    public static let fieldNames = [
        "cluster", "namespace", "pod", "container_id", "container_name", "image", "node", "workload",
        "service_account", "user", "source_ip", "cloud_provider", "cloud_account", "cloud_region", "cloud_instance",
    ]
    public var values: [String: String] = [:]
    public init(values: [String: String] = [:]) { self.values = values }
    public subscript(_ name: String) -> String? {
        get { values[name] }
        set { values[name] = newValue }
    }
    public var isEmpty: Bool { values.isEmpty }

    /// A short label: the most specific thing the entity names.
    public var label: String {
        if let ns = values["namespace"], let pod = values["pod"] { return "\(ns)/\(pod)" }
        if let ns = values["namespace"], let w = values["workload"] { return "\(ns)/\(w)" }
        if let c = values["container_name"] ?? values["container_id"] { return "container \(c)" }
        if let acct = values["cloud_account"] { return "\(values["cloud_provider"] ?? "cloud") \(acct)" + (values["cloud_region"].map { " \($0)" } ?? "") }
        if let node = values["node"] { return "node \(node)" }
        if let ns = values["namespace"] { return "namespace \(ns)" }
        return values["user"] ?? values["source_ip"] ?? "-"
    }
}

public struct Alert: Sendable {
    public var rule: RuleInfo
    /// Event time in ns since the epoch, when the record has one.
    public var time: Int64?
    public var origin: Origin
    public var source: String
    public var entity: Entity
    /// The matching record as JSON text.
    public var event: String
    public var responseSteps: [String] = []
    /// Containment artefacts for the alert's entity (printed for a human, never executed).
    public var containment: [Artefact] = []
}

extension Alert {
    public init(rule: RuleInfo, time: Int64?, origin: Origin, source: String, entity: Entity, event: String) {
        self.rule = rule
        self.time = time
        self.origin = origin
        self.source = source
        self.entity = entity
        self.event = event
    }
}

/// A containment artefact: a NetworkPolicy, a block of shell commands, a note.
public struct Artefact: Sendable, Hashable {
    /// `networkpolicy`, `kubectl`, `docker`, `aws`, `azure`, `gcp`, `warning`.
    public var kind: String
    public var title: String
    public var text: String
    public init(kind: String, title: String, text: String) {
        self.kind = kind
        self.title = title
        self.text = text
    }
}

/// Extracts entity fields and event time from a record, following the source's mapping.
public struct EntityExtractor: Sendable {
    struct Rule: Sendable {
        var path: FieldPath
        /// `path if other=value` or `path if other^=prefix`.
        var condition: (FieldPath, [UInt8], prefix: Bool)?

        /// Whether the condition holds, compared on the record's bytes (no string made).
        func applies(to e: EventView) -> Bool {
            guard let (p, want, prefix) = condition else { return true }
            guard let n = e.first(p), e.kind(n) != .null else { return false }
            return e.withText(n) { v in
                guard prefix ? v.count >= want.count : v.count == want.count else { return false }
                for i in 0..<want.count where v[i] != want[i] { return false }
                return true
            }
        }
    }
    let rules: [(name: String, candidates: [Rule])]
    /// Index into `rules` by entity field name.
    let ruleIndex: [String: Int]
    let timePaths: [FieldPath]
    let provider: String?

    public init(mapping: SourceMapping) {
        var rules: [(String, [Rule])] = []
        for name in Entity.fieldNames {
            guard let specs = mapping.fields["entity.\(name)"] else {
                rules.append((name, [Rule(path: FieldPath("entity.\(name)"), condition: nil)]))
                continue
            }
            rules.append((name, specs.map(Self.parse)))
        }
        self.rules = rules
        self.ruleIndex = Dictionary(rules.enumerated().map { ($1.0, $0) }, uniquingKeysWith: { a, _ in a })
        self.timePaths = mapping.time.map(FieldPath.init)
        switch mapping.id {
        case "cloudtrail", "vpc_flow", "route53_resolver": provider = "aws"
        case "azure_activity": provider = "azure"
        case "gcp_audit": provider = "gcp"
        default: provider = nil
        }
    }

    static func parse(_ spec: String) -> Rule {
        let parts = spec.components(separatedBy: " if ")
        guard parts.count == 2 else { return Rule(path: FieldPath(spec), condition: nil) }
        let cond = parts[1]
        if let r = cond.range(of: "^=") {
            return Rule(path: FieldPath(parts[0]), condition: (FieldPath(String(cond[..<r.lowerBound])), Array(cond[r.upperBound...].utf8), true))
        }
        let kv = cond.split(separator: "=", maxSplits: 1).map(String.init)
        return Rule(path: FieldPath(parts[0]), condition: (FieldPath(kv[0]), kv.count > 1 ? Array(kv[1].utf8) : [], false))
    }

    public func entity(of e: EventView) -> Entity {
        var out = Entity()
        for (name, candidates) in rules {
            for c in candidates where c.applies(to: e) {
                if let s = e.firstString(c.path), !s.isEmpty {
                    out[name] = name == "service_account" ? Self.serviceAccount(s) : s
                    break
                }
            }
        }
        if let provider, out["cloud_provider"] == nil { out["cloud_provider"] = provider }
        return out
    }

    static func serviceAccount(_ user: String) -> String {
        // system:serviceaccount:<ns>:<name> → <ns>/<name>
        let parts = user.split(separator: ":")
        return parts.count == 4 ? "\(parts[2])/\(parts[3])" : user
    }

    public func time(of e: EventView) -> Int64? {
        for p in timePaths {
            guard let n = e.first(p) else { continue }
            let kind = e.kind(n)
            if let t = e.withText(n, { Timestamps.epochNanos($0, isNumber: kind == .number) }) { return t }
        }
        return nil
    }
}
