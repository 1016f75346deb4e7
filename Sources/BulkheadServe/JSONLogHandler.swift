import BulkheadSinks
import Foundation
import Logging

/// One JSON object per log line (`log_format: json`), for log pipelines that parse JSON:
/// time, level, label, message and the metadata as strings. Like the text format, it only
/// carries what the code logs: never tokens, never record payloads.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    let label: String

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(level: Logger.Level, message: Logger.Message, metadata extra: Logger.Metadata?, source: String,
                    file: String, function: String, line: UInt) {
        var fields: [(String, JSONValue)] = [
            ("time", .string(ISO8601DateFormatter().string(from: Date()))), ("level", .string(level.rawValue)),
            ("label", .string(label)), ("source", .string(source)), ("message", .string(message.description)),
        ]
        for (k, v) in metadata.merging(extra ?? [:], uniquingKeysWith: { $1 }).sorted(by: { $0.key < $1.key }) {
            fields.append((k, .string(v.description)))
        }
        FileHandle.standardError.write(Data((JSONWriter.object(fields) + "\n").utf8))
    }
}
