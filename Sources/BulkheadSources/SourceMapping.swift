import BulkheadEvent
import Foundation

/// What a telemetry format is, as data: its record kinds (each a Sigma logsource), where its
/// records keep time and entity fields, and field aliases rules may use. Loaded from
/// `Mappings/<id>.json`, so mappings change without code.
public struct SourceMapping: Sendable, Decodable {
    public struct Kind: Sendable, Decodable {
        public var name: String
        public var logsource: LogSource
    }

    public var id: String
    public var title: String
    public var kinds: [Kind]
    /// Paths holding the event time, first present wins (RFC 3339 text or epoch seconds/ns).
    public var time: [String]
    /// Rule field name → native paths (aliases; `entity.*` names included).
    public var fields: [String: [String]]

    enum CodingKeys: String, CodingKey { case id, title, kinds, time, fields }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        title = try c.decode(String.self, forKey: .title)
        kinds = try c.decode([Kind].self, forKey: .kinds)
        time = try c.decodeIfPresent([String].self, forKey: .time) ?? []
        fields = try c.decodeIfPresent([String: [String]].self, forKey: .fields) ?? [:]
    }

    public init(id: String, title: String, kinds: [Kind], time: [String], fields: [String: [String]]) {
        self.id = id
        self.title = title
        self.kinds = kinds
        self.time = time
        self.fields = fields
    }

    /// Paths for a rule field: the mapped alternatives, else the field as a native path.
    public func paths(for field: String) -> [FieldPath] {
        if let mapped = fields[field] { return mapped.map(FieldPath.init) }
        return [FieldPath(field)]
    }

    public static func load(_ id: String) -> SourceMapping {
        guard let url = Bundle.module.url(forResource: id, withExtension: "json", subdirectory: "Mappings"),
              let data = try? Data(contentsOf: url) else {
            preconditionFailure("mapping \(id).json missing from the BulkheadSources bundle")
        }
        do {
            return try JSONDecoder().decode(SourceMapping.self, from: data)
        } catch {
            preconditionFailure("mapping \(id).json is invalid: \(error)")
        }
    }
}

extension LogSource: Decodable {
    enum CodingKeys: String, CodingKey { case product, service, category }
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(product: try c.decodeIfPresent(String.self, forKey: .product),
                  service: try c.decodeIfPresent(String.self, forKey: .service),
                  category: try c.decodeIfPresent(String.self, forKey: .category))
    }
}

/// The outcome of decoding one JSON record.
public enum DecodeResult: Sendable {
    /// The record as read, of mapping kind `kind`.
    case record(kind: Int)
    /// The decoder wrote a new JSON object into the output buffer (unwrapped or enriched).
    case rewritten(kind: Int)
    /// The record belongs to this format but carries nothing to evaluate (e.g. a header).
    case skip
    case invalid(String)
}

/// A telemetry format whose records are JSON objects.
public protocol JSONFormat: Sendable {
    var mapping: SourceMapping { get }
    /// Whether a parsed record looks like this format (checked on a file's first records).
    func sniff(_ record: EventView) -> Bool
    /// Classifies a record, or rewrites it into `out` (a complete JSON object).
    func decode(_ record: EventView, into out: inout [UInt8]) -> DecodeResult
}

extension JSONFormat {
    public var id: String { mapping.id }
    public func decode(_ record: EventView, into out: inout [UInt8]) -> DecodeResult { .record(kind: 0) }
}

/// Small helpers formats use to sniff and classify without allocating.
extension EventView {
    /// Whether the string at `path` equals `text` exactly.
    public func has(_ path: FieldPath, equalTo text: StaticString) -> Bool {
        guard let n = first(path), kind(n) == .string else { return false }
        return withText(n) { v in
            let count = text.utf8CodeUnitCount
            guard v.count == count else { return false }
            let p = text.utf8Start
            for i in 0..<count where v[i] != p[i] { return false }
            return true
        }
    }

    /// Whether the string at `path` starts with `prefix`.
    public func has(_ path: FieldPath, prefix: StaticString) -> Bool {
        guard let n = first(path), kind(n) == .string else { return false }
        return withText(n) { v in
            let count = prefix.utf8CodeUnitCount
            guard v.count >= count else { return false }
            let p = prefix.utf8Start
            for i in 0..<count where v[i] != p[i] { return false }
            return true
        }
    }
}
