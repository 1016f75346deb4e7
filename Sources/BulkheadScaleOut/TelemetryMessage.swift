import BulkheadNATS
import BulkheadSources

/// One decoded record as it travels from `serve` to a worker: the bytes the engine evaluates
/// (a JSON line as sent, an element of a batch, or a text format's decoded record), with its
/// format and record kind in headers, on `<prefix>.<format>.<partition>`.
public enum TelemetryMessage {
    static let formatHeader = "Bulkhead-Format"
    static let kindHeader = "Bulkhead-Kind"

    public static func make(_ r: RoutedRecord, prefix: String, messageID: String) -> OutgoingMessage {
        OutgoingMessage(subject: ScaleOutSubjects.telemetry(prefix: prefix, source: r.source, partition: r.partition),
                        payload: r.bytes, messageID: messageID,
                        headers: [(formatHeader, r.source), (kindHeader, String(r.kind))])
    }

    /// Format index and kind of a message, or why it cannot be evaluated.
    public static func decode(_ m: NATSMessage) -> Result<(format: Int, kind: Int), Malformed> {
        guard let id = m.header(formatHeader) else { return .failure(Malformed("no \(formatHeader) header")) }
        guard let format = Formats.index(of: id) else { return .failure(Malformed("unknown format \(id.prefix(40))")) }
        guard let k = m.header(kindHeader).flatMap({ Int($0) }), k >= 0 else { return .failure(Malformed("no valid \(kindHeader) header")) }
        if m.payload.isEmpty { return .failure(Malformed("empty record")) }
        return .success((format, k))
    }

    public struct Malformed: Error, CustomStringConvertible {
        public var description: String
        init(_ d: String) { description = d }
    }
}

/// A record with the partition its entity key hashes to.
public struct RoutedRecord: Sendable {
    public var partition: Int
    /// The format id (`k8s_audit`), also the subject's middle token.
    public var source: String
    public var kind: Int
    public var bytes: [UInt8]

    public init(partition: Int, source: String, kind: Int, bytes: [UInt8]) {
        self.partition = partition
        self.source = source
        self.kind = kind
        self.bytes = bytes
    }
}
