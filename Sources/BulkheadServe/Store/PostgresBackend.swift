import Foundation
import Logging
import NIOCore
import NIOSSL
import PostgresNIO

/// PostgreSQL through postgres-nio, for several instances sharing one store.
final class PostgresBackend: SQLBackend {
    let dialect = SQLDialect.postgres
    let label: String
    let client: PostgresClient
    private let runner: Task<Void, Never>

    /// `postgres://user:password@host:port/database?sslmode=disable|require`
    init(url: String) throws {
        guard let u = URLComponents(string: url), u.scheme == "postgres" || u.scheme == "postgresql", let host = u.host, !host.isEmpty else {
            throw StoreError("postgres_url must look like postgres://user:password@host:5432/database")
        }
        let sslmode = u.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? "disable"
        var tlsClient = TLSConfiguration.makeClientConfiguration()
        // A private CA for the server's certificate, as libpq's sslrootcert.
        if let ca = u.queryItems?.first(where: { $0.name == "sslrootcert" })?.value { tlsClient.trustRoots = .file(ca) }
        let tls: PostgresClient.Configuration.TLS
        switch sslmode {
        case "disable": tls = .disable
        case "prefer": tls = .prefer(tlsClient)
        case "require", "verify-full": tls = .require(tlsClient)
        default: throw StoreError("postgres_url: sslmode must be disable, prefer, require or verify-full")
        }
        let database = u.path.hasPrefix("/") ? String(u.path.dropFirst()) : u.path
        let config = PostgresClient.Configuration(host: host, port: u.port ?? 5432, username: u.user ?? "postgres",
                                                  password: u.password, database: database.isEmpty ? nil : database, tls: tls)
        client = PostgresClient(configuration: config)
        // Never the password: the label is logged.
        label = "postgres://\(u.user ?? "postgres")@\(host):\(u.port ?? 5432)/\(database)"
        let c = client
        runner = Task { await c.run() }
    }

    private func makeQuery(_ sql: String, _ binds: [SQLValue]) throws -> PostgresQuery {
        var b = PostgresBindings(capacity: binds.count)
        for v in binds {
            switch v {
            case .int(let i): b.append(i)
            case .text(let s): b.append(s)
            case .null: b.appendNull()
            }
        }
        return PostgresQuery(unsafeSQL: dialect.placeholders(sql), binds: b)
    }

    func execute(_ sql: String, _ binds: [SQLValue]) async throws {
        try await client.query(makeQuery(sql, binds))
    }

    func query(_ sql: String, _ binds: [SQLValue]) async throws -> [[SQLValue]] {
        var out: [[SQLValue]] = []
        for try await row in try await client.query(makeQuery(sql, binds)) {
            var values: [SQLValue] = []
            for cell in row {
                if cell.bytes == nil { values.append(.null); continue }
                switch cell.dataType {
                case .int2, .int4, .int8: values.append(.int(try cell.decode(Int64.self)))
                case .bool: values.append(.int(try cell.decode(Bool.self) ? 1 : 0))
                default: values.append(.text(try cell.decode(String.self)))
                }
            }
            out.append(values)
        }
        return out
    }

    func executeScript(_ statements: [String]) async throws {
        try await client.withTransaction(logger: Logger(label: "bulkhead.store")) { conn in
            for s in statements { try await conn.query(PostgresQuery(unsafeSQL: s), logger: Logger(label: "bulkhead.store")) }
        }
    }

    func close() async { runner.cancel() }
}
