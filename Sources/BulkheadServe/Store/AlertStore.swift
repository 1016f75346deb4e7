import BulkheadEngine
import BulkheadEvent
import Foundation

/// An alert as the store keeps it. Times are milliseconds since the epoch.
public struct StoredAlert: Sendable {
    public var id: Int64
    public var ruleID: String
    public var detection: String?
    public var title: String
    public var level: Level
    public var status: String
    public var note: String
    public var count: Int64
    public var firstSeen: Int64
    public var lastSeen: Int64
    public var receivedAt: Int64
    public var source: String
    public var tactics: [String]
    public var techniques: [String]
    public var entity: [String: String]
    public var entityLabel: String
    public var origin: String
    public var responseSteps: [String]
    public var containment: [Artefact]
}

public struct Evidence: Sendable {
    public var origin: String
    public var time: Int64?
    public var record: String
}

public struct HistoryEntry: Sendable {
    public var time: Int64
    public var status: String
    public var note: String
    public var actor: String
}

public struct AlertFilter: Sendable {
    public var since: Int64?
    public var until: Int64?
    public var minLevel: Level?
    public var rule: String?
    public var tactic: String?
    public var namespace: String?
    public var pod: String?
    public var image: String?
    public var user: String?
    public var status: String?
    public var source: String?
    public var text: String?
    public var limit = 100
    public var offset = 0
    public init() {}
}

public struct StoredException: Sendable {
    public var id: Int64
    public var name: String
    /// The exception as JSON (name, rules, logsource, match, reason, owner, expires).
    public var body: String
    public var createdAt: Int64
}

public struct SourceCounters: Sendable {
    public var source: String
    public var records: Int64
    public var bad: Int64
    public var lastSeen: Int64?
}

/// The alert store: one set of statements over SQLite or PostgreSQL. Dedup is an upsert on a
/// partial unique index (one open dedup window per rule and entity), so instances sharing a
/// PostgreSQL store aggregate into the same row.
public final class AlertStore: Sendable {
    let db: any SQLBackend
    /// Evidence records kept per alert (the first ones; the count says how many there were).
    static let maxEvidence = 10
    /// A record is kept up to this size as evidence (larger ones are cut, and say so).
    static let maxEvidenceBytes = 64 << 10

    public var label: String { db.label }

    init(backend: any SQLBackend) { db = backend }

    public static func open(config: ServeConfig) throws -> AlertStore {
        if let url = config.postgresURL { return AlertStore(backend: try PostgresBackend(url: url)) }
        return AlertStore(backend: try SQLiteBackend(path: config.sqlitePath))
    }

    public func close() async { await db.close() }

    // MARK: Schema

    static func migrations(_ d: SQLDialect) -> [[String]] {
        [[
            """
            CREATE TABLE alerts (
              id \(d.autoID),
              dedup_key TEXT NOT NULL, dedup_open INTEGER NOT NULL,
              rule_id TEXT NOT NULL, detection TEXT, title TEXT NOT NULL, level INTEGER NOT NULL,
              status TEXT NOT NULL, note TEXT NOT NULL,
              count BIGINT NOT NULL, first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL,
              received_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,
              source TEXT NOT NULL, tactics TEXT NOT NULL, techniques TEXT NOT NULL,
              namespace TEXT, pod TEXT, image TEXT, username TEXT,
              entity_label TEXT NOT NULL, entity_json TEXT NOT NULL, origin TEXT NOT NULL,
              response_json TEXT NOT NULL, containment_json TEXT NOT NULL)
            """,
            "CREATE UNIQUE INDEX alerts_dedup_open ON alerts (dedup_key) WHERE dedup_open = 1",
            "CREATE INDEX alerts_last_seen ON alerts (last_seen)",
            "CREATE INDEX alerts_rule ON alerts (rule_id, last_seen)",
            "CREATE INDEX alerts_level ON alerts (level, last_seen)",
            "CREATE INDEX alerts_status ON alerts (status, last_seen)",
            "CREATE INDEX alerts_namespace ON alerts (namespace, last_seen)",
            "CREATE INDEX alerts_pod ON alerts (pod, last_seen)",
            "CREATE INDEX alerts_image ON alerts (image, last_seen)",
            "CREATE INDEX alerts_user ON alerts (username, last_seen)",
            """
            CREATE TABLE evidence (alert_id BIGINT NOT NULL, seq INTEGER NOT NULL, origin TEXT NOT NULL,
              time BIGINT, record TEXT NOT NULL, PRIMARY KEY (alert_id, seq))
            """,
            """
            CREATE TABLE history (id \(d.autoID), alert_id BIGINT NOT NULL, time BIGINT NOT NULL,
              status TEXT NOT NULL, note TEXT NOT NULL, actor TEXT NOT NULL)
            """,
            "CREATE INDEX history_alert ON history (alert_id)",
            "CREATE TABLE exceptions (id \(d.autoID), name TEXT NOT NULL UNIQUE, body TEXT NOT NULL, created_at BIGINT NOT NULL)",
            "CREATE TABLE sources (source TEXT PRIMARY KEY, records BIGINT NOT NULL, bad BIGINT NOT NULL, last_seen BIGINT)",
        ]]
    }

    /// Applies the migrations not yet applied, each in one transaction.
    public func migrate() async throws {
        try await db.execute("CREATE TABLE IF NOT EXISTS bulkhead_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)", [])
        let done = Set(try await db.query("SELECT version FROM bulkhead_migrations", []).compactMap { $0.first?.int })
        for (i, statements) in Self.migrations(db.dialect).enumerated() where !done.contains(Int64(i + 1)) {
            try await db.executeScript(statements + ["INSERT INTO bulkhead_migrations (version, applied_at) VALUES (\(i + 1), \(Clock.nowMillis()))"])
        }
    }

    public func ping() async -> Bool { (try? await db.query("SELECT 1", []))?.isEmpty == false }

    // MARK: Recording

    /// Where an alert went: a new row, or a count on an open one.
    public struct Recorded: Sendable {
        public var id: Int64
        public var count: Int64
        public var isNew: Bool { count == 1 }
    }

    /// Stores the alert, aggregating into the open alert of the same rule and entity whose
    /// last sighting is within `dedupMillis`.
    public func record(_ a: Alert, detection: String?, receivedAt: Int64, dedupMillis: Int64) async throws -> Recorded {
        // Record times are the sender's word: one from the future would hold a dedup window
        // open and keep the alert from retention, so it counts as no later than an hour ahead.
        let seen = min(a.time.map { $0 / 1_000_000 } ?? receivedAt, receivedAt + 3_600_000)
        let key = Self.dedupKey(a)
        let d = db.dialect
        // A window that lapsed closes first: the next sighting opens a new alert.
        try await db.execute("UPDATE alerts SET dedup_open = 0 WHERE dedup_key = ? AND dedup_open = 1 AND last_seen < ?",
                             [.text(key), .int(seen - dedupMillis)])
        var entity: [(String, String)] = []
        for k in Entity.fieldNames { if let v = a.entity[k] { entity.append((k, v)) } }
        let rows = try await db.query("""
            INSERT INTO alerts (dedup_key, dedup_open, rule_id, detection, title, level, status, note, count, first_seen, last_seen,
              received_at, updated_at, source, tactics, techniques, namespace, pod, image, username, entity_label, entity_json, origin,
              response_json, containment_json)
            VALUES (?, 1, ?, ?, ?, ?, 'open', '', 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (dedup_key) WHERE dedup_open = 1 DO UPDATE SET
              count = alerts.count + 1,
              first_seen = \(d.least)(alerts.first_seen, excluded.first_seen),
              last_seen = \(d.greatest)(alerts.last_seen, excluded.last_seen),
              updated_at = excluded.updated_at
            RETURNING id, count
            """, [
                .text(key), .text(a.rule.id), SQLValue(detection), .text(a.rule.title), .int(Int64(a.rule.level.rawValue)),
                .int(seen), .int(seen), .int(receivedAt), .int(receivedAt), .text(a.source),
                .text(Self.list(a.rule.tactics)), .text(Self.list(a.rule.techniques)),
                SQLValue(a.entity["namespace"]), SQLValue(a.entity["pod"]), SQLValue(a.entity["image"]), SQLValue(a.entity["user"]),
                .text(a.entity.label), .text(JSONText.object(entity)), .text(a.origin.description),
                .text(JSONText.array(a.responseSteps)),
                .text(JSONText.artefacts(a.containment)),
            ])
        guard let row = rows.first, let id = row[0].int, let count = row[1].int else { throw StoreError("insert returned no row") }
        if count <= Self.maxEvidence {
            var record = a.event
            // The API embeds evidence verbatim: anything that is not one JSON value is wrapped.
            var tape = JSONTape()
            if Array(record.utf8).withUnsafeBytes({ (try? tape.parse($0)) == nil }) {
                record = JSONText.object([("text", String(record.prefix(Self.maxEvidenceBytes / 2)))])
            }
            if record.utf8.count > Self.maxEvidenceBytes {
                record = JSONText.object([("truncated", "evidence record over \(Self.maxEvidenceBytes) bytes"),
                                          ("prefix", String(decoding: Array(a.event.utf8.prefix(4096)), as: UTF8.self))])
            }
            try await db.execute("INSERT INTO evidence (alert_id, seq, origin, time, record) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                                 [.int(id), .int(count), .text(a.origin.description), SQLValue(a.time.map { $0 / 1_000_000 }), .text(record)])
        }
        return Recorded(id: id, count: count)
    }

    /// Rule and entity: the fields that name who or what the alert is about.
    static func dedupKey(_ a: Alert) -> String {
        var parts = [a.rule.id]
        for k in ["cluster", "namespace", "pod", "container_id", "node", "user", "cloud_account", "cloud_instance", "source_ip"] {
            parts.append(a.entity[k] ?? "")
        }
        return parts.joined(separator: "\u{1F}")
    }

    /// `,a,b,` so a LIKE on `%,a,%` finds one member exactly.
    static func list(_ items: [String]) -> String { items.isEmpty ? "" : "," + items.joined(separator: ",") + "," }
    static func unlist(_ s: String) -> [String] { s.split(separator: ",").map(String.init) }

    // MARK: Queries

    static let columns = """
        id, rule_id, detection, title, level, status, note, count, first_seen, last_seen, received_at, source, tactics, techniques,
        entity_json, entity_label, origin, response_json, containment_json
        """

    static func decode(_ r: [SQLValue]) -> StoredAlert {
        StoredAlert(
            id: r[0].int ?? 0, ruleID: r[1].text ?? "", detection: r[2].text, title: r[3].text ?? "",
            level: Level(rawValue: Int(r[4].int ?? 0)) ?? .informational, status: r[5].text ?? "open", note: r[6].text ?? "",
            count: r[7].int ?? 1, firstSeen: r[8].int ?? 0, lastSeen: r[9].int ?? 0, receivedAt: r[10].int ?? 0,
            source: r[11].text ?? "", tactics: unlist(r[12].text ?? ""), techniques: unlist(r[13].text ?? ""),
            entity: JSONText.parseObject(r[14].text ?? "{}"), entityLabel: r[15].text ?? "", origin: r[16].text ?? "",
            responseSteps: JSONText.parseStrings(r[17].text ?? "[]"), containment: JSONText.parseArtefacts(r[18].text ?? "[]"))
    }

    static func escapeLike(_ s: String) -> String {
        var out = ""
        for c in s {
            if c == "%" || c == "_" || c == "\\" { out.append("\\") }
            out.append(c)
        }
        return out
    }

    func whereClause(_ f: AlertFilter) -> (String, [SQLValue]) {
        var conds: [String] = []
        var binds: [SQLValue] = []
        func eq(_ column: String, _ v: String?) {
            guard let v, !v.isEmpty else { return }
            conds.append("\(column) = ?")
            binds.append(.text(v))
        }
        if let s = f.since { conds.append("last_seen >= ?"); binds.append(.int(s)) }
        if let u = f.until { conds.append("first_seen <= ?"); binds.append(.int(u)) }
        if let l = f.minLevel { conds.append("level >= ?"); binds.append(.int(Int64(l.rawValue))) }
        if let r = f.rule, !r.isEmpty {
            conds.append("(rule_id = ? OR detection = ?)")
            binds += [.text(r), .text(r)]
        }
        if let t = f.tactic, !t.isEmpty {
            conds.append("tactics LIKE ? ESCAPE '\\'")
            binds.append(.text("%," + Self.escapeLike(t) + ",%"))
        }
        eq("namespace", f.namespace)
        eq("pod", f.pod)
        eq("image", f.image)
        eq("username", f.user)
        eq("status", f.status)
        eq("source", f.source)
        if let q = f.text, !q.isEmpty {
            conds.append("(title \(db.dialect.ilike) ? ESCAPE '\\' OR entity_label \(db.dialect.ilike) ? ESCAPE '\\')")
            let pattern = "%" + Self.escapeLike(q) + "%"
            binds += [.text(pattern), .text(pattern)]
        }
        return (conds.isEmpty ? "" : " WHERE " + conds.joined(separator: " AND "), binds)
    }

    public func list(_ f: AlertFilter) async throws -> (total: Int, alerts: [StoredAlert]) {
        let (whereSQL, binds) = whereClause(f)
        let total = try await db.query("SELECT COUNT(*) FROM alerts" + whereSQL, binds).first?.first?.int ?? 0
        let rows = try await db.query("SELECT \(Self.columns) FROM alerts\(whereSQL) ORDER BY last_seen DESC, id DESC LIMIT ? OFFSET ?",
                                      binds + [.int(Int64(f.limit)), .int(Int64(f.offset))])
        return (Int(total), rows.map(Self.decode))
    }

    public func alert(_ id: Int64) async throws -> StoredAlert? {
        try await db.query("SELECT \(Self.columns) FROM alerts WHERE id = ?", [.int(id)]).first.map(Self.decode)
    }

    public func evidence(_ id: Int64) async throws -> [Evidence] {
        try await db.query("SELECT origin, time, record FROM evidence WHERE alert_id = ? ORDER BY seq", [.int(id)]).map {
            Evidence(origin: $0[0].text ?? "", time: $0[1].int, record: $0[2].text ?? "null")
        }
    }

    public func history(_ id: Int64) async throws -> [HistoryEntry] {
        try await db.query("SELECT time, status, note, actor FROM history WHERE alert_id = ? ORDER BY id", [.int(id)]).map {
            HistoryEntry(time: $0[0].int ?? 0, status: $0[1].text ?? "", note: $0[2].text ?? "", actor: $0[3].text ?? "")
        }
    }

    /// Acknowledge, close or reopen. A closed alert leaves its dedup window: the next
    /// sighting opens a new alert instead of counting into a closed one.
    public func setStatus(_ id: Int64, status: String, note: String, actor: String, now: Int64) async throws -> Bool {
        guard try await alert(id) != nil else { return false }
        try await db.execute("UPDATE alerts SET status = ?, note = ?, updated_at = ?, dedup_open = CASE WHEN ? = 'closed' THEN 0 ELSE dedup_open END WHERE id = ?",
                             [.text(status), .text(note), .int(now), .text(status), .int(id)])
        try await db.execute("INSERT INTO history (alert_id, time, status, note, actor) VALUES (?, ?, ?, ?, ?)",
                             [.int(id), .int(now), .text(status), .text(note), .text(actor)])
        return true
    }

    /// Alerts whose sightings overlap [since, until], oldest first (for incidents).
    public func alerts(since: Int64, until: Int64, limit: Int) async throws -> [StoredAlert] {
        try await db.query("SELECT \(Self.columns) FROM alerts WHERE last_seen >= ? AND first_seen <= ? ORDER BY first_seen, id LIMIT ?",
                           [.int(since), .int(until), .int(Int64(limit))]).map(Self.decode)
    }

    // MARK: Exceptions

    public func exceptions() async throws -> [StoredException] {
        try await db.query("SELECT id, name, body, created_at FROM exceptions ORDER BY id", []).map {
            StoredException(id: $0[0].int ?? 0, name: $0[1].text ?? "", body: $0[2].text ?? "{}", createdAt: $0[3].int ?? 0)
        }
    }

    /// nil when the name is taken.
    public func addException(name: String, body: String, now: Int64) async throws -> StoredException? {
        let rows = try await db.query("INSERT INTO exceptions (name, body, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING RETURNING id",
                                      [.text(name), .text(body), .int(now)])
        guard let id = rows.first?.first?.int else { return nil }
        return StoredException(id: id, name: name, body: body, createdAt: now)
    }

    public func deleteException(_ id: Int64) async throws -> Bool {
        let rows = try await db.query("DELETE FROM exceptions WHERE id = ? RETURNING id", [.int(id)])
        return !rows.isEmpty
    }

    // MARK: Sources

    public func addSourceCounts(_ counts: [(source: String, records: Int64, bad: Int64)], now: Int64) async throws {
        for c in counts {
            try await db.execute("""
                INSERT INTO sources (source, records, bad, last_seen) VALUES (?, ?, ?, ?)
                ON CONFLICT (source) DO UPDATE SET records = sources.records + excluded.records, bad = sources.bad + excluded.bad,
                  last_seen = CASE WHEN excluded.records > 0 THEN excluded.last_seen ELSE sources.last_seen END
                """, [.text(c.source), .int(c.records), .int(c.bad), c.records > 0 ? .int(now) : .null])
        }
    }

    public func sources() async throws -> [SourceCounters] {
        try await db.query("SELECT source, records, bad, last_seen FROM sources ORDER BY source", []).map {
            SourceCounters(source: $0[0].text ?? "", records: $0[1].int ?? 0, bad: $0[2].int ?? 0, lastSeen: $0[3].int)
        }
    }

    // MARK: Retention

    /// Deletes alerts last seen before `cutoff` with their evidence and history.
    @discardableResult
    public func prune(before cutoff: Int64) async throws -> Int {
        try await db.execute("DELETE FROM evidence WHERE alert_id IN (SELECT id FROM alerts WHERE last_seen < ?)", [.int(cutoff)])
        try await db.execute("DELETE FROM history WHERE alert_id IN (SELECT id FROM alerts WHERE last_seen < ?)", [.int(cutoff)])
        return try await db.query("DELETE FROM alerts WHERE last_seen < ? RETURNING id", [.int(cutoff)]).count
    }
}

enum Clock {
    static func nowMillis() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}
