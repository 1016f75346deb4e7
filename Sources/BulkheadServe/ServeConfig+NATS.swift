import BulkheadScaleOut
import Foundation
import Yams

/// The `nats:` section: with it, `serve` publishes what it ingests to JetStream for
/// `bulkhead worker` processes instead of evaluating it (docs/scale-out.md). Workers read the
/// same section. Secrets are better given as BULKHEAD_NATS_TOKEN / BULKHEAD_NATS_PASSWORD.
extension ServeConfig {
    static func nats(_ node: Node, file: String) throws -> ScaleOutConfig {
        var c = ScaleOutConfig()
        guard let m = node.mapping else { throw Problem("\(file):\(node.mark?.line ?? 0): nats: expected a mapping") }
        for (k, v) in m {
            let key = k.scalar?.string ?? "?"
            func fail(_ what: String) -> Problem { Problem("\(file):\(v.mark?.line ?? 0): nats.\(key): \(what)") }
            func string() throws -> String {
                guard let s = v.scalar?.string, !s.isEmpty else { throw fail("expected a string") }
                return s
            }
            func int(_ range: ClosedRange<Int>) throws -> Int {
                guard let i = v.scalar.flatMap({ Int($0.string) }), range.contains(i) else { throw fail("expected an integer in \(range.lowerBound)...\(range.upperBound)") }
                return i
            }
            func duration() throws -> Duration {
                guard let ns = v.scalar.flatMap({ ServeDurations.nanos($0.string) }), ns > 0 else { throw fail("expected a duration like 2m, 7d") }
                return .nanoseconds(ns)
            }
            switch key {
            case "servers":
                c.servers = try v.sequence.map { try $0.map { n in
                    guard let s = n.scalar?.string else { throw fail("expected a list of nats:// URLs") }
                    return s
                } } ?? Self.list(try string())
            case "token": c.token = try string()
            case "user": c.user = try string()
            case "password": c.password = try string()
            case "stream": c.telemetryStream = try string()
            case "subject_prefix": c.telemetryPrefix = try string()
            case "alerts_stream": c.alertsStream = try string()
            case "alerts_subject": c.alertsSubject = try string()
            case "state_bucket": c.stateBucket = try string()
            case "lease_bucket": c.leaseBucket = try string()
            case "partitions": c.partitions = try int(1...4096)
            case "partition_by":
                guard let g = BulkheadScaleOut.Partitioner.Granularity(rawValue: try string()) else { throw fail("must be namespace or pod") }
                c.granularity = g
            case "replicas": c.replicas = try int(1...5)
            case "retention": c.retention = try duration()
            case "max_bytes": c.maxStreamBytes = try int(1 << 20...Int.max)
            case "duplicate_window": c.duplicateWindow = try duration()
            default: throw Problem("\(file):\(k.mark?.line ?? 0): nats.\(key): unknown setting")
            }
        }
        return c
    }

    /// BULKHEAD_NATS_SERVERS (comma-separated; turns NATS mode on), _TOKEN, _USER, _PASSWORD.
    mutating func applyNATS(environment env: [String: String]) {
        if let v = env["BULKHEAD_NATS_SERVERS"], !v.isEmpty {
            if nats == nil { nats = ScaleOutConfig() }
            nats?.servers = Self.list(v)
        }
        guard nats != nil else { return }
        if let v = env["BULKHEAD_NATS_TOKEN"], !v.isEmpty { nats?.token = v }
        if let v = env["BULKHEAD_NATS_USER"], !v.isEmpty { nats?.user = v }
        if let v = env["BULKHEAD_NATS_PASSWORD"], !v.isEmpty { nats?.password = v }
    }

    static func list(_ s: String) -> [String] {
        s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
