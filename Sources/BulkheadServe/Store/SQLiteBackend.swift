import Foundation
import GRDB

/// The default store: one SQLite file in the data directory (WAL mode, through GRDB).
final class SQLiteBackend: SQLBackend {
    let dialect = SQLDialect.sqlite
    let label: String
    private let pool: DatabasePool

    init(path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        var config = Configuration()
        config.label = "bulkhead-alerts"
        config.busyMode = .timeout(5)
        pool = try DatabasePool(path: path, configuration: config)
        label = "sqlite:\(path)"
    }

    private static func arguments(_ binds: [SQLValue]) -> StatementArguments {
        StatementArguments(binds.map { v -> (any DatabaseValueConvertible)? in
            switch v {
            case .int(let i): return i
            case .text(let s): return s
            case .null: return nil
            }
        })
    }

    func execute(_ sql: String, _ binds: [SQLValue]) async throws {
        let args = Self.arguments(binds)
        try await pool.write { db in try db.execute(sql: sql, arguments: args) }
    }

    func query(_ sql: String, _ binds: [SQLValue]) async throws -> [[SQLValue]] {
        let args = Self.arguments(binds)
        // Rows become values inside the closure: GRDB's `Row` is not Sendable, and with a
        // non-Sendable result the blocking overload of read/write was chosen, which held a
        // concurrency thread for the whole query.
        // Statements with RETURNING write: they go through the writer.
        if sql.range(of: "RETURNING", options: .caseInsensitive) != nil {
            return try await pool.write { db in Self.values(try Row.fetchAll(db, sql: sql, arguments: args)) }
        }
        return try await pool.read { db in Self.values(try Row.fetchAll(db, sql: sql, arguments: args)) }
    }

    private static func values(_ rows: [Row]) -> [[SQLValue]] {
        rows.map { row in
            (0..<row.count).map { i in
                switch (row[i] as DatabaseValue).storage {
                case .int64(let n): return .int(n)
                case .double(let d): return .int(Int64(d))
                case .string(let s): return .text(s)
                case .blob(let b): return .text(String(decoding: b, as: UTF8.self))
                case .null: return .null
                }
            }
        }
    }

    func executeScript(_ statements: [String]) async throws {
        try await pool.write { db in
            for s in statements { try db.execute(sql: s) }
        }
    }

    func close() async { try? pool.close() }
}
