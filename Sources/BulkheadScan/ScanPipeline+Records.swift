import BulkheadEngine
import BulkheadSources

/// Records that were framed and decoded elsewhere: a scale-out worker gets each record from
/// NATS as the bytes, format and kind that `onRecord` saw at ingest, and evaluates it exactly
/// as a scan of the original input would have.
extension ScanPipeline {
    /// Evaluates one decoded record; false (and a bad record counted and reported) when the
    /// bytes are not one JSON value or the format or kind is unknown.
    @discardableResult
    public func scan(record bytes: [UInt8], format: Int, kind: Int, name: String, line: Int) -> Bool {
        guard Formats.all.indices.contains(format), engine.ruleSet.mappings[format].kinds.indices.contains(kind) else {
            bad(name, line, "unknown format \(format) or kind \(kind)", source: nil)
            return false
        }
        let before = stats.badRecords
        decoded(bytes, format: format, kind: kind, name: name, line: line)
        return stats.badRecords == before
    }
}
