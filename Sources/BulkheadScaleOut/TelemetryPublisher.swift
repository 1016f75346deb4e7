import BulkheadNATS
import Logging

/// `serve`'s side of scale-out: publishes routed records to the telemetry stream, in order,
/// each with a message id derived from its batch, so that a batch replayed after a crash is
/// stored once. Returns only when JetStream has stored every record.
public final class TelemetryPublisher: Sendable {
    public let config: ScaleOutConfig
    let connection: NATSConnection
    let js: JetStream
    /// Makes message ids unique to this instance's batches (several `serve` replicas name their
    /// batches alike); kept in the data directory so replays after a restart keep their ids.
    let instance: String

    public static func connect(_ config: ScaleOutConfig, instance: String, logger: Logger) async throws -> TelemetryPublisher {
        if let problem = config.validate() { throw NATSError.invalid(problem) }
        let c = try await NATSConnection.connect(config.natsOptions)
        var js = JetStream(c)
        js.timeout = .seconds(10)
        do { try await config.ensureStreams(js) } catch {
            await c.close()
            throw error
        }
        logger.info("publishing telemetry to NATS", metadata: [
            "stream": "\(config.telemetryStream)", "partitions": "\(config.partitions)", "servers": "\(config.servers.count)"])
        return TelemetryPublisher(config: config, connection: c, js: js, instance: instance)
    }

    init(config: ScaleOutConfig, connection: NATSConnection, js: JetStream, instance: String) {
        self.config = config
        self.connection = connection
        self.js = js
        self.instance = instance
    }

    public var isConnected: Bool { connection.isConnected }
    /// The largest record one message can carry (the server's max_payload, less headers).
    public var maxRecordBytes: Int { max(1024, connection.maxPayload - 1024) }

    /// Publishes the records of one batch; `batch` names it uniquely and stably (the spool file).
    /// Returns how many the stream already had (a replay's duplicates).
    @discardableResult
    public func publish(_ records: [RoutedRecord], batch: String) async throws -> Int {
        let stem = AlertIdentity.sha256(Array((instance + "\u{0}" + batch).utf8)).prefix(32)
        let messages = records.enumerated().map { i, r in
            TelemetryMessage.make(r, prefix: config.telemetryPrefix, messageID: "\(stem)-\(i)")
        }
        let acks = try await js.publish(batch: messages, window: 256, retryFor: .seconds(30))
        return acks.filter(\.duplicate).count
    }

    public func close() async { await connection.close() }
}
