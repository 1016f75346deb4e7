import Foundation
import Synchronization

/// Counters and histograms in the Prometheus text format. Label values come from a closed set
/// (source ids, rule ids of loaded rules, endpoints, status codes, sink names), so series
/// stay bounded whatever senders send.
public final class ServiceMetrics: Sendable {
    struct Histogram {
        static let bounds: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
        var buckets = [Int](repeating: 0, count: bounds.count)
        var count = 0
        var sum = 0.0
        mutating func observe(_ v: Double) {
            count += 1
            sum += v
            for (i, b) in Self.bounds.enumerated() where v <= b { buckets[i] += 1 }
        }
    }

    struct State {
        var counters: [String: [String: Double]] = [:]   // metric name → label set → value
        var histograms: [String: Histogram] = [:]
        var gauges: [String: [String: Double]] = [:]
    }

    private let state = Mutex(State())
    static let help: [String: (type: String, help: String)] = [
        "bulkhead_records_total": ("counter", "Records read, per source."),
        "bulkhead_bad_records_total": ("counter", "Records that could not be read, per source."),
        "bulkhead_alerts_total": ("counter", "Alerts raised (before dedup), per rule and level."),
        "bulkhead_ingest_requests_total": ("counter", "Ingest requests, per endpoint and status code."),
        "bulkhead_auth_failures_total": ("counter", "Requests refused for a missing or unknown token."),
        "bulkhead_ingest_rate_limited_total": ("counter", "Ingest requests refused (429) because their sender was over its request budget, per sender."),
        "bulkhead_evaluation_seconds": ("histogram", "Engine time per ingest batch."),
        "bulkhead_request_seconds": ("histogram", "Ingest request time from received to alerts stored."),
        "bulkhead_store_seconds": ("histogram", "Alert store time per ingest batch."),
        "bulkhead_queue_depth": ("gauge", "Ingest batches waiting for the engine."),
        "bulkhead_sink_spool_bytes": ("gauge", "Bytes waiting in a sink's spool."),
        "bulkhead_sink_failures_total": ("counter", "Failed deliveries, per sink."),
        "bulkhead_sink_dropped_total": ("counter", "Alerts dropped from a full spool, per sink."),
        "bulkhead_sink_delivered_total": ("counter", "Alerts delivered, per sink."),
    ]

    public init() {}

    static func labels(_ pairs: [(String, String)]) -> String {
        guard !pairs.isEmpty else { return "" }
        return "{" + pairs.map { k, v in
            let escaped = v.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
            return "\(k)=\"\(escaped)\""
        }.joined(separator: ",") + "}"
    }

    public func add(_ name: String, _ labels: [(String, String)] = [], _ value: Double = 1) {
        let key = Self.labels(labels)
        state.withLock { $0.counters[name, default: [:]][key, default: 0] += value }
    }

    public func set(_ name: String, _ labels: [(String, String)] = [], _ value: Double) {
        let key = Self.labels(labels)
        state.withLock { $0.gauges[name, default: [:]][key] = value }
    }

    public func observe(_ name: String, _ seconds: Double) {
        state.withLock { $0.histograms[name, default: Histogram()].observe(seconds) }
    }

    public func value(_ name: String, _ labels: [(String, String)] = []) -> Double {
        let key = Self.labels(labels)
        return state.withLock { $0.counters[name]?[key] ?? $0.gauges[name]?[key] ?? 0 }
    }

    public func render() -> String {
        let s = state.withLock { $0 }
        var out = ""
        for name in Self.help.keys.sorted() {
            let (type, help) = Self.help[name]!
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            if type == "histogram" {
                let h = s.histograms[name] ?? Histogram()
                for (i, b) in Histogram.bounds.enumerated() { out += "\(name)_bucket{le=\"\(b)\"} \(h.buckets[i])\n" }
                out += "\(name)_bucket{le=\"+Inf\"} \(h.count)\n\(name)_sum \(h.sum)\n\(name)_count \(h.count)\n"
                continue
            }
            let series = (type == "gauge" ? s.gauges[name] : s.counters[name]) ?? [:]
            for (labels, v) in series.sorted(by: { $0.key < $1.key }) { out += "\(name)\(labels) \(Self.number(v))\n" }
        }
        return out
    }

    static func number(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v) }
}
