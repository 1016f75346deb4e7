import BulkheadEngine
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import Testing
@testable import BulkheadServe

/// Faults around the service: a full disk, the alert database going away, a sender flooding.
/// The contract: a batch is either stored (2xx) or refused with a status the sender retries on
/// (429, 503); never half-taken and silently lost.
@Suite("serve: faults and rate limits")
struct FaultTests {
    /// A small tmpfs (root only: CI runs as root); nil when it cannot be mounted here.
    static func mountTmpfs(bytes: Int) -> String? {
        let dir = ServeSupport.tempDir()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/mount")
        p.arguments = ["-t", "tmpfs", "-o", "size=\(bytes)", "tmpfs", dir]
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return nil }
        p.waitUntilExit()
        return p.terminationStatus == 0 ? dir : nil
    }

    static func unmount(_ dir: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/umount")
        p.arguments = [dir]
        try? p.run()
        p.waitUntilExit()
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// Writes zeros until the file system is full; returns the filler's path.
    static func fill(_ dir: String) -> String {
        let path = dir + "/filler"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        defer { close(fd) }
        let block = [UInt8](repeating: 0, count: 4096)
        while block.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) > 0 {}
        return path
    }

    @Test("disk full: ingest answers 503 naming the cause, keeps no half batch, and works again once there is space")
    func diskFull() async throws {
        guard let dir = Self.mountTmpfs(bytes: 8 << 20) else {
            if ServeSupport.servicesRequired { Issue.record("cannot mount a tmpfs (needs root) and BULKHEAD_REQUIRE_SERVICES=1") }
            ServeSupport.skipLoudly("disk-full test: mounting a tmpfs needs root")
            return
        }
        defer { Self.unmount(dir) }
        let service = try await ServeSupport.start(ServeSupport.config(dataDir: dir))
        let app = try ServeRunner.makeApplication(service)
        try await app.test(.router) { client in
            let filler = Self.fill(dir)
            try await client.execute(uri: "/ingest/k8s-audit", method: .post, headers: ServeSupport.auth, body: try ServeSupport.auditEventList()) { r in
                #expect(r.status == .serviceUnavailable)
                #expect(r.headers[.retryAfter] != nil)
                let o = ServeSupport.json(r)
                #expect(o["error"] as? String == "store_unavailable")
                #expect((o["message"] as? String ?? "").contains("No space left on device"))
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: service.config.queueDir).isEmpty)
            #expect(try await service.store.list(AlertFilter()).total == 0)
            let metrics = try await client.execute(uri: "/metrics", method: .get, headers: ServeSupport.auth)
            #expect(String(buffer: metrics.body).contains(#"bulkhead_ingest_requests_total{endpoint="k8s-audit",code="503"} 1"#))

            // Space again: the sender's retry is taken and stored.
            try FileManager.default.removeItem(atPath: filler)
            try await client.execute(uri: "/ingest/k8s-audit", method: .post, headers: ServeSupport.auth, body: try ServeSupport.auditEventList()) { r in
                #expect(r.status == .ok)
            }
            var f = AlertFilter()
            f.pod = "payments-db-0"
            f.rule = "kubernetes/execution_pod_exec_or_attach"
            #expect(try await service.store.list(f).alerts.first?.count == 1)
        }
        await service.shutdown()
    }

    @Test("the PostgreSQL store goes down: ingest answers 503 and nothing is acknowledged; after it is back the retry is stored")
    func databaseOutage() async throws {
        guard let pg = try LocalPostgres() else {
            if ServeSupport.servicesRequired { Issue.record("PostgreSQL is not installed (apt-get install postgresql) and BULKHEAD_REQUIRE_SERVICES=1") }
            ServeSupport.skipLoudly("database outage test: initdb/postgres not found (apt-get install postgresql)")
            return
        }
        defer { pg.stop() }
        var started: BulkheadService?
        for _ in 0..<60 {
            var c = ServeSupport.config(postgres: pg.url)
            c.storeTimeoutSeconds = 5
            do { started = try await ServeSupport.start(c); break } catch { try await Task.sleep(for: .milliseconds(250)) }
        }
        let service = try #require(started, "PostgreSQL did not come up on \(pg.url)")
        pg.pause()
        let outageStart = Date()
        do {
            _ = try await service.ingest(try ServeSupport.auditEventList(), endpoint: "k8s-audit", format: nil)
            Issue.record("ingest succeeded while the store was down")
        } catch {
            guard let e = error as? BulkheadService.IngestError, case .storage(let why) = e else { Issue.record("expected a storage error, got \(error)"); return }
            #expect(why == "alert store unavailable" || why == "alert store did not answer within 5 s")
        }
        // The sender is not kept waiting long for its 503.
        let refusedAfter = Date().timeIntervalSince(outageStart)
        #expect(refusedAfter < 8, "503 after \(refusedAfter) s")
        #expect(try FileManager.default.contentsOfDirectory(atPath: service.config.queueDir).isEmpty)
        try pg.resume()
        var stored: BulkheadService.IngestResult?
        // postgres-nio's pool retries with backoff (about 17 s here after a 15 s outage).
        let back = Date()
        for _ in 0..<240 {
            do { stored = try await service.ingest(try ServeSupport.auditEventList(), endpoint: "k8s-audit", format: nil); break } catch { try await Task.sleep(for: .milliseconds(250)) }
        }
        print("database outage: 503 after \(String(format: "%.1f", refusedAfter)) s; stored again \(String(format: "%.1f", Date().timeIntervalSince(back))) s after PostgreSQL came back")
        #expect((stored?.alerts ?? 0) > 0, "the store did not come back")
        var f = AlertFilter()
        f.pod = "payments-db-0"
        f.rule = "kubernetes/execution_pod_exec_or_attach"
        #expect(try await service.store.list(f).total == 1)
        await service.shutdown()
    }

    @Test("each sender has its own request budget: past it 429 with Retry-After, other senders go on")
    func perSenderRateLimit() async throws {
        let limiter = SenderRateLimiter(rate: 2, burst: 3)
        #expect((0..<3).allSatisfy { _ in limiter.take("a", now: 100) == nil })
        let wait = try #require(limiter.take("a", now: 100))
        #expect(abs(wait - 0.5) < 1e-9)
        #expect(limiter.take("b", now: 100) == nil)
        #expect(limiter.take("a", now: 100.5) == nil)
        #expect(limiter.take("a", now: 100.5) != nil)

        var c = ServeSupport.config()
        // A slow refill (one request per 100 s), so a loaded test machine cannot refill the budget
        // between requests.
        c.ingestRequestsPerSecond = 0.01
        c.ingestBurst = 2
        let service = try await ServeSupport.start(c)
        let app = try ServeRunner.makeApplication(service)
        let collector: HTTPFields = [.authorization: "Bearer \(ServeSupport.ingestToken)"]
        try await app.test(.router) { client in
            var codes: [HTTPResponse.Status] = []
            for _ in 0..<3 {
                codes.append(try await client.execute(uri: "/ingest/k8s-audit", method: .post, headers: collector, body: try ServeSupport.auditEventList()).status)
            }
            #expect(codes == [.ok, .ok, .tooManyRequests])
            let limited = try await client.execute(uri: "/ingest/k8s-audit", method: .post, headers: collector, body: try ServeSupport.auditEventList())
            #expect(ServeSupport.json(limited)["error"] as? String == "rate_limited")
            #expect((Int(limited.headers[.retryAfter] ?? "") ?? 0) > 1)
            // Another sender is not held back by the first.
            let other = try await client.execute(uri: "/ingest/k8s-audit", method: .post, headers: ServeSupport.auth, body: try ServeSupport.auditEventList())
            #expect(other.status == .ok)
            let metrics = String(buffer: try await client.execute(uri: "/metrics", method: .get, headers: ServeSupport.auth).body)
            #expect(metrics.contains(#"bulkhead_ingest_rate_limited_total{sender="token:collector"} 2"#))
        }
        await service.shutdown()
    }
}

@Suite("serve: every endpoint needs authentication")
struct EndpointAuthTests {
    /// Operations of the OpenAPI document (path, method, public when `security: []`).
    static func operations() throws -> [(path: String, method: HTTPRequest.Method, isPublic: Bool)] {
        let spec = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/BulkheadServe/Web/openapi.yaml")
        var out: [(String, HTTPRequest.Method, Bool)] = []
        var path: String?
        var inPaths = false
        for line in try String(contentsOf: spec, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("paths:") { inPaths = true; continue }
            if inPaths, let c = line.first, c != " " { inPaths = false }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), line.hasSuffix(":") { path = String(line.dropFirst(2).dropLast()); continue }
            let t = line.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("    "), !line.hasPrefix("     "), let p = path,
               let m = ["get:": HTTPRequest.Method.get, "post:": .post, "delete:": .delete, "put:": .put, "patch:": .patch][t] {
                out.append((p, m, false))
            } else if t == "security: []", !out.isEmpty {
                out[out.count - 1].2 = true
            }
        }
        return out.map { (path: $0.0.replacingOccurrences(of: "{id}", with: "1").replacingOccurrences(of: "{source}", with: "kubernetes")
                            .replacingOccurrences(of: "{slug}", with: "execution_pod_exec_or_attach"), method: $0.1, isPublic: $0.2) }
    }

    @Test("no token, a wrong token and an expired session get 401 on every operation the OpenAPI document does not mark public")
    func everyEndpoint() async throws {
        let ops = try Self.operations()
        #expect(ops.count >= 20)
        #expect(Set(ops.filter(\.isPublic).map(\.path)) == ["/healthz", "/readyz", "/api/openapi.yaml", "/api/v1/session"])
        var c = ServeSupport.config()
        // Long enough that a loaded test machine still uses the session before it expires.
        c.sessionSeconds = 8
        let service = try await ServeSupport.start(c)
        let app = try ServeRunner.makeApplication(service)
        try await app.test(.router) { client in
            let loggedIn = ContinuousClock.now
            let login = try await client.execute(uri: "/api/v1/session", method: .post, headers: [.contentType: "application/json"],
                                                 body: ByteBuffer(string: #"{"token":"\#(ServeSupport.token)"}"#))
            let session = String(try #require(login.headers[.setCookie]).split(separator: ";")[0])
            #expect(try await client.execute(uri: "/api/v1/alerts", method: .get, headers: [.cookie: session]).status == .ok)
            // The session must end once its 8 s are over. A loaded machine may have taken a
            // while to answer the login (the clock starts there), so wait until it has ended,
            // within bounds, and then try every operation with it.
            try await Task.sleep(until: loggedIn + .seconds(8))
            var ended = false
            while !ended && ContinuousClock.now < loggedIn + .seconds(40) {
                ended = try await client.execute(uri: "/api/v1/alerts", method: .get, headers: [.cookie: session]).status == .unauthorized
                if !ended { try await Task.sleep(for: .milliseconds(250)) }
            }
            #expect(ended, "the session still worked 40 s after a login for 8 s")
            for op in ops where !op.isPublic {
                let cases: [(String, HTTPFields)] = [
                    ("no credentials", [:]),
                    ("a wrong token", [.authorization: "Bearer \(ServeSupport.token.dropLast())X"]),
                    ("an expired session", [.cookie: session, HTTPField.Name("X-Bulkhead-CSRF")!: "1"]),
                ]
                for (what, headers) in cases {
                    let r = try await client.execute(uri: op.path, method: op.method, headers: headers, body: ByteBuffer(string: "{}"))
                    #expect(r.status == .unauthorized, "\(op.method) \(op.path) with \(what): \(r.status)")
                }
            }
            // The UI's files are the public shell of the login page: no data without the API.
            #expect(try await client.execute(uri: "/", method: .get).status == .ok)
        }
        await service.shutdown()
        #expect(service.metrics.value("bulkhead_auth_failures_total") >= Double(3 * ops.filter { !$0.isPublic }.count))
    }
}

/// Collects every log line (at trace level) for inspection.
final class CollectingLogHandler: LogHandler, @unchecked Sendable {
    static let lines = Mutex<[String]>([])
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        let error = event.error.map { " error: \($0)" } ?? ""
        Self.lines.withLock { $0.append("\(event.level) \(event.message) \(all)\(error)") }
    }
}

@Suite("serve: logs")
struct LogSecrecyTests {
    @Test("tokens, wrong tokens and record contents never reach the log, even at trace level")
    func noSecretsInLogs() async throws {
        let marker = "PAYLOAD-MARKER-7f3a"
        let wrong = "WRONG-TOKEN-MARKER-0123456789"
        var logger = Logger(label: "bulkhead-secrecy") { _ in CollectingLogHandler() }
        logger.logLevel = .trace
        let service = try await BulkheadService.start(config: ServeSupport.config(), logger: logger)
        let app = try ServeRunner.makeApplication(service)
        try await app.test(.router) { client in
            _ = try await client.execute(uri: "/ingest/k8s-audit", method: .post, headers: ServeSupport.auth, body: try ServeSupport.auditEventList())
            // A bad record, a record with the marker, a wrong token, a login.
            let body = ByteBuffer(string: #"{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"\#(marker)","verb":"create","objectRef":{"resource":"pods","subresource":"exec","namespace":"x","name":"\#(marker)"},"user":{"username":"\#(marker)"},"requestReceivedTimestamp":"2026-11-23T10:00:00Z"}"# + "\n{\"broken\": \"\(marker)")
            _ = try await client.execute(uri: "/ingest/k8s-audit", method: .post, headers: ServeSupport.auth, body: body)
            _ = try await client.execute(uri: "/ingest/k8s-audit", method: .post, headers: [.authorization: "Bearer \(wrong)"], body: body)
            _ = try await client.execute(uri: "/api/v1/session", method: .post, headers: [.contentType: "application/json"],
                                         body: ByteBuffer(string: #"{"token":"\#(ServeSupport.token)"}"#))
        }
        await service.shutdown()
        let text = CollectingLogHandler.lines.withLock { $0.joined(separator: "\n") }
        #expect(!text.isEmpty)
        for secret in [ServeSupport.token, ServeSupport.ingestToken, wrong, marker] {
            #expect(!text.contains(secret), "\(secret.prefix(12))… appears in the log")
        }
    }
}
