import Foundation

/// A value bound to or read from SQL. The store keeps to integers, text and NULL so one
/// set of statements runs on SQLite and PostgreSQL.
public enum SQLValue: Sendable, Equatable {
    case int(Int64), text(String), null

    var int: Int64? { if case .int(let i) = self { return i }; if case .text(let s) = self { return Int64(s) }; return nil }
    var text: String? { if case .text(let s) = self { return s }; if case .int(let i) = self { return String(i) }; return nil }
}

extension SQLValue {
    init(_ s: String?) { self = s.map { .text($0) } ?? .null }
    init(_ i: Int64?) { self = i.map { .int($0) } ?? .null }
}

public enum SQLDialect: Sendable {
    case sqlite, postgres

    /// Statements are written with `?`; PostgreSQL wants `$1`, `$2`, ...
    func placeholders(_ sql: String) -> String {
        guard self == .postgres else { return sql }
        var out = ""
        var n = 0
        for c in sql {
            if c == "?" { n += 1; out += "$\(n)" } else { out.append(c) }
        }
        return out
    }

    var autoID: String { self == .sqlite ? "INTEGER PRIMARY KEY AUTOINCREMENT" : "BIGSERIAL PRIMARY KEY" }
    var greatest: String { self == .sqlite ? "MAX" : "GREATEST" }
    var least: String { self == .sqlite ? "MIN" : "LEAST" }
    /// Case-insensitive LIKE (SQLite's LIKE already is, for ASCII).
    var ilike: String { self == .sqlite ? "LIKE" : "ILIKE" }
}

/// What the alert store needs from a database.
public protocol SQLBackend: Sendable {
    var dialect: SQLDialect { get }
    var label: String { get }
    func execute(_ sql: String, _ binds: [SQLValue]) async throws
    func query(_ sql: String, _ binds: [SQLValue]) async throws -> [[SQLValue]]
    /// Runs the statements in one transaction (migrations).
    func executeScript(_ statements: [String]) async throws
    func close() async
}

public struct StoreError: Error, CustomStringConvertible {
    public var description: String
    init(_ d: String) { description = d }
}
