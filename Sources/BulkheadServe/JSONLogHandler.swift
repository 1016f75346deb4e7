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

    /// An event's `error` is not written: callers put what may be logged in the message and
    /// metadata, and an error's description can quote the input.
    public func log(event: LogEvent) {
        var fields: [(String, JSONValue)] = [
            ("time", .string(ISO8601DateFormatter().string(from: Date()))), ("level", .string(event.level.rawValue)),
            ("label", .string(label)), ("source", .string(event.source)), ("message", .string(event.message.description)),
        ]
        for (k, v) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }).sorted(by: { $0.key < $1.key }) {
            fields.append((k, .string(v.description)))
        }
        FileHandle.standardError.write(Data((JSONWriter.object(fields) + "\n").utf8))
    }
}
