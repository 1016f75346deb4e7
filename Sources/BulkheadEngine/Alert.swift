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
///
/// Runs for records that alert and for every record the stateful analytics see, so the rules
/// are plain values over raw path keys (no reference counting per record) and conditions are
/// compared on the record's bytes.
public final class EntityExtractor: @unchecked Sendable {
    struct Rule {
        var key: PathKey
        /// `path if other=value` or `path if other^=prefix`.
        var condition: PathKey?
        var value: UnsafeBufferPointer<UInt8>
        var prefix: Bool

        /// Whether the condition holds.
        func applies(to e: EventView) -> Bool {
            guard let c = condition else { return true }
            var n: Int?
            e.forEachValue(c) { n = $0; return true }
            guard let n, e.kind(n) != .null else { return false }
            return e.withText(n) { v in
                guard prefix ? v.count >= value.count : v.count == value.count else { return false }
                for i in 0..<value.count where v[i] != value[i] { return false }
                return true
            }
        }

        /// The first non-empty text the path holds, when the condition holds.
        func text(of e: EventView) -> String? {
            guard applies(to: e) else { return nil }
            var found: Int?
            e.forEachValue(key) { found = $0; return true }
            guard let n = found, e.kind(n) != .null else { return nil }
            let s = e.string(n)
            return s.isEmpty ? nil : s
        }
    }

    /// Owns the keys' and values' storage for the extractor's lifetime.
    final class Storage: @unchecked Sendable {
        var keys: [PathKey] = []
        var values: [UnsafeMutableBufferPointer<UInt8>] = []
        func key(_ path: String) -> PathKey {
            let k = PathKey.copy(of: FieldPath(path))
            keys.append(k)
            return k
        }
        func bytes(_ text: Substring) -> UnsafeBufferPointer<UInt8> {
            let b = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(text.utf8.count, 1))
            _ = b.initialize(from: text.utf8)
            values.append(b)
            return UnsafeBufferPointer(rebasing: b[0..<text.utf8.count])
        }
        deinit {
            for k in keys { k.deallocate() }
            for v in values { v.deallocate() }
        }
    }

    private let storage: Storage
    /// Per entity field (in `Entity.fieldNames` order): its name and its candidates, in order.
    let names: [String]
    let candidates: [[Rule]]
    /// Index into `names` by entity field name.
    let ruleIndex: [String: Int]
    let timeKeys: [PathKey]
    let provider: String?

    public init(mapping: SourceMapping) {
        let storage = Storage()
        self.storage = storage
        var candidates: [[Rule]] = []
        for name in Entity.fieldNames {
            let specs = mapping.fields["entity.\(name)"] ?? ["entity.\(name)"]
            candidates.append(specs.map { Self.parse($0, storage) })
        }
        self.names = Entity.fieldNames
        self.candidates = candidates
        self.ruleIndex = Dictionary(Entity.fieldNames.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        self.timeKeys = mapping.time.map { storage.key($0) }
        switch mapping.id {
        case "cloudtrail", "vpc_flow", "route53_resolver": provider = "aws"
        case "azure_activity": provider = "azure"
        case "gcp_audit": provider = "gcp"
        default: provider = nil
        }
    }

    static func parse(_ spec: String, _ storage: Storage) -> Rule {
        let parts = spec.components(separatedBy: " if ")
        guard parts.count == 2 else { return Rule(key: storage.key(spec), condition: nil, value: UnsafeBufferPointer(start: nil, count: 0), prefix: false) }
        let cond = parts[1]
        if let r = cond.range(of: "^=") {
            return Rule(key: storage.key(parts[0]), condition: storage.key(String(cond[..<r.lowerBound])), value: storage.bytes(cond[r.upperBound...]), prefix: true)
        }
        let kv = cond.split(separator: "=", maxSplits: 1)
        return Rule(key: storage.key(parts[0]), condition: storage.key(String(kv[0])), value: storage.bytes(kv.count > 1 ? kv[1] : ""), prefix: false)
    }

    public func entity(of e: EventView) -> Entity {
        var out = Entity()
        for f in names.indices {
            for c in candidates[f] {
                if let s = c.text(of: e) {
                    out[names[f]] = names[f] == "service_account" ? Self.serviceAccount(s) : s
                    break
                }
            }
        }
        if let provider, out["cloud_provider"] == nil { out["cloud_provider"] = provider }
        return out
    }

    /// One entity field of a record (cheaper than `entity(of:)`).
    func value(_ name: String, of e: EventView) -> String? {
        guard let i = ruleIndex[name] else { return nil }
        for c in candidates[i] { if let s = c.text(of: e) { return s } }
        return nil
    }

    static func serviceAccount(_ user: String) -> String {
        // system:serviceaccount:<ns>:<name> → <ns>/<name>
        let parts = user.split(separator: ":")
        return parts.count == 4 ? "\(parts[2])/\(parts[3])" : user
    }

    public func time(of e: EventView) -> Int64? {
        for k in timeKeys {
            var found: Int?
            e.forEachValue(k) { found = $0; return true }
            guard let n = found else { continue }
            let kind = e.kind(n)
            if let t = e.withText(n, { Timestamps.epochNanos($0, isNumber: kind == .number) }) { return t }
        }
        return nil
    }
}
