import Foundation

/// A known Kubernetes audit stream for the end-to-end tests: benign reads in 24 generated
/// namespaces, `kubectl exec` every seventh record (one user while the custom new-terms rule
/// learns, three after), exec bursts that trip the custom correlation, and every firing
/// sample of the pack's Kubernetes detections, re-timed into the stream. One record a second.
///
/// Chosen so that partitioned processing must equal one plain scan: the custom stateful rules
/// group by namespace (the partition key); every partition's new-terms learning starts within
/// the first three minutes and no new user appears before minute 20; no burst falls in the last
/// ten minutes (a correlation match waits for the watermark, which in a partition only moves
/// with that partition's records, while `scan` flushes everything at its end).
enum AuditStream {
    static let start: Int64 = 1_767_225_600   // 2026-01-01T00:00:00Z

    static var repository: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }

    static func lines(count: Int) throws -> [String] {
        let samples = try firingSamples()
        var out: [String] = []
        var sample = 0
        for i in 0..<count {
            let time = iso(start + Int64(i))
            let ns = String(format: "ns-%02d", i % 24)
            let inBurst = i % 500 >= 250 && i % 500 < 254 && i < count - 600
            if i % 41 == 20, !samples.isEmpty {
                var s = samples[sample % samples.count]
                sample += 1
                s["requestReceivedTimestamp"] = time
                s["stageTimestamp"] = time
                out.append(try json(s))
            } else if i % 7 == 0 || inBurst {
                let burstNS = String(format: "ns-%02d", (i / 500) % 24)
                let user = i < 1200 ? "alice" : ["alice", "bob", "mallory"][i % 3]
                out.append(try json(exec(ns: inBurst ? burstNS : ns, pod: "web-\(i % 3)", user: user, time: time, id: i)))
            } else {
                out.append(try json(read(ns: ns, resource: i % 2 == 0 ? "configmaps" : "pods", time: time, id: i)))
            }
        }
        return out
    }

    static func exec(ns: String, pod: String, user: String, time: String, id: Int) -> [String: Any] {
        ["kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata", "auditID": "gen-\(id)", "stage": "ResponseComplete",
         "requestURI": "/api/v1/namespaces/\(ns)/pods/\(pod)/exec?command=sh&stdin=true&tty=true", "verb": "create",
         "user": ["username": user, "groups": ["system:authenticated"]], "sourceIPs": ["192.0.2.\(id % 200)"],
         "objectRef": ["resource": "pods", "namespace": ns, "name": pod, "subresource": "exec", "apiVersion": "v1"],
         "responseStatus": ["code": 101], "requestReceivedTimestamp": time, "stageTimestamp": time]
    }

    static func read(ns: String, resource: String, time: String, id: Int) -> [String: Any] {
        ["kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata", "auditID": "gen-\(id)", "stage": "ResponseComplete",
         "requestURI": "/api/v1/namespaces/\(ns)/\(resource)", "verb": resource == "pods" ? "list" : "get",
         "user": ["username": "system:serviceaccount:\(ns):app", "groups": ["system:serviceaccounts"]], "sourceIPs": ["10.1.0.\(id % 250)"],
         "objectRef": ["resource": resource, "namespace": ns, "apiVersion": "v1"],
         "responseStatus": ["code": 200], "requestReceivedTimestamp": time, "stageTimestamp": time]
    }

    /// Every `fires-*.json` of the pack's Kubernetes detections that is one audit Event.
    static func firingSamples() throws -> [[String: Any]] {
        let root = repository.appendingPathComponent("Detections/kubernetes")
        var out: [[String: Any]] = []
        for dir in try FileManager.default.contentsOfDirectory(atPath: root.path).sorted() {
            let events = root.appendingPathComponent(dir).appendingPathComponent("events")
            guard let files = try? FileManager.default.contentsOfDirectory(atPath: events.path) else { continue }
            for f in files.sorted() where f.hasPrefix("fires-") && f.hasSuffix(".json") {
                guard let data = FileManager.default.contents(atPath: events.appendingPathComponent(f).path),
                      let o = try? JSONSerialization.jsonObject(with: data) as? [String: Any], o["kind"] as? String == "Event" else { continue }
                out.append(o)
            }
        }
        return out
    }

    /// The pack without the telemetry-gap analytic (which workers leave out), plus the custom
    /// stateful rules the stream is built for.
    static func rules(into dir: URL) throws {
        try FileManager.default.copyItem(at: repository.appendingPathComponent("Detections"), to: dir)
        try FileManager.default.removeItem(at: dir.appendingPathComponent("kubernetes/defense_evasion_telemetry_gap"))
        let custom = dir.appendingPathComponent("custom")
        try FileManager.default.createDirectory(at: custom, withIntermediateDirectories: true)
        try Data("""
        title: Exec into a generated namespace
        id: 7e57e57e-0000-4000-8000-000000000001
        name: test_ns_exec
        status: test
        logsource: {product: kubernetes, service: audit}
        detection:
            selection:
                objectRef.resource: pods
                objectRef.subresource: exec
                objectRef.namespace|startswith: ns-
            condition: selection
        level: low
        ---
        title: Exec burst in a namespace
        id: 7e57e57e-0000-4000-8000-000000000002
        status: test
        correlation:
            type: event_count
            rules: [test_ns_exec]
            group-by: [objectRef.namespace]
            timespan: 5m
            condition: {gte: 3}
        level: high
        ---
        title: New exec user in a generated namespace
        id: 7e57e57e-0000-4000-8000-000000000003
        status: test
        logsource: {product: kubernetes, service: audit}
        detection:
            selection:
                objectRef.subresource: exec
                objectRef.namespace|startswith: ns-
            condition: selection
        level: medium
        x-bulkhead-new-terms:
            group-by: [objectRef.namespace]
            terms: [user.username]
            learning: 10m
            min-observations: 1

        """.utf8).write(to: custom.appendingPathComponent("stateful.yml"))
    }

    static func json(_ o: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]), as: UTF8.self)
    }

    static func iso(_ seconds: Int64) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }
}
