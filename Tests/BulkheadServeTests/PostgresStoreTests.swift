import BulkheadEngine
import Foundation
import Testing
@testable import BulkheadServe

/// A throwaway PostgreSQL server on loopback: initdb into a temp dir, trust auth, a free port.
/// As root (CI containers) it runs as the `postgres` user, which Debian's package creates.
final class LocalPostgres {
    let dir: String
    let port: Int
    private var process: Process
    private let arguments: [String]
    private let root: Bool

    static func binary(_ name: String) -> String? {
        var candidates = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { "\($0)/\(name)" }
        let lib = "/usr/lib/postgresql"
        for v in ((try? FileManager.default.contentsOfDirectory(atPath: lib)) ?? []).sorted(by: >) { candidates.append("\(lib)/\(v)/bin/\(name)") }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static func run(_ args: [String], asPostgres: Bool) throws -> Int32 {
        let p = Process()
        if asPostgres {
            p.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
            p.arguments = ["-u", "postgres", "--"] + args
        } else {
            p.executableURL = URL(fileURLWithPath: args[0])
            p.arguments = Array(args.dropFirst())
        }
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }

    init?() throws {
        guard let initdb = Self.binary("initdb"), let postgres = Self.binary("postgres") else { return nil }
        let root = getuid() == 0
        dir = "/tmp/bulkhead-pg-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        if root { _ = try Self.run(["/bin/chown", "postgres", dir], asPostgres: false) }
        guard try Self.run([initdb, "-D", dir + "/data", "-U", "postgres", "--auth=trust", "--no-sync"], asPostgres: root) == 0 else {
            throw StoreError("initdb failed in \(dir)")
        }
        port = Int.random(in: 20000...60000)
        self.root = root
        arguments = [postgres, "-D", dir + "/data", "-p", String(port), "-k", dir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"]
        process = Process()
        try launch()
    }

    private func launch() throws {
        process = Process()
        if root {
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
            process.arguments = ["-u", "postgres", "--"] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: arguments[0])
            process.arguments = Array(arguments.dropFirst())
        }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    /// Stops the server at once (fast shutdown: clients are cut off), keeping its data: a
    /// database outage.
    func pause() {
        if let pid = (try? String(contentsOfFile: dir + "/data/postmaster.pid", encoding: .utf8))?.split(separator: "\n").first.flatMap({ Int32($0) }) {
            kill(pid, SIGINT)
        } else {
            process.terminate()
        }
        process.waitUntilExit()
    }

    /// Starts it again on the same port and data.
    func resume() throws { try launch() }

    var url: String { "postgres://postgres@127.0.0.1:\(port)/postgres" }

    func stop() {
        process.terminate()
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: dir)
    }
}

@Suite("serve: PostgreSQL store (real server on loopback)")
struct PostgresStoreTests {
    @Test("migrations, dedup upsert, filters, status, exceptions, sources and retention on PostgreSQL; two instances share one store")
    func postgres() async throws {
        guard let pg = try LocalPostgres() else {
            if ServeSupport.servicesRequired { Issue.record("PostgreSQL is not installed (apt-get install postgresql) and BULKHEAD_REQUIRE_SERVICES=1") }
            ServeSupport.skipLoudly("PostgreSQL store tests: initdb/postgres not found (apt-get install postgresql)")
            return
        }
        defer { pg.stop() }
        // Wait for the server to take connections.
        var first: BulkheadService?
        for _ in 0..<60 {
            do { first = try await ServeSupport.start(ServeSupport.config(postgres: pg.url)); break } catch { try await Task.sleep(for: .milliseconds(250)) }
        }
        let a = try #require(first, "PostgreSQL did not come up on \(pg.url)")
        // A second instance on the same store: migrations are not applied twice, alerts aggregate into the same rows.
        let b = try await ServeSupport.start(ServeSupport.config(postgres: pg.url))
        #expect(a.store.label.hasPrefix("postgres://postgres@127.0.0.1"))

        let r1 = try await a.ingest(try ServeSupport.auditEventList(), endpoint: "k8s-audit", format: nil)
        let r2 = try await b.ingest(try ServeSupport.auditEventList(), endpoint: "k8s-audit", format: nil)
        #expect(r1.alerts > 0 && r1.alerts == r2.alerts)
        var f = AlertFilter()
        f.rule = "kubernetes/execution_pod_exec_or_attach"
        f.pod = "payments-db-0"
        let list = try await a.store.list(f)
        #expect(list.total == 1)
        #expect(list.alerts.first?.count == 2)
        let id = try #require(list.alerts.first?.id)
        #expect(try await a.store.evidence(id).count == 2)

        var text = AlertFilter()
        text.text = "interactive"   // ILIKE: case-insensitive on PostgreSQL as on SQLite
        text.pod = "payments-db-0"
        #expect(try await b.store.list(text).total == 1)
        var tactic = AlertFilter()
        tactic.tactic = "execution"
        #expect(try await b.store.list(tactic).alerts.allSatisfy { $0.tactics.contains("execution") })
        var pct = AlertFilter()
        pct.text = "%"
        #expect(try await b.store.list(pct).total == 0)

        #expect(try await b.store.setStatus(id, status: "acknowledged", note: "on it", actor: "token:analyst", now: 1))
        #expect(try await a.store.alert(id)?.status == "acknowledged")
        #expect(try await a.store.history(id).first?.actor == "token:analyst")

        let ex = try #require(try await a.store.addException(name: "e1", body: "{}", now: 1))
        #expect(try await b.store.addException(name: "e1", body: "{}", now: 1) == nil)
        #expect(try await b.store.deleteException(ex.id))

        let sources = try await a.store.sources()
        #expect(sources.first { $0.source == "k8s_audit" }?.records == 12)

        #expect(try await a.store.prune(before: Clock.nowMillis() + 86_400_000 * 365 * 10) > 0)
        #expect(try await a.store.list(AlertFilter()).total == 0)
        await a.shutdown()
        await b.shutdown()
    }
}
