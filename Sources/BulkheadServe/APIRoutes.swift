import BulkheadEngine
import BulkheadRules
import BulkheadSinks
import Foundation
import Hummingbird
import NIOCore

/// Login for the web UI: a token buys an HttpOnly, SameSite=Strict session cookie.
enum SessionRoutes {
    static func add(to router: Router<BasicRequestContext>, _ service: BulkheadService) {
        router.post("/api/v1/session") { request, _ in
            var request = request
            // JSON only: a cross-site form cannot send it without a CORS preflight (no login CSRF).
            guard request.headers[.contentType]?.lowercased().hasPrefix("application/json") == true else {
                throw APIError(status: .unsupportedMediaType, code: "content_type", message: "log in with Content-Type: application/json")
            }
            let o = try Routes.jsonObject(try await Routes.body(&request, max: Routes.maxAPIBody))
            guard let token = o["token"] as? String, let who = service.auth.identity(token) else {
                service.metrics.add("bulkhead_auth_failures_total")
                throw APIError(status: .unauthorized, code: "unauthorized", message: "unknown token")
            }
            guard who.scope.allows(.analyst) else {
                throw APIError(status: .forbidden, code: "scope", message: "an ingest token cannot open the UI")
            }
            let s = service.auth.newSession(for: who, now: Clock.nowMillis() / 1000)
            let secure = service.config.tlsCert != nil ? "; Secure" : ""
            var f = HTTPFields()
            f[.setCookie] = "\(Routes.sessionCookie)=\(s.id); Path=/; HttpOnly; SameSite=Strict; Max-Age=\(service.auth.sessionSeconds)\(secure)"
            Routes.securityHeaders(&f)
            return Response(status: .noContent, headers: f)
        }
        router.get("/api/v1/session") { request, _ in
            try Routes.identity(request, service, need: .analyst)
            let expires = request.cookies[Routes.sessionCookie].flatMap { service.auth.session($0.value, now: Clock.nowMillis() / 1000)?.expires }
            return Routes.json(.object([("authenticated", .bool(true)), ("expires_at", Routes.time(expires.map { $0 * 1000 }))]))
        }
        router.delete("/api/v1/session") { request, _ in
            if let c = request.cookies[Routes.sessionCookie] { service.auth.endSession(c.value) }
            var f = HTTPFields()
            f[.setCookie] = "\(Routes.sessionCookie)=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"
            Routes.securityHeaders(&f)
            return Response(status: .noContent, headers: f)
        }
    }
}

/// Alerts, incidents and exceptions.
enum AlertRoutes {
    static let statuses: Set<String> = ["open", "acknowledged", "closed"]

    static func summary(_ a: StoredAlert) -> [(String, JSONValue)] {
        var entity: [(String, JSONValue)] = []
        for k in Entity.fieldNames { if let v = a.entity[k] { entity.append((k, .string(v))) } }
        return [
            ("id", .int(a.id)), ("rule_id", .string(a.ruleID)), ("detection", a.detection.map { .string($0) } ?? .null),
            ("title", .string(a.title)), ("level", .string(a.level.description)), ("status", .string(a.status)), ("count", .int(a.count)),
            ("first_seen", Routes.time(a.firstSeen)), ("last_seen", Routes.time(a.lastSeen)), ("received_at", Routes.time(a.receivedAt)),
            ("source", .string(a.source)), ("tactics", .array(a.tactics.map { .string($0) })),
            ("techniques", .array(a.techniques.map { .string($0) })), ("entity", .object(entity)), ("entity_label", .string(a.entityLabel)),
        ]
    }

    static func detail(_ id: Int64, _ service: BulkheadService) async throws -> JSONValue {
        guard let a = try await service.store.alert(id) else { throw APIError.notFound("no alert \(id)") }
        let evidence = try await service.store.evidence(id)
        let history = try await service.store.history(id)
        return .object(summary(a) + [
            ("note", .string(a.note)), ("origin", .string(a.origin)),
            ("evidence", .array(evidence.map { e in
                .object([("origin", .string(e.origin)), ("time", Routes.time(e.time)), ("record", .raw(e.record))])
            })),
            ("response_steps", .array(a.responseSteps.map { .string($0) })),
            ("containment", .array(a.containment.map(AlertJSON.artefact))),
            ("ads", service.catalog.adsExcerpt(detection: a.detection)),
            ("history", .array(history.map { h in
                .object([("time", Routes.time(h.time)), ("status", .string(h.status)), ("note", .string(h.note)), ("by", .string(h.actor))])
            })),
        ])
    }

    static func filter(_ request: Request) throws -> AlertFilter {
        let q = request.uri.queryParameters
        let now = Clock.nowMillis()
        var f = AlertFilter()
        f.since = try Routes.parseTime(q.get("since"), now: now)
        f.until = try Routes.parseTime(q.get("until"), now: now)
        if let l = q.get("level"), !l.isEmpty {
            guard let level = Level(name: l) else { throw APIError.badRequest("level must be informational, low, medium, high or critical") }
            f.minLevel = level
        }
        if let s = q.get("status"), !s.isEmpty, !statuses.contains(s) { throw APIError.badRequest("status must be open, acknowledged or closed") }
        f.rule = q.get("rule")
        f.tactic = q.get("tactic")
        f.namespace = q.get("namespace")
        f.pod = q.get("pod")
        f.image = q.get("image")
        f.user = q.get("user")
        f.status = q.get("status")
        f.source = q.get("source")
        f.text = q.get("q").map { String($0.prefix(200)) }
        f.limit = min(max(q.get("limit", as: Int.self) ?? 100, 1), 500)
        f.offset = min(max(q.get("offset", as: Int.self) ?? 0, 0), 1_000_000)
        return f
    }

    static func add(to router: Router<BasicRequestContext>, _ service: BulkheadService) {
        router.get("/api/v1/alerts") { request, _ in
            try Routes.identity(request, service, need: .analyst)
            let r = try await service.store.list(try filter(request))
            return Routes.json(.object([("total", .int(Int64(r.total))), ("alerts", .array(r.alerts.map { .object(summary($0)) }))]))
        }
        router.get("/api/v1/alerts/:id") { request, context in
            try Routes.identity(request, service, need: .analyst)
            guard let id = context.parameters.get("id", as: Int64.self) else { throw APIError.badRequest("alert ids are integers") }
            return Routes.json(try await detail(id, service))
        }
        router.post("/api/v1/alerts/:id/status") { request, context in
            let who = try Routes.identity(request, service, need: .analyst)
            guard let id = context.parameters.get("id", as: Int64.self) else { throw APIError.badRequest("alert ids are integers") }
            var request = request
            let o = try Routes.jsonObject(try await Routes.body(&request, max: Routes.maxAPIBody))
            guard let status = o["status"] as? String, statuses.contains(status) else {
                throw APIError.badRequest("status must be open, acknowledged or closed")
            }
            let note = String((o["note"] as? String ?? "").prefix(4000))
            guard try await service.store.setStatus(id, status: status, note: note, actor: who, now: Clock.nowMillis()) else {
                throw APIError.notFound("no alert \(id)")
            }
            return Routes.json(try await detail(id, service))
        }
        IncidentRoutes.add(to: router, service)
        ExceptionRoutes.add(to: router, service)
    }
}

/// Incidents: stored alerts grouped by shared entity (the engine's IncidentBuilder, as
/// `scan --incidents` does) over a time range.
enum IncidentRoutes {
    static let maxAlerts = 5000

    /// What an incident listing can be narrowed to: an incident qualifies when one of its
    /// alerts matches every filter given.
    struct Filter {
        var minLevel: Level?
        var namespace: String?
        var rule: String?
        var tactic: String?
        var pod: String?
        var image: String?
        var user: String?

        init(_ q: Request?) throws {
            guard let q = q?.uri.queryParameters else { return }
            if let l = q.get("level"), !l.isEmpty {
                guard let x = Level(name: l) else { throw APIError.badRequest("level must be informational, low, medium, high or critical") }
                minLevel = x
            }
            func v(_ k: String) -> String? { q.get(k).flatMap { $0.isEmpty ? nil : $0 } }
            (namespace, rule, tactic, pod, image, user) = (v("namespace"), v("rule"), v("tactic"), v("pod"), v("image"), v("user"))
        }

        func matches(_ a: StoredAlert) -> Bool {
            (namespace == nil || a.entity["namespace"] == namespace) && (rule == nil || a.ruleID == rule || a.detection == rule)
                && (tactic == nil || a.tactics.contains(tactic!)) && (pod == nil || a.entity["pod"] == pod)
                && (image == nil || a.entity["image"] == image) && (user == nil || a.entity["user"] == user)
        }
    }

    static func incidents(_ service: BulkheadService, since: Int64, until: Int64, filter: Filter) async throws -> [(Incident, [String])] {
        let alerts = try await service.store.alerts(since: since, until: until, limit: maxAlerts)
        var byID: [Int64: StoredAlert] = [:]
        let builder = IncidentBuilder()
        for a in alerts {
            byID[a.id] = a
            let alert = Alert(rule: RuleInfo(id: a.ruleID, title: a.title, level: a.level, tactics: a.tactics), time: a.firstSeen * 1_000_000,
                              origin: Origin(name: "alert", line: Int(a.id)), source: a.source, entity: Entity(values: a.entity), event: "")
            builder.add(alert)
        }
        return builder.finish().compactMap { i in
            if i.alerts < 2 { return nil }
            if let minLevel = filter.minLevel, i.level < minLevel { return nil }
            let members = i.timeline.compactMap { byID[Int64($0.origin.line)] }
            if !members.contains(where: filter.matches) { return nil }
            var tactics: [String] = []
            for a in members { for t in a.tactics where !tactics.contains(t) { tactics.append(t) } }
            return (i, tactics)
        }
    }

    static func id(_ i: Incident) -> String { "inc-\(i.timeline.map(\.origin.line).min() ?? 0)" }

    static func json(_ i: Incident, tactics: [String]) -> JSONValue {
        let worst = i.timeline.max { $0.level < $1.level }
        return .object([
            ("id", .string(id(i))), ("title", .string((worst?.title ?? "incident") + (i.alerts > 1 ? " and \(i.alerts - 1) more" : ""))),
            ("level", .string(i.level.description)),
            ("first_seen", Routes.time(i.first.map { $0 / 1_000_000 })), ("last_seen", Routes.time(i.last.map { $0 / 1_000_000 })),
            ("alerts", .int(Int64(i.alerts))), ("sources", .array(i.sources.map { .string($0) })),
            ("entities", .array(i.entities.map { .object([("field", .string($0.field)), ("values", .array($0.values.map { .string($0) }))]) })),
            ("links", .array(i.links.map { .string($0) })), ("tactics", .array(tactics.map { .string($0) })),
            ("timeline", .array(i.timeline.map { e in
                .object([("time", Routes.time(e.time.map { $0 / 1_000_000 })), ("alert_id", .int(Int64(e.origin.line))), ("rule_id", .string(e.ruleID)),
                         ("title", .string(e.title)), ("level", .string(e.level.description)), ("source", .string(e.source)), ("entity", .string(e.entity))])
            })),
        ])
    }

    static func add(to router: Router<BasicRequestContext>, _ service: BulkheadService) {
        @Sendable func range(_ request: Request) throws -> (Int64, Int64) {
            let now = Clock.nowMillis()
            let q = request.uri.queryParameters
            return (try Routes.parseTime(q.get("since"), now: now) ?? now - 7 * 86_400_000, try Routes.parseTime(q.get("until"), now: now) ?? now + 86_400_000)
        }
        router.get("/api/v1/incidents") { request, _ in
            try Routes.identity(request, service, need: .analyst)
            let (since, until) = try range(request)
            let limit = min(max(request.uri.queryParameters.get("limit", as: Int.self) ?? 100, 1), 500)
            let found = try await incidents(service, since: since, until: until, filter: try Filter(request))
            let newest = found.sorted { ($0.0.last ?? 0) > ($1.0.last ?? 0) }.prefix(limit)
            return Routes.json(.object([("incidents", .array(newest.map { json($0.0, tactics: $0.1) }))]))
        }
        router.get("/api/v1/incidents/:id") { request, context in
            try Routes.identity(request, service, need: .analyst)
            let (since, until) = try range(request)
            let want = context.parameters.get("id") ?? ""
            guard let hit = try await incidents(service, since: since, until: until, filter: try Filter(nil)).first(where: { id($0.0) == want }) else {
                throw APIError.notFound("no incident \(want) (incidents are regrouped as alerts arrive; list them again)")
            }
            return Routes.json(json(hit.0, tactics: hit.1))
        }
    }
}

/// Tuning exceptions added and removed at run time; the engine applies them from the next batch.
enum ExceptionRoutes {
    static func json(_ e: StoredException, suppressed: Int) -> JSONValue {
        guard case .object(var fields) = (try? JSONSerialization.jsonObject(with: Data(e.body.utf8))).map(Self.value) ?? .object([]) else { return .null }
        fields.removeAll { $0.0 == "id" || $0.0 == "created_at" || $0.0 == "suppressed" }
        return .object([("id", .int(e.id))] + fields + [("created_at", Routes.time(e.createdAt)), ("suppressed", .int(Int64(suppressed)))])
    }

    /// Foundation JSON → the writer's model (the body was validated when stored).
    static func value(_ x: Any) -> JSONValue {
        switch x {
        case let s as String: return .string(s)
        case let n as NSNumber:
            if String(cString: n.objCType) == "c" { return .bool(n.boolValue) }
            return n.doubleValue == n.doubleValue.rounded() ? .int(n.int64Value) : .double(n.doubleValue)
        case let a as [Any]: return .array(a.map(value))
        case let o as [String: Any]: return .object(o.keys.sorted().map { ($0, value(o[$0]!)) })
        default: return .null
        }
    }

    static let fields: Set<String> = ["name", "rules", "logsource", "match", "reason", "owner", "expires", "condition"]

    static func add(to router: Router<BasicRequestContext>, _ service: BulkheadService) {
        router.get("/api/v1/exceptions") { request, _ in
            try Routes.identity(request, service, need: .analyst)
            let counts = service.worker.suppressed
            let all = try await service.store.exceptions()
            return Routes.json(.object([("exceptions", .array(all.map { json($0, suppressed: counts[$0.name] ?? 0) }))]))
        }
        router.post("/api/v1/exceptions") { request, _ in
            let who = try Routes.identity(request, service, need: .admin)
            var request = request
            var o = try Routes.jsonObject(try await Routes.body(&request, max: Routes.maxAPIBody))
            guard let name = o["name"] as? String, !name.isEmpty, name.count <= 200 else { throw APIError.badRequest("an exception needs a name (at most 200 characters)") }
            if let unknown = o.keys.first(where: { !fields.contains($0) }) { throw APIError.badRequest("unknown field \(unknown)") }
            if o["owner"] == nil { o["owner"] = who }
            // An exception is a blind spot: one added at run time must end.
            guard let expires = o["expires"] as? String, expires.count == 10, expires > ExceptionsFile.today(),
                  expires <= ExceptionsFile.today(Date().addingTimeInterval(366 * 86400)) else {
                throw APIError.badRequest("expires (YYYY-MM-DD, after today and within a year) is required for exceptions added through the API")
            }
            guard let data = try? JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]) else { throw APIError.badRequest("cannot encode the exception") }
            let body = String(decoding: data, as: UTF8.self)
            if let problem = service.checkException(body, name: name) { throw APIError.badRequest(problem) }
            guard let stored = try await service.store.addException(name: name, body: body, now: Clock.nowMillis()) else {
                throw APIError(status: .conflict, code: "exists", message: "an exception named \(name) exists")
            }
            try await service.applyExceptions()
            service.logger.info("exception added", metadata: ["name": "\(name)", "by": "\(who)"])
            return Routes.json(json(stored, suppressed: 0), status: .created)
        }
        router.delete("/api/v1/exceptions/:id") { request, context in
            let who = try Routes.identity(request, service, need: .admin)
            guard let id = context.parameters.get("id", as: Int64.self) else { throw APIError.badRequest("exception ids are integers") }
            guard try await service.store.deleteException(id) else { throw APIError.notFound("no exception \(id)") }
            try await service.applyExceptions()
            service.logger.info("exception deleted", metadata: ["id": "\(id)", "by": "\(who)"])
            return Response(status: .noContent)
        }
    }
}

/// Detections, their rule and ADS, ATT&CK coverage, and source health.
enum CatalogRoutes {
    static func add(to router: Router<BasicRequestContext>, _ service: BulkheadService) {
        router.get("/api/v1/detections") { request, _ in
            try Routes.identity(request, service, need: .analyst)
            if let name = request.uri.queryParameters.get("name") { return try one(name, service) }
            return Routes.json(.object([("detections", .array(service.catalog.detections.map(service.catalog.summary)))]))
        }
        router.get("/api/v1/detections/:source/:slug") { request, context in
            try Routes.identity(request, service, need: .analyst)
            return try one((context.parameters.get("source") ?? "") + "/" + (context.parameters.get("slug") ?? ""), service)
        }
        router.get("/api/v1/coverage") { request, _ in
            try Routes.identity(request, service, need: .analyst)
            return Routes.raw(Array(service.catalog.coverageJSON.utf8), type: "application/json")
        }
        router.get("/api/v1/sources") { request, _ in
            try Routes.identity(request, service, need: .analyst)
            let now = Clock.nowMillis()
            let silence = service.config.silenceAfterSeconds * 1000
            let rows = try await service.store.sources()
            return Routes.json(.object([
                ("window_seconds", .int(SourceHealth.windowMillis / 1000)),
                ("silence_after_seconds", .int(service.config.silenceAfterSeconds)),
                ("sources", .array(rows.map { s in
                    let silent = s.lastSeen.map { (now - $0) / 1000 }
                    let status = s.lastSeen == nil ? "never" : (now - s.lastSeen! > silence ? "silent" : "ok")
                    return .object([
                        ("source", .string(s.source)), ("records", .int(s.records)), ("bad", .int(s.bad)),
                        ("rate_per_second", .double(service.health.ratePerSecond(s.source, now: now))),
                        ("last_seen", Routes.time(s.lastSeen)), ("silent_seconds", silent.map { .int($0) } ?? .null), ("status", .string(status)),
                    ])
                })),
            ]))
        }
    }

    static func one(_ name: String, _ service: BulkheadService) throws -> Response {
        guard let d = service.catalog.detection(named: name) else { throw APIError.notFound("no detection \(name)") }
        return Routes.json(service.catalog.detail(d))
    }
}

/// The web UI's static files (no data in them; the API behind them needs a login).
enum WebRoutes {
    static let files: [(path: String, file: String, type: String)] = [
        ("/", "index.html", "text/html; charset=utf-8"),
        ("/ui/app.js", "app.js", "text/javascript; charset=utf-8"),
        ("/ui/style.css", "style.css", "text/css; charset=utf-8"),
        ("/api/openapi.yaml", "openapi.yaml", "application/yaml"),
    ]

    static func add(to router: Router<BasicRequestContext>) {
        for f in files {
            let bytes = Bundle.module.url(forResource: "Web/" + f.file, withExtension: nil).flatMap { try? Data(contentsOf: $0) } ?? Data()
            router.get(RouterPath(f.path)) { _, _ in
                guard !bytes.isEmpty else { throw APIError.notFound("\(f.file) is not bundled") }
                return Routes.raw(Array(bytes), type: f.type, extra: [.cacheControl: "no-cache"])
            }
        }
    }
}
