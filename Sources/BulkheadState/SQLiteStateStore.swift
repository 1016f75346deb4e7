import BulkheadEngine
import Foundation
import GRDB

/// The engine's learned state (baselines, new-terms sets, telemetry-gap rates) in one SQLite
/// file, `DIR/bulkhead-state.sqlite`, so a later scan continues where the last one stopped.
/// Schema changes are GRDB migrations; rows past their rule's retention are pruned on save.
public final class SQLiteStateStore: BaselineStateStore {
    public static let fileName = "bulkhead-state.sqlite"
    public let path: String
    let db: DatabaseQueue
    /// Telemetry-gap keys and audit nodes unseen this long before the watermark are pruned.
    public var gapRetention: Int64 = 30 * 86_400 * 1_000_000_000

    /// What a save wrote and pruned.
    public struct SaveReport: Sendable, Equatable {
        public var terms = 0
        public var groups = 0
        public var gapKeys = 0
        /// Rows dropped in the store because their retention passed (including rules not loaded in this scan).
        public var pruned = 0
    }
    public private(set) var lastSave = SaveReport()

    public init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        path = (directory as NSString).appendingPathComponent(Self.fileName)
        var config = Configuration()
        config.label = "bulkhead-state"
        db = try DatabaseQueue(path: path, configuration: config)
        try Self.migrator.migrate(db)
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.create(table: "meta") { t in
                t.primaryKey("key", .text)
                t.column("value", .text).notNull()
            }
            try db.create(table: "baseline_rules") { t in
                t.primaryKey("rule_id", .text)
                t.column("kind", .text).notNull()
                t.column("learning_start", .integer)
                t.column("learning_end", .integer)
                t.column("last_time", .integer).notNull()
                t.column("retention", .integer).notNull()
            }
            try db.create(table: "baseline_terms") { t in
                t.column("rule_id", .text).notNull()
                t.column("grp", .text).notNull()
                t.column("term", .text).notNull()
                t.column("first_seen", .integer).notNull()
                t.column("last_seen", .integer).notNull()
                t.column("count", .integer).notNull()
                t.primaryKey(["rule_id", "grp", "term"])
            }
            try db.create(table: "baseline_groups") { t in
                t.column("rule_id", .text).notNull()
                t.column("grp", .text).notNull()
                t.column("first_seen", .integer).notNull()
                t.column("last_seen", .integer).notNull()
                t.column("count", .integer).notNull()
                t.column("mean", .double).notNull()
                t.column("m2", .double).notNull()
                t.column("max", .double).notNull()
                t.primaryKey(["rule_id", "grp"])
            }
            try db.create(table: "gap_keys") { t in
                t.column("source", .text).notNull()
                t.column("scope", .text).notNull()
                t.column("first_seen", .integer).notNull()
                t.column("last_seen", .integer).notNull()
                t.column("count", .integer).notNull()
                t.column("alerted", .boolean).notNull()
                t.primaryKey(["source", "scope"])
            }
            try db.create(table: "gap_mix") { t in
                t.column("cluster", .text).notNull()
                t.column("name", .text).notNull()
                t.column("learning_end", .integer).notNull()
                t.column("window_start", .integer).notNull()
                t.column("shifted", .boolean).notNull()
                t.column("baseline_count", .integer).notNull()
                t.column("window_count", .integer).notNull()
                t.primaryKey(["cluster", "name"])
            }
            try db.create(table: "gap_audit_nodes") { t in
                t.primaryKey("node", .text)
                t.column("last_seen", .integer).notNull()
            }
        }
        return m
    }

    public func load() throws -> StateSnapshot {
        try db.read { db in
            var out = StateSnapshot()
            for r in try Row.fetchAll(db, sql: "SELECT * FROM baseline_rules ORDER BY rule_id") {
                let id: String = r["rule_id"]
                let terms = try Row.fetchAll(db, sql: "SELECT grp, term, first_seen, last_seen, count FROM baseline_terms WHERE rule_id = ?", arguments: [id])
                    .map { BaselineRuleState.TermRow(group: $0["grp"], term: $0["term"], firstSeen: $0["first_seen"], lastSeen: $0["last_seen"], count: $0["count"]) }
                let groups = try Row.fetchAll(db, sql: "SELECT * FROM baseline_groups WHERE rule_id = ?", arguments: [id])
                    .map { BaselineRuleState.GroupRow(group: $0["grp"], firstSeen: $0["first_seen"], lastSeen: $0["last_seen"], count: $0["count"],
                                                      mean: $0["mean"], m2: $0["m2"], max: $0["max"]) }
                out.baselines.append(BaselineRuleState(ruleID: id, kind: r["kind"], learningStart: r["learning_start"], learningEnd: r["learning_end"],
                                                       lastTime: r["last_time"], retention: r["retention"], terms: terms, groups: groups))
            }
            let keys = try Row.fetchAll(db, sql: "SELECT * FROM gap_keys").map {
                GapState.KeyRow(source: $0["source"], scope: $0["scope"], firstSeen: $0["first_seen"], lastSeen: $0["last_seen"], count: $0["count"], alerted: $0["alerted"])
            }
            var mixes: [String: GapState.MixRow] = [:]
            for r in try Row.fetchAll(db, sql: "SELECT * FROM gap_mix") {
                let c: String = r["cluster"]
                var m = mixes[c] ?? GapState.MixRow(cluster: c, learningEnd: r["learning_end"], windowStart: r["window_start"], shifted: r["shifted"], counts: [:])
                m.counts[r["name"]] = [r["baseline_count"], r["window_count"]]
                mixes[c] = m
            }
            var nodes: [String: Int64] = [:]
            for r in try Row.fetchAll(db, sql: "SELECT * FROM gap_audit_nodes") { nodes[r["node"]] = r["last_seen"] }
            let watermark = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'gap_watermark'").flatMap { Int64($0) }
            if watermark != nil || !keys.isEmpty {
                out.gap = GapState(watermark: watermark, keys: keys, mixes: mixes.values.sorted { $0.cluster < $1.cluster }, auditNodes: nodes)
            }
            return out
        }
    }

    public func save(_ snapshot: StateSnapshot) throws {
        var report = SaveReport()
        try db.write { db in
            let insertTerm = try db.makeStatement(sql: "INSERT INTO baseline_terms (rule_id, grp, term, first_seen, last_seen, count) VALUES (?, ?, ?, ?, ?, ?)")
            let insertGroup = try db.makeStatement(sql: "INSERT INTO baseline_groups (rule_id, grp, first_seen, last_seen, count, mean, m2, max) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
            for r in snapshot.baselines {
                try db.execute(sql: "DELETE FROM baseline_terms WHERE rule_id = ?", arguments: [r.ruleID])
                try db.execute(sql: "DELETE FROM baseline_groups WHERE rule_id = ?", arguments: [r.ruleID])
                try db.execute(sql: """
                    INSERT INTO baseline_rules (rule_id, kind, learning_start, learning_end, last_time, retention) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT(rule_id) DO UPDATE SET kind = excluded.kind, learning_start = excluded.learning_start,
                        learning_end = excluded.learning_end, last_time = excluded.last_time, retention = excluded.retention
                    """, arguments: [r.ruleID, r.kind, r.learningStart, r.learningEnd, r.lastTime, r.retention])
                for t in r.terms { try insertTerm.execute(arguments: [r.ruleID, t.group, t.term, t.firstSeen, t.lastSeen, t.count]) }
                for g in r.groups { try insertGroup.execute(arguments: [r.ruleID, g.group, g.firstSeen, g.lastSeen, g.count, g.mean, g.m2, g.max]) }
                report.terms += r.terms.count
                report.groups += r.groups.count
            }
            if let g = snapshot.gap {
                try db.execute(sql: "DELETE FROM gap_keys")
                try db.execute(sql: "DELETE FROM gap_mix")
                try db.execute(sql: "DELETE FROM gap_audit_nodes")
                let k = try db.makeStatement(sql: "INSERT INTO gap_keys (source, scope, first_seen, last_seen, count, alerted) VALUES (?, ?, ?, ?, ?, ?)")
                for r in g.keys { try k.execute(arguments: [r.source, r.scope, r.firstSeen, r.lastSeen, r.count, r.alerted]) }
                let m = try db.makeStatement(sql: "INSERT INTO gap_mix (cluster, name, learning_end, window_start, shifted, baseline_count, window_count) VALUES (?, ?, ?, ?, ?, ?, ?)")
                for r in g.mixes {
                    for (name, c) in r.counts.sorted(by: { $0.key < $1.key }) {
                        try m.execute(arguments: [r.cluster, name, r.learningEnd, r.windowStart, r.shifted, c.first ?? 0, c.count > 1 ? c[1] : 0])
                    }
                }
                let n = try db.makeStatement(sql: "INSERT INTO gap_audit_nodes (node, last_seen) VALUES (?, ?)")
                for (node, t) in g.auditNodes.sorted(by: { $0.key < $1.key }) { try n.execute(arguments: [node, t]) }
                try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('gap_watermark', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                               arguments: [g.watermark.map(String.init) ?? ""])
                report.gapKeys = g.keys.count
            }
            report.pruned = try prune(db)
            try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('saved_at', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                           arguments: [ISO8601DateFormatter().string(from: Date())])
        }
        lastSave = report
    }

    /// Retention: terms and groups whose last sighting is older than their rule's retention
    /// before the rule's latest event time (rules not loaded in this scan too); gap keys and
    /// audit nodes unseen for `gapRetention` before the watermark.
    func prune(_ db: Database) throws -> Int {
        var n = 0
        for table in ["baseline_terms", "baseline_groups"] {
            try db.execute(sql: """
                DELETE FROM \(table) WHERE last_seen < (SELECT r.last_time - r.retention FROM baseline_rules r WHERE r.rule_id = \(table).rule_id)
                """)
            n += db.changesCount
        }
        if let w = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'gap_watermark'").flatMap({ Int64($0) }) {
            try db.execute(sql: "DELETE FROM gap_keys WHERE last_seen < ?", arguments: [w - gapRetention])
            n += db.changesCount
            try db.execute(sql: "DELETE FROM gap_audit_nodes WHERE last_seen < ?", arguments: [w - gapRetention])
            n += db.changesCount
        }
        return n
    }

    /// Per stored rule: kind, entries, learning end, latest time (`bulkhead baseline show`).
    public func summary() throws -> [(rule: String, kind: String, terms: Int, groups: Int, learningEnd: Int64?, lastTime: Int64)] {
        try db.read { db in
            try Row.fetchAll(db, sql: """
                SELECT r.rule_id, r.kind, r.learning_end, r.last_time,
                    (SELECT COUNT(*) FROM baseline_terms t WHERE t.rule_id = r.rule_id) AS terms,
                    (SELECT COUNT(*) FROM baseline_groups g WHERE g.rule_id = r.rule_id) AS groups
                FROM baseline_rules r ORDER BY r.rule_id
                """).map { ($0["rule_id"], $0["kind"], $0["terms"], $0["groups"], $0["learning_end"], $0["last_time"]) }
        }
    }

    /// Rows per table, for tests and the summary.
    public func rowCount(_ table: String) throws -> Int {
        try db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM \(table)") ?? 0 }
    }
}
