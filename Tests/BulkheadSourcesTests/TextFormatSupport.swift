import BulkheadEvent
import Foundation
import Testing
@testable import BulkheadSources

/// One decoded record, parsed back with JSONTape so tests read it the way rules do.
struct DecodedRecord {
    var json: [UInt8]
    var kind: Int
    var position: Int

    var text: String { String(decoding: json, as: UTF8.self) }

    /// Whether the bytes are one valid JSON object (JSONTape).
    var isValidJSON: Bool {
        var tape = JSONTape()
        return json.withUnsafeBytes { raw in
            (try? EventView.with(bytes: raw, tape: &tape, scratch: ScratchBuffer()) { $0.kind($0.root) == .object }) ?? false
        }
    }

    /// Every value the path reaches, as text (arrays fan out).
    func values(_ path: String) -> [String] {
        var tape = JSONTape()
        let p = FieldPath(path)
        return json.withUnsafeBytes { raw in
            (try? EventView.with(bytes: raw, tape: &tape, scratch: ScratchBuffer()) { e -> [String] in
                var out: [String] = []
                e.forEachValue(p) { n in out.append(e.string(n)); return false }
                return out
            }) ?? []
        }
    }

    func value(_ path: String) -> String? { values(path).first }

    /// The JSON kind of the first value at path.
    func jsonKind(_ path: String) -> JSONTape.Kind? {
        var tape = JSONTape()
        let p = FieldPath(path)
        return json.withUnsafeBytes { raw in
            (try? EventView.with(bytes: raw, tape: &tape, scratch: ScratchBuffer()) { e -> JSONTape.Kind? in
                e.first(p).map { e.kind($0) }
            }) ?? nil
        }
    }
}

struct TextRun {
    var records: [DecodedRecord] = []
    var errors: [(line: Int, message: String)] = []
}

enum FixtureFiles {
    static func url(_ id: String, _ file: String) throws -> URL {
        let name = (file as NSString).deletingPathExtension
        let ext = (file as NSString).pathExtension
        return try #require(Bundle.module.url(forResource: name, withExtension: ext, subdirectory: "Fixtures/\(id)"),
                            "fixture Fixtures/\(id)/\(file) missing")
    }

    static func data(_ id: String, _ file: String) throws -> Data {
        try Data(contentsOf: url(id, file))
    }

    static func lines(_ id: String, _ file: String) throws -> [String] {
        let text = String(decoding: try data(id, file), as: UTF8.self)
        var lines = text.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    /// Runs a text format's decoder over a fixture, line by line, as the reader does.
    static func decode(_ format: some TextFormat, _ id: String, _ file: String) throws -> TextRun {
        try decode(format, lines: lines(id, file))
    }

    static func decode(_ format: some TextFormat, lines: [String]) -> TextRun {
        var run = TextRun()
        var decoder = format.makeDecoder()
        for (i, line) in lines.enumerated() {
            var bytes = Array(line.utf8)
            if bytes.last == 0x0D { bytes.removeLast() }
            let err = bytes.withUnsafeBufferPointer { buf in
                decoder.feed(buf, lineNumber: i + 1) { json, kind, at in
                    run.records.append(DecodedRecord(json: json, kind: kind, position: at))
                }
            }
            if let err { run.errors.append((i + 1, err)) }
        }
        decoder.finish { json, kind, at in run.records.append(DecodedRecord(json: json, kind: kind, position: at)) }
        return run
    }

    /// First lines for sniffing (up to 20).
    static func head(_ id: String, _ file: String) throws -> [String] {
        Array(try lines(id, file).prefix(20)).map { $0.hasSuffix("\r") ? String($0.dropLast()) : $0 }
    }
}
