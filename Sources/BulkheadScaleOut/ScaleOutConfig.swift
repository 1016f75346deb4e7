import BulkheadNATS

/// Where scale-out lives in NATS, shared by `serve` (publishing) and `bulkhead worker`. Every
/// worker and every publisher of one deployment must agree on all of it, the partition count
/// above all (a record's partition is its key's hash modulo the count).
public struct ScaleOutConfig: Sendable {
    public var servers: [String] = ["nats://127.0.0.1:4222"]
    public var token: String?
    public var user: String?
    public var password: String?
    public var telemetryStream = "BULKHEAD_TELEMETRY"
    public var telemetryPrefix = "bulkhead.telemetry"
    public var alertsStream = "BULKHEAD_ALERTS"
    public var alertsSubject = "bulkhead.alerts"
    public var stateBucket = "bulkhead-state"
    public var leaseBucket = "bulkhead-leases"
    public var partitions = 16
    public var granularity = Partitioner.Granularity.namespace
    /// Stream and bucket replicas (3 on a three-node cluster).
    public var replicas = 1
    /// Telemetry is kept this long: it must outlast the longest a partition may go unprocessed
    /// (a takeover replays from the last checkpoint, so at least the checkpoint interval plus
    /// the lease TTL; in practice hours, for outages).
    public var retention: Duration = .seconds(7 * 86_400)
    /// Optional cap on the telemetry stream's size; past it the oldest records go, processed or not.
    public var maxStreamBytes: Int?
    /// Window in which JetStream drops a resent record or alert with the same `Nats-Msg-Id`.
    public var duplicateWindow: Duration = .seconds(120)
    public var connectTimeout: Duration = .seconds(10)

    public init() {}

    public var partitioner: Partitioner { Partitioner(count: partitions, granularity: granularity) }

    public var natsOptions: NATSOptions {
        var o = NATSOptions(servers: servers, token: token, user: user, password: password)
        o.name = "bulkhead"
        o.connectTimeout = connectTimeout
        return o
    }

    /// What is wrong with the settings, for a clear error at start.
    public func validate() -> String? {
        if servers.isEmpty { return "nats: no servers" }
        if !(1...Partitioner.maxCount).contains(partitions) { return "nats: partitions must be 1 to \(Partitioner.maxCount)" }
        if !(1...5).contains(replicas) { return "nats: replicas must be 1 to 5" }
        if (user == nil) != (password == nil) { return "nats: user and password go together" }
        for (what, name) in [("telemetry_stream", telemetryStream), ("alerts_stream", alertsStream), ("state_bucket", stateBucket), ("lease_bucket", leaseBucket)]
        where name.isEmpty || !name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) {
            return "nats: \(what) may hold letters, digits, - and _ only"
        }
        for (what, s) in [("telemetry_prefix", telemetryPrefix), ("alerts_subject", alertsSubject)]
        where s.isEmpty || s.contains(where: { $0 == " " || $0 == "*" || $0 == ">" }) || s.hasPrefix(".") || s.hasSuffix(".") {
            return "nats: \(what) must be a plain subject"
        }
        return nil
    }

    /// Creates the streams (idempotent; retried through a cluster's elections): telemetry
    /// partitioned by subject, alerts de-duplicated by id within the duplicate window.
    public func ensureStreams(_ js: JetStream) async throws {
        var telemetry = JetStream.StreamConfig(name: telemetryStream, subjects: [telemetryPrefix + ".>"])
        telemetry.replicas = replicas
        telemetry.maxAge = retention
        telemetry.maxBytes = maxStreamBytes
        telemetry.duplicateWindow = duplicateWindow
        try await JetStream.retryingTransient { try await js.createStream(telemetry) }
        var alerts = JetStream.StreamConfig(name: alertsStream, subjects: [alertsSubject])
        alerts.replicas = replicas
        alerts.maxAge = retention
        alerts.duplicateWindow = duplicateWindow
        try await JetStream.retryingTransient { try await js.createStream(alerts) }
    }
}

/// Printed settings never show the token or password (a config dumped into a log stays safe).
extension ScaleOutConfig: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String {
        "nats(servers: \(servers.joined(separator: ",")), auth: \(token != nil ? "token" : user != nil ? "user \(user!)" : "none"), "
            + "stream: \(telemetryStream), partitions: \(partitions) by \(granularity.rawValue), replicas: \(replicas))"
    }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["description": description]) }
}
