import BulkheadEngine
import BulkheadSinks
import Foundation

/// The few JSON columns the store keeps (entity, response steps, containment), written with
/// the sinks' JSON writer and read back with Foundation: they are the store's own output.
enum JSONText {
    static func object(_ pairs: [(String, String)]) -> String { JSONWriter.object(pairs.map { ($0.0, .string($0.1)) }) }

    static func array(_ items: [String]) -> String { write(.array(items.map { .string($0) })) }

    static func artefacts(_ xs: [Artefact]) -> String { write(.array(xs.map(AlertJSON.artefact))) }

    static func write(_ v: JSONValue) -> String {
        var out: [UInt8] = []
        JSONWriter.write(v, &out)
        return String(decoding: out, as: UTF8.self)
    }

    private static func parse(_ s: String) -> Any? { try? JSONSerialization.jsonObject(with: Data(s.utf8), options: [.fragmentsAllowed]) }

    static func parseObject(_ s: String) -> [String: String] { (parse(s) as? [String: Any])?.compactMapValues { $0 as? String } ?? [:] }

    static func parseStrings(_ s: String) -> [String] { (parse(s) as? [Any])?.compactMap { $0 as? String } ?? [] }

    static func parseArtefacts(_ s: String) -> [Artefact] {
        ((parse(s) as? [Any]) ?? []).compactMap { x in
            guard let o = x as? [String: Any] else { return nil }
            return Artefact(kind: o["kind"] as? String ?? "", title: o["title"] as? String ?? "", text: o["text"] as? String ?? "")
        }
    }
}
