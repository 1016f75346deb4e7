import BulkheadEvent
import BulkheadSources
import Foundation
import Testing

/// Helpers for JSON format tests: fixture loading, sniffing among `Formats.all`, decoding,
/// and reading fields / entities back from the record a rule would see.
enum JSONFixture {
    struct Failure: Error, CustomStringConvertible { var description: String }

    static func url(_ id: String, _ file: String) throws -> URL {
        let name = (file as NSString).deletingPathExtension
        let ext = (file as NSString).pathExtension
        guard let url = Bundle.module.url(forResource: name, withExtension: ext, subdirectory: "Fixtures/\(id)") else {
            throw Failure(description: "fixture Fixtures/\(id)/\(file) missing")
        }
        return url
    }

    /// Non-empty lines of a JSON-lines fixture.
    static func lines(_ id: String, _ file: String) throws -> [String] {
        let text = try String(contentsOf: url(id, file), encoding: .utf8)
        return text.split(separator: "\n").map(String.init).filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
    }

    /// Elements of a JSON array fixture (or of the array under `key`), re-serialized one by
    /// one the way the framer hands them to a format.
    static func elements(_ id: String, _ file: String, key: String? = nil) throws -> [String] {
        let data = try Data(contentsOf: url(id, file))
        var value = try JSONSerialization.jsonObject(with: data)
        if let key { value = (value as? [String: Any])?[key] as Any }
        guard let array = value as? [Any] else { throw Failure(description: "\(file) is not an array") }
        return try array.map { String(decoding: try JSONSerialization.data(withJSONObject: $0), as: UTF8.self) }
    }

    static var jsonFormats: [any JSONFormat] {
        Formats.all.compactMap { if case .json(let f) = $0 { return f } else { return nil } }
    }

    static func format(_ id: String) -> any JSONFormat {
        jsonFormats.first { $0.mapping.id == id }!
    }

    /// Runs `body` on the parsed record; nil when the text is not valid JSON.
    static func withRecord<R>(_ text: String, _ body: (EventView) -> R) -> R? {
        var bytes = Array(text.utf8)
        var tape = JSONTape()
        let scratch = ScratchBuffer()
        return bytes.withUnsafeMutableBytes { raw in
            try? EventView.with(bytes: UnsafeRawBufferPointer(raw), tape: &tape, scratch: scratch, body)
        }
    }

    static func isValidJSON(_ text: String) -> Bool { withRecord(text) { _ in true } ?? false }

    /// The id of the first JSON format whose sniff accepts the record.
    static func sniff(_ text: String) -> String? {
        withRecord(text) { r in jsonFormats.first { $0.sniff(r) }?.mapping.id } ?? nil
    }

    struct Decoded {
        var rewritten: Bool
        var kind: Int
        /// The JSON a rule evaluates: the rewritten object, or the record as read.
        var json: String
        var logsource: LogSource
    }

    /// Decodes with format `id`; nil for `.skip`, throws for `.invalid` / bad JSON.
    static func decode(_ text: String, as id: String) throws -> Decoded? {
        let f = format(id)
        var out: [UInt8] = []
        guard let result = withRecord(text, { f.decode($0, into: &out) }) else {
            throw Failure(description: "not valid JSON")
        }
        switch result {
        case .record(let kind):
            return Decoded(rewritten: false, kind: kind, json: text, logsource: f.mapping.kinds[kind].logsource)
        case .rewritten(let kind):
            return Decoded(rewritten: true, kind: kind, json: String(decoding: out, as: UTF8.self), logsource: f.mapping.kinds[kind].logsource)
        case .skip:
            return nil
        case .invalid(let message):
            throw Failure(description: message)
        }
    }

    /// Sniffs, checks the format, decodes, and checks the output is valid JSON.
    static func read(_ text: String, expect id: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Decoded {
        #expect(sniff(text) == id, "sniffed as \(sniff(text) ?? "nothing")", sourceLocation: sourceLocation)
        guard let d = try decode(text, as: id) else { throw Failure(description: "skipped") }
        #expect(isValidJSON(d.json), "output is not valid JSON: \(d.json.prefix(300))", sourceLocation: sourceLocation)
        #expect(d.json.hasPrefix("{") && d.json.hasSuffix("}"), sourceLocation: sourceLocation)
        return d
    }

    /// First value at a field path (FieldPath semantics), as text.
    static func field(_ json: String, _ path: String) -> String? {
        withRecord(json) { $0.firstString(FieldPath(path)) } ?? nil
    }

    /// Every scalar value the path reaches.
    static func values(_ json: String, _ path: String) -> [String] {
        withRecord(json) { r in
            var out: [String] = []
            r.forEachValue(FieldPath(path)) { n in
                if r.kind(n) != .object && r.kind(n) != .array && r.kind(n) != .null { out.append(r.string(n)) }
                return false
            }
            return out
        } ?? []
    }

    /// Rule field values through the mapping's aliases (first alias that reaches a value).
    static func ruleField(_ d: Decoded, _ name: String, format id: String) -> String? {
        for p in format(id).mapping.paths(for: name) {
            if let v = withRecord(d.json, { $0.firstString(p) }) ?? nil { return v }
        }
        return nil
    }

    static let entityNames = [
        "cluster", "namespace", "pod", "container_id", "container_name", "image", "node", "workload",
        "service_account", "user", "source_ip", "cloud_provider", "cloud_account", "cloud_region", "cloud_instance",
    ]

    /// The entity as the engine's EntityExtractor derives it (same `path if cond` rules).
    static func entity(_ d: Decoded, format id: String) -> [String: String] {
        let mapping = format(id).mapping
        var out: [String: String] = [:]
        _ = withRecord(d.json) { r in
            for name in entityNames {
                let specs = mapping.fields["entity.\(name)"] ?? ["entity.\(name)"]
                for spec in specs {
                    let parts = spec.components(separatedBy: " if ")
                    if parts.count == 2 {
                        let cond = parts[1]
                        let ok: Bool
                        if let range = cond.range(of: "^=") {
                            ok = r.firstString(FieldPath(String(cond[..<range.lowerBound])))?.hasPrefix(String(cond[range.upperBound...])) ?? false
                        } else {
                            let kv = cond.split(separator: "=", maxSplits: 1).map(String.init)
                            ok = r.firstString(FieldPath(kv[0])) == (kv.count > 1 ? kv[1] : "")
                        }
                        if !ok { continue }
                    }
                    if let v = r.firstString(FieldPath(parts[0])), !v.isEmpty { out[name] = v; break }
                }
            }
            return true
        }
        return out
    }
}
