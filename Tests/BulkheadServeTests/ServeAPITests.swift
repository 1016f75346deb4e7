import Foundation
import BulkheadDetections
import BulkheadEngine
import BulkheadRules
import BulkheadScan
import BulkheadState
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
@testable import BulkheadServe

@Suite("serve: ingest and API (in process)")
struct ServeAPITests {
    @Test("an audit EventList raises the pod-exec alert, with evidence, response steps and ADS")
    func eventListToAlert() async throws {
        let service = try await ServeSupport.start(ServeSupport.config())
        let app = try ServeRunner.makeApplication(service)
        try await app.test(.router) { client in
            try await client.execute(uri: "/ingest/k8s-audit", method: .post, headers: ServeSupport.auth, body: try ServeSupport.auditEventList()) { r in
                #expect(r.status == .ok)
                let o = ServeSupport.json(r)
                #expect(o["records"] as? Int == 6)
                #expect(o["bad"] as? Int == 0)
                #expect((o["alerts"] as? Int ?? 0) > 0)
            }
            let list = try await client.execute(uri: "/api/v1/alerts?rule=kubernetes/execution_pod_exec_or_attach&pod=payments-db-0", method: .get, headers: ServeSupport.auth)
            let alerts = ServeSupport.json(list)["alerts"] as? [[String: Any]] ?? []
            #expect(alerts.count == 1)
            let first = try #require(alerts.first)
            #expect((first["entity"] as? [String: String])?["pod"] == "payments-db-0")
            #expect(first["tactics"] as? [String] == ["execution"])
            let id = try #require(first["id"] as? Int)
            let detail = ServeSupport.json(try await client.execute(uri: "/api/v1/alerts/\(id)", method: .get, headers: ServeSupport.auth))
            let evidence = detail["evidence"] as? [[String: Any]] ?? []
            #expect(((evidence.first?["record"] as? [String: Any])?["objectRef"] as? [String: Any])?["subresource"] as? String == "exec")
            #expect(!(detail["response_steps"] as? [String] ?? []).isEmpty)
            // Bound first: inside #expect this expression's `contains` result went unused.
            let excerpt = (detail["ads"] as? [String: Any])?["excerpt"] as? String ?? ""
            #expect(excerpt.contains("Goal"))

            // Filters: level, namespace, text; a filter that matches nothing.
            let high = ServeSupport.json(try await client.execute(uri: "/api/v1/alerts?level=high&namespace=payments", method: .get, headers: ServeSupport.auth))
            for a in high["alerts"] as? [[String: Any]] ?? [] { #expect(["high", "critical"].contains(a["level"] as? String ?? "")) }
            let none = ServeSupport.json(try await client.execute(uri: "/api/v1/alerts?pod=no-such-pod", method: .get, headers: ServeSupport.auth))
            #expect(none["total"] as? Int == 0)
            let bad = try await client.execute(uri: "/api/v1/alerts?level=severe", method: .get, headers: ServeSupport.auth)
            #expect(bad.status == .badRequest)
        }
        await service.shutdown()
    }

    @Test("Falco http_output (one alert per request) and falcosidekick's webhook raise the pack's Falco detections")
    func falco() async throws {
        let service = try await ServeSupport.start(ServeSupport.config())
        let app = try ServeRunner.makeApplication(service)
        let events = ServeSupport.packRoot + "/runtime/execution_falco_terminal_shell_in_container/events/"
        try await app.test(.router) { client in
            for file in ["fires-kubectl-exec-bash-storefront.jsonl", "fires-sidekick-docker-exec-sh.jsonl"] {
                // http_output posts each alert as one JSON document, not a line.
                let line = try String(contentsOfFile: events + file, encoding: .utf8).split(separator: "\n").first.map(String.init) ?? ""
                let r = try await client.execute(uri: "/ingest/falco", method: .post, headers: ServeSupport.auth, body: ByteBuffer(string: line))
                #expect(r.status == .ok, "\(file)")
                #expect(ServeSupport.json(r)["alerts"] as? Int == 1, "\(file)")
            }
            let list = ServeSupport.json(try await client.execute(uri: "/api/v1/alerts?rule=runtime/execution_falco_terminal_shell_in_container", method: .get, headers: ServeSupport.auth))
            let alerts = list["alerts"] as? [[String: Any]] ?? []
            #expect(alerts.count == 2)
            #expect(alerts.contains { ($0["entity"] as? [String: String])?["namespace"] == "storefront" })
            #expect(alerts.allSatisfy { $0["source"] as? String == "falco" && ($0["techniques"] as? [String] ?? []).contains("T1609") })
        }
        await service.shutdown()
    }

    @Test("the same rule on the same entity within the dedup period is one alert with a count")
    func dedup() async throws {
        let service = try await ServeSupport.start(ServeSupport.config())
        let app = try ServeRunner.makeApplication(service)
        try await app.test(.router) { client in
            for _ in 0..<3 {
                let r = try await client.execute(uri: "/ingest/k8s-audit", method: .post, headers: ServeSupport.auth, body: try ServeSupport.auditEventList())
                #expect(r.status == .ok)
            }
            let o = ServeSupport.json(try await client.execute(uri: "/api/v1/alerts?rule=kubernetes/execution_pod_exec_or_attach&pod=payments-db-0", method: .get, headers: ServeSupport.auth))
            let alerts = o["alerts"] as? [[String: Any]] ?? []
            #expect(alerts.count == 1)
            #expect(alerts.first?["count"] as? Int == 3)
            // Closing ends the window: the next sighting opens a new alert.
            let id = alerts.first?["id"] as? Int ?? 0
            let closed = try await client.execute(uri: "/api/v1/alerts/\(id)/status", method: .post, headers: ServeSupport.auth,
                                                  body: ByteBuffer(string: #"{"status":"closed","note":"expected maintenance"}"#))
            #expect(closed.status == .ok)
            let history = ServeSupport.json(closed)["history"] as? [[String: Any]] ?? []
            #expect(history.first?["by"] as? String == "token:analyst")
            _ = try await client.execute(uri: "/ingest/k8s-audit", method: .post, headers: ServeSupport.auth, body: try ServeSupport.auditEventList())
            let again = ServeSupport.json(try await client.execute(uri: "/api/v1/alerts?rule=kubernetes/execution_pod_exec_or_attach&pod=payments-db-0", method: .get, headers: ServeSupport.auth))
            #expect(again["total"] as? Int == 2)
        }
        await service.shutdown()
    }

    @Test("authentication: no token, a wrong token, sessions and the CSRF header")
    func authentication() async throws {
        let service = try await ServeSupport.start(ServeSupport.config())
        let app = try ServeRunner.makeApplication(service)
        try await app.test(.router) { client in
            for (uri, method) in [("/api/v1/alerts", HTTPRequest.Method.get), ("/ingest/falco", .post), ("/metrics", .get), ("/api/v1/coverage", .get)] {
                let r = try await client.execute(uri: uri, method: method, body: ByteBuffer(string: "{}"))
                #expect(r.status == .unauthorized, "\(uri)")
                let wrong = try await client.execute(uri: uri, method: method, headers: [.authorization: "Bearer analyst-token-0123456789abcdeX"])
                #expect(wrong.status == .unauthorized, "\(uri)")
            }
            // A collector's ingest-scoped token sends records and nothing else.
            let ingest: HTTPFields = [.authorization: "Bearer \(ServeSupport.ingestToken)"]
            #expect(try await client.execute(uri: "/ingest/k8s-audit", method: .post, headers: ingest, body: try ServeSupport.auditEventList()).status == .ok)
            #expect(try await client.execute(uri: "/api/v1/alerts", method: .get, headers: ingest).status == .forbidden)
            #expect(try await client.execute(uri: "/api/v1/exceptions", method: .post, headers: ingest, body: ByteBuffer(string: "{}")).status == .forbidden)
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/readyz", method: .get).status == .ok)
            let plain = try await client.execute(uri: "/api/v1/session", method: .post, body: ByteBuffer(string: #"{"token":"\#(ServeSupport.token)"}"#))
            #expect(plain.status == .unsupportedMediaType)   // a cross-site form post cannot log anyone in
            let login = try await client.execute(uri: "/api/v1/session", method: .post, headers: [.contentType: "application/json"],
                                                 body: ByteBuffer(string: #"{"token":"\#(ServeSupport.token)"}"#))
            #expect(login.status == .noContent)
            let cookie = try #require(login.headers[.setCookie])
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"))
            let session = String(cookie.split(separator: ";")[0])
            #expect(try await client.execute(uri: "/api/v1/alerts", method: .get, headers: [.cookie: session]).status == .ok)
            let noCSRF = try await client.execute(uri: "/api/v1/exceptions", method: .post, headers: [.cookie: session], body: ByteBuffer(string: "{}"))
            #expect(noCSRF.status == .forbidden)
            let badLogin = try await client.execute(uri: "/api/v1/session", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: #"{"token":"guess"}"#))
            #expect(badLogin.status == .unauthorized)
        }
        await service.shutdown()
    }

    @Test("bad input: clear 400s naming the line, 413 over the body limit, 503 after shutdown")
    func badInput() async throws {
        var c = ServeSupport.config()
        c.maxBodyBytes = 8192
        c.maxDecompressedBytes = 1 << 20
        let service = try await ServeSupport.start(c)
        let app = try ServeRunner.makeApplication(service)
        try await app.test(.router) { client in
            let broken = try await client.execute(uri: "/ingest/falco", method: .post, headers: ServeSupport.auth, body: ByteBuffer(string: #"{"output":"shell","rule":"Terminal shell in container","priority":"Notice","time":"2026-11-20T14:00:00Z","output_fields":{"k8s.ns.name":"payments"}}"# + "\n{oops\n"))
            #expect(broken.status == .ok)   // the valid first record is kept
            let o = ServeSupport.json(broken)
            #expect(o["records"] as? Int == 1 && o["bad"] as? Int == 1)
            #expect((o["problems"] as? [String] ?? []).first?.contains("falco/batch-1:2: bad record") == true)
            let none = try await client.execute(uri: "/ingest/falco", method: .post, headers: ServeSupport.auth, body: ByteBuffer(string: "{oops"))
            #expect(none.status == .badRequest)
            #expect((ServeSupport.json(none)["problems"] as? [String] ?? []).first?.contains(":1: bad record") == true)
            let empty = try await client.execute(uri: "/ingest/falco", method: .post, headers: ServeSupport.auth, body: ByteBuffer())
            #expect(empty.status == .badRequest)
            let unknown = try await client.execute(uri: "/ingest?format=nope", method: .post, headers: ServeSupport.auth, body: ByteBuffer(string: "{}"))
            #expect(unknown.status == .badRequest)
            let big = try await client.execute(uri: "/ingest/falco", method: .post, headers: ServeSupport.auth, body: ByteBuffer(repeating: 0x20, count: 9000))
            #expect(big.status == .contentTooLarge)
            // A gzip body whose expansion passes the decompressed limit is refused, not inflated without end.
            let bomb = try ServeSupport.gzip(Data(String(repeating: "{\"kind\":\"Event\"}\n", count: 100_000).utf8))
            #expect(bomb.count < 8192)
            let r = try await client.execute(uri: "/ingest", method: .post, headers: ServeSupport.auth, body: ByteBuffer(bytes: bomb))
            #expect(r.status == .contentTooLarge)
            #expect((ServeSupport.json(r)["message"] as? String ?? "").contains("larger than 1048576 bytes"))
            await service.shutdown()
            let late = try await client.execute(uri: "/ingest/falco", method: .post, headers: ServeSupport.auth, body: ByteBuffer(string: "{}"))
            #expect(late.status == .serviceUnavailable)
            #expect(try await client.execute(uri: "/readyz", method: .get).status == .serviceUnavailable)
        }
    }

    @Test("exceptions through the API suppress from the next batch; bad ones are refused")
    func exceptions() async throws {
        let service = try await ServeSupport.start(ServeSupport.config())
        let app = try ServeRunner.makeApplication(service)
        try await app.test(.router) { client in
            let inAMonth = ExceptionsFile.today(Date().addingTimeInterval(30 * 86400))
            let body = #"{"name":"alice-exec","rules":["c6761611-7d74-41c7-a0dd-2bef90a48014"],"match":{"user.username":"alice@example.com"},"reason":"on-call runbook","expires":"\#(inAMonth)"}"#
            let forever = try await client.execute(uri: "/api/v1/exceptions", method: .post, headers: ServeSupport.auth,
                                                   body: ByteBuffer(string: body.replacingOccurrences(of: inAMonth, with: "2099-01-01")))
            #expect(forever.status == .badRequest)
            let add = try await client.execute(uri: "/api/v1/exceptions", method: .post, headers: ServeSupport.auth, body: ByteBuffer(string: body))
            #expect(add.status == .created)
            let dup = try await client.execute(uri: "/api/v1/exceptions", method: .post, headers: ServeSupport.auth, body: ByteBuffer(string: body))
            #expect(dup.status == .conflict)
            let broken = try await client.execute(uri: "/api/v1/exceptions", method: .post, headers: ServeSupport.auth,
                                                  body: ByteBuffer(string: #"{"name":"x","rules":["*"],"match":{"a|nosuchmod":"b"},"reason":"r","expires":"\#(inAMonth)"}"#))
            #expect(broken.status == .badRequest)
            #expect((ServeSupport.json(broken)["message"] as? String ?? "").contains("nosuchmod"))
            _ = try await client.execute(uri: "/ingest/k8s-audit", method: .post, headers: ServeSupport.auth, body: try ServeSupport.auditEventList())
            let list = ServeSupport.json(try await client.execute(uri: "/api/v1/alerts?rule=kubernetes/execution_pod_exec_or_attach&pod=payments-db-0", method: .get, headers: ServeSupport.auth))
            #expect(list["total"] as? Int == 0)
            let ex = ServeSupport.json(try await client.execute(uri: "/api/v1/exceptions", method: .get, headers: ServeSupport.auth))["exceptions"] as? [[String: Any]] ?? []
            #expect(ex.first?["suppressed"] as? Int == 1)
            let id = ex.first?["id"] as? Int ?? 0
            #expect(try await client.execute(uri: "/api/v1/exceptions/\(id)", method: .delete, headers: ServeSupport.auth).status == .noContent)
            _ = try await client.execute(uri: "/ingest/k8s-audit", method: .post, headers: ServeSupport.auth, body: try ServeSupport.auditEventList())
            let after = ServeSupport.json(try await client.execute(uri: "/api/v1/alerts?rule=kubernetes/execution_pod_exec_or_attach&pod=payments-db-0", method: .get, headers: ServeSupport.auth))
            #expect(after["total"] as? Int == 1)
        }
        await service.shutdown()
    }

    @Test("the whole attack story: incidents, sources, coverage, detections, metrics, UI files")
    func story() async throws {
        let service = try await ServeSupport.start(ServeSupport.config())
        let app = try ServeRunner.makeApplication(service)
        try await app.test(.router) { client in
            for (uri, file) in [("/ingest/k8s-audit", "01-kubernetes-audit.jsonl"), ("/ingest/tetragon", "02-tetragon.jsonl"),
                                ("/ingest?format=zeek_dns", "03-zeek-dns.jsonl"), ("/ingest/cloudtrail", "04-cloudtrail.json")] {
                let r = try await client.execute(uri: uri, method: .post, headers: ServeSupport.auth, body: try ServeSupport.file(file))
                #expect(r.status == .ok, "\(uri)")
            }
            let incidents = ServeSupport.json(try await client.execute(uri: "/api/v1/incidents?since=30000d", method: .get, headers: ServeSupport.auth))["incidents"] as? [[String: Any]] ?? []
            let big = try #require(incidents.first)
            #expect(Set(big["sources"] as? [String] ?? []).isSuperset(of: ["k8s_audit", "tetragon"]))
            for (query, expected) in [("tactic=privilege-escalation", true), ("pod=debug-tools", true), ("user=nobody", false),
                                      ("rule=kubernetes/execution_pod_exec_or_attach", true), ("image=no-such-image", false)] {
                let got = ServeSupport.json(try await client.execute(uri: "/api/v1/incidents?since=30000d&\(query)", method: .get, headers: ServeSupport.auth))["incidents"] as? [[String: Any]] ?? []
                #expect(got.contains { $0["id"] as? String == big["id"] as? String } == expected, "\(query)")
            }
            let id = try #require(big["id"] as? String)
            let one = try await client.execute(uri: "/api/v1/incidents/\(id)?since=30000d", method: .get, headers: ServeSupport.auth)
            #expect(one.status == .ok)
            #expect((ServeSupport.json(one)["timeline"] as? [Any] ?? []).count == big["alerts"] as? Int)

            let sources = ServeSupport.json(try await client.execute(uri: "/api/v1/sources", method: .get, headers: ServeSupport.auth))["sources"] as? [[String: Any]] ?? []
            #expect(Set(sources.compactMap { $0["source"] as? String }) == ["k8s_audit", "tetragon", "zeek_dns", "cloudtrail"])
            #expect(sources.allSatisfy { $0["status"] as? String == "ok" })

            let coverage = ServeSupport.json(try await client.execute(uri: "/api/v1/coverage", method: .get, headers: ServeSupport.auth))
            #expect((coverage["entries"] as? [[String: Any]] ?? []).contains { $0["technique"] as? String == "T1609" })
            let d = try await client.execute(uri: "/api/v1/detections/kubernetes/execution_pod_exec_or_attach", method: .get, headers: ServeSupport.auth)
            #expect((ServeSupport.json(d)["ads_markdown"] as? String ?? "").contains("## Goal"))

            let metrics = String(buffer: try await client.execute(uri: "/metrics", method: .get, headers: ServeSupport.auth).body)
            #expect(metrics.contains("bulkhead_records_total{source=\"k8s_audit\"} 6"))
            #expect(metrics.contains("bulkhead_evaluation_seconds_count 4"))

            let page = try await client.execute(uri: "/", method: .get)
            #expect(page.status == .ok)
            #expect(page.headers[.contentSecurityPolicy]?.contains("default-src 'self'") == true)
            #expect(try await client.execute(uri: "/ui/app.js", method: .get).status == .ok)
            #expect(String(buffer: try await client.execute(uri: "/api/openapi.yaml", method: .get).body).contains("openapi:"))
        }
        await service.shutdown()
    }
}

@Suite("serve: configuration, tokens, crash recovery")
struct ServeConfigTests {
    @Test("YAML settings, environment overrides, and errors that name file and line")
    func config() throws {
        let dir = ServeSupport.tempDir()
        let file = dir + "/bulkhead.yml"
        try """
        listen: 0.0.0.0:9000
        data_dir: /var/lib/x
        limits: {max_body_bytes: 2048, max_queue: 8}
        dedup_period: 5m
        sinks:
          - {type: webhook, url: "https://soar.example/hook", min_level: high}
          - {type: file, path: /tmp/a.jsonl, max_bytes: 10000, keep: 2, include_event: false}
        log_format: json
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let c = try ServeConfig.load(file: file, environment: ["BULKHEAD_LISTEN": "127.0.0.1:9100"])
        #expect(c.host == "127.0.0.1" && c.port == 9100)
        #expect(c.dataDir == "/var/lib/x" && c.maxBodyBytes == 2048 && c.maxQueue == 8 && c.dedupSeconds == 300)
        #expect(c.sinks.map(\.kind) == [.webhook, .file])
        #expect(c.sinks[0].minLevel == .high)
        #expect(c.sinks[0].includeEvent && !c.sinks[1].includeEvent)
        #expect(c.logFormat == "json")
        try "listen: 1\nmax_bodybytes: 3\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect { try ServeConfig.load(file: file, environment: [:]) } throws: { "\($0)".contains("bulkhead.yml:2: max_bodybytes: unknown setting") }
    }

    @Test("tokens: names, constant-time comparison, short tokens refused")
    func tokens() throws {
        let a = Authenticator(tokens: try Authenticator.parse("# comment\nci:ingest:0123456789abcdef0123\nanalyst:fedcba9876543210fedc\n", origin: "t"), sessionSeconds: 60)
        #expect(a.identity("0123456789abcdef0123")?.name == "ci")
        #expect(a.identity("0123456789abcdef0123")?.scope == .ingest)
        #expect(a.identity("fedcba9876543210fedc")?.scope == .admin)
        #expect(a.tokenName("0123456789abcdef012") == nil)
        #expect(a.tokenName("0123456789abcdef01234") == nil)
        // A token followed by 256 more bytes: the length differs by a multiple of 256.
        #expect(a.tokenName("0123456789abcdef0123" + String(repeating: "x", count: 256)) == nil)
        #expect(a.tokenName("") == nil)
        #expect(throws: (any Error).self) { try Authenticator.parse("x:short", origin: "t") }
        #expect(throws: (any Error).self) { try Authenticator.parse("x:root:0123456789abcdef0123", origin: "t") }
        let s = a.newSession(for: a.identity("fedcba9876543210fedc")!, now: 100)
        #expect(a.session(s.id, now: 120)?.identity.name == "analyst")
        #expect(a.session(s.id, now: 161) == nil)
    }

    @Test("learned state is saved at shutdown and restored at start; exceptions added by another instance apply")
    func stateAndSharedExceptions() async throws {
        let c = ServeSupport.config()
        let a = try await ServeSupport.start(c)
        let b = try await ServeSupport.start(c)   // a second instance on the same store
        _ = try await a.ingest(try ServeSupport.auditEventList(), endpoint: "k8s-audit", format: nil)
        let until = ExceptionsFile.today(Date().addingTimeInterval(7 * 86400))
        let body = #"{"expires":"\#(until)","match":{"user.username":"alice@example.com"},"name":"alice","owner":"test","reason":"test","rules":["*"]}"#
        _ = try #require(try await b.store.addException(name: "alice", body: body, now: 1))
        await a.reloadExceptionsIfChanged()
        _ = try await a.ingest(try ServeSupport.auditEventList(), endpoint: "k8s-audit", format: nil)
        try await Task.sleep(for: .milliseconds(100))
        #expect(a.worker.suppressed["alice"] ?? 0 > 0)
        await a.shutdown()
        await b.shutdown()
        let state = try SQLiteStateStore(directory: c.stateDir)
        let rows = try ["baseline_rules", "baseline_terms", "baseline_groups", "gap_keys"].map { try state.rowCount($0) }
        #expect(rows.reduce(0, +) > 0, "state rows \(rows)")
        let again = try await ServeSupport.start(c)
        await again.shutdown()
    }

    @Test("a batch left in the queue by a crash is processed at the next start")
    func replay() async throws {
        let c = ServeSupport.config()
        try FileManager.default.createDirectory(atPath: c.queueDir, withIntermediateDirectories: true)
        try Data(try ServeSupport.auditEventList().readableBytesView).write(to: URL(fileURLWithPath: c.queueDir + "/0000000000001-00000001-k8s-audit-k8s_audit.batch"))
        let service = try await ServeSupport.start(c)
        let r = try await service.store.list(AlertFilter())
        #expect(r.total > 0)
        #expect(r.alerts.contains { $0.detection == "kubernetes/execution_pod_exec_or_attach" })
        #expect(try FileManager.default.contentsOfDirectory(atPath: c.queueDir).isEmpty)
        await service.shutdown()
    }
}

@Suite("serve: over HTTP")
struct ServeLiveTests {
    @Test("a live server on loopback takes an EventList with curl-like HTTP and lists the alert")
    func live() async throws {
        let service = try await ServeSupport.start(ServeSupport.config())
        let app = try ServeRunner.makeApplication(service)
        try await app.test(.live) { client in
            let r = try await client.execute(uri: "/ingest/k8s-audit", method: .post,
                                             headers: [.authorization: "Bearer \(ServeSupport.token)", .contentType: "application/json"],
                                             body: try ServeSupport.auditEventList())
            #expect(r.status == .ok)
            let list = ServeSupport.json(try await client.execute(uri: "/api/v1/alerts?q=Interactive&pod=payments-db-0", method: .get, headers: ServeSupport.auth))
            #expect((list["alerts"] as? [[String: Any]] ?? []).first?["detection"] as? String == "kubernetes/execution_pod_exec_or_attach")
        }
        await service.shutdown()
    }
}

@Suite("serve: backpressure")
struct BackpressureTests {
    @Test("past max_queue waiting batches the worker refuses (the API answers 429), and takes batches again once drained")
    func queueFull() async throws {
        var c = ServeSupport.config()
        c.maxQueue = 1
        let service = try await ServeSupport.start(c)
        let dir = ServeSupport.tempDir()
        let path = dir + "/batch.json"
        try Data(try ServeSupport.auditEventList().readableBytesView).write(to: URL(fileURLWithPath: path))
        // A worker that has not started yet: the first batch waits in the queue, the second is refused.
        let idle = IngestWorker(engine: Engine(ruleSet: service.ruleSet), playbook: ResponsePlaybook(), options: ScanOptions(), maxQueue: 1)
        let first = Task { try await idle.process(path: path, name: "b1", format: nil) }
        while idle.depth < 1 { try await Task.sleep(for: .milliseconds(10)) }
        await #expect(throws: IngestWorker.QueueFull.self) { _ = try await idle.process(path: path, name: "b2", format: nil) }
        idle.start()
        #expect(try await first.value.records == 6)
        #expect(try await idle.process(path: path, name: "b3", format: nil).records == 6)
        _ = await idle.finish()
        await service.shutdown()
    }
}
