import BulkheadEngine
import BulkheadEvent
import BulkheadSinks
import BulkheadSources
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// A JSON error: `{"error": code, "message": what was wrong}`.
struct APIError: HTTPResponseError {
    var status: HTTPResponse.Status
    var code: String
    var message: String
    var extra: [(String, JSONValue)] = []
    var headers: HTTPFields = [:]

    static func badRequest(_ m: String, _ extra: [(String, JSONValue)] = []) -> APIError { APIError(status: .badRequest, code: "bad_request", message: m, extra: extra) }
    static func notFound(_ m: String) -> APIError { APIError(status: .notFound, code: "not_found", message: m) }
    static let unauthorized = APIError(status: .unauthorized, code: "unauthorized", message: "a bearer token or a session is required",
                                       headers: [.wwwAuthenticate: "Bearer realm=\"bulkhead\""])

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        Routes.securityHeaders(&fields)
        let body = JSONWriter.object([("error", .string(code)), ("message", .string(message))] + extra)
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

/// The HTTP surface of `bulkhead serve`. Handlers parse and authorise, then call the service.
enum Routes {
    static let ingestEndpoints: [(path: String, endpoint: String, format: String)] = [
        ("/ingest/k8s-audit", "k8s-audit", "k8s_audit"),
        ("/ingest/falco", "falco", "falco"),
        ("/ingest/cloudtrail", "cloudtrail", "cloudtrail"),
        ("/ingest/tetragon", "tetragon", "tetragon"),
    ]
    static let maxAPIBody = 64 << 10
    static let sessionCookie = "bulkhead_session"

    static func securityHeaders(_ f: inout HTTPFields) {
        f[.contentSecurityPolicy] = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
        f[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        f[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        f[HTTPField.Name("X-Frame-Options")!] = "DENY"
        if f[.cacheControl] == nil { f[.cacheControl] = "no-store" }
    }

    static func json(_ v: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        var out: [UInt8] = []
        JSONWriter.write(v, &out)
        return raw(out, type: "application/json", status: status)
    }

    static func raw(_ bytes: some Collection<UInt8>, type: String, status: HTTPResponse.Status = .ok, extra: HTTPFields = [:]) -> Response {
        var f = extra
        f[.contentType] = type
        securityHeaders(&f)
        return Response(status: status, headers: f, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    // MARK: Authentication

    /// Who is calling, if allowed `need`: a bearer token, or a UI session (which must carry the
    /// CSRF header on writes). 401 without valid credentials, 403 when the scope is too small.
    @discardableResult
    static func identity(_ request: Request, _ service: BulkheadService, need: Authenticator.Scope) throws -> String {
        let who: Authenticator.Identity
        let label: String
        if let h = request.headers[.authorization] {
            guard h.count > 7, h.prefix(7).lowercased() == "bearer ", let id = service.auth.identity(h.dropFirst(7).trimmingCharacters(in: .whitespaces)) else {
                service.metrics.add("bulkhead_auth_failures_total")
                throw APIError.unauthorized
            }
            (who, label) = (id, "token:" + id.name)
        } else if let id = request.cookies[sessionCookie]?.value, let s = service.auth.session(id, now: Clock.nowMillis() / 1000) {
            if request.method != .get && request.method != .head && request.headers[HTTPField.Name("X-Bulkhead-CSRF")!] != "1" {
                throw APIError(status: .forbidden, code: "csrf", message: "session requests that change state need the X-Bulkhead-CSRF: 1 header")
            }
            (who, label) = (s.identity, "session:" + s.identity.name)
        } else {
            service.metrics.add("bulkhead_auth_failures_total")
            throw APIError.unauthorized
        }
        guard who.scope.allows(need) else {
            throw APIError(status: .forbidden, code: "scope", message: "token \(who.name) has scope \(who.scope.rawValue); this needs \(need.rawValue)")
        }
        return label
    }

    static func body(_ request: inout Request, max: Int) async throws -> ByteBuffer {
        do { return try await request.collectBody(upTo: max) } catch {
            throw APIError(status: .contentTooLarge, code: "too_large", message: "the body is over \(max) bytes")
        }
    }

    static func jsonObject(_ buffer: ByteBuffer) throws -> [String: Any] {
        guard let o = try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any] else {
            throw APIError.badRequest("the body must be a JSON object")
        }
        return o
    }

    // MARK: Router

    static func router(_ service: BulkheadService) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/healthz") { _, _ in raw(Array("ok\n".utf8), type: "text/plain") }
        router.get("/readyz") { _, _ in
            let ok = service.isReady
            let storeOK = ok ? await service.store.ping() : false
            return raw(Array((ok && storeOK ? "ready\n" : "not ready\n").utf8), type: "text/plain", status: ok && storeOK ? .ok : .serviceUnavailable)
        }
        router.get("/metrics") { request, _ in
            try identity(request, service, need: .analyst)
            service.metrics.set("bulkhead_queue_depth", [], Double(service.worker.depth))
            return raw(Array(service.metrics.render().utf8), type: "text/plain; version=0.0.4")
        }
        for e in ingestEndpoints {
            router.post(RouterPath(e.path)) { request, _ in try await ingest(request, service, endpoint: e.endpoint, format: Formats.index(of: e.format)) }
        }
        router.post("/ingest") { request, _ in
            var format: Int?
            if let f = request.uri.queryParameters.get("format"), !f.isEmpty {
                guard let i = Formats.index(of: f) else {
                    var known: [String] = []
                    for id in Formats.all.map(\.id) where !known.contains(id) { known.append(id) }
                    throw APIError.badRequest("unknown format \(f); known: \(known.joined(separator: ", "))")
                }
                format = i
            }
            return try await ingest(request, service, endpoint: "generic", format: format)
        }
        SessionRoutes.add(to: router, service)
        AlertRoutes.add(to: router, service)
        CatalogRoutes.add(to: router, service)
        WebRoutes.add(to: router)
        return router
    }

    static func ingest(_ request: Request, _ service: BulkheadService, endpoint: String, format: Int?) async throws -> Response {
        var request = request
        let code: (Int) -> Void = { service.metrics.add("bulkhead_ingest_requests_total", [("endpoint", endpoint), ("code", String($0))]) }
        do {
            let sender = try identity(request, service, need: .ingest)
            if let wait = service.senderLimiter.take(sender) {
                service.metrics.add("bulkhead_ingest_rate_limited_total", [("sender", sender)])
                throw APIError(status: .tooManyRequests, code: "rate_limited",
                               message: "\(sender) is over its \(Int(service.senderLimiter.rate)) ingest requests per second; retry later",
                               headers: [.retryAfter: String(max(1, Int(wait.rounded(.up))))])
            }
            let body = try await service.uploads.withPermit { try await Routes.body(&request, max: service.config.maxBodyBytes) }
            let r = try await service.ingest(body, endpoint: endpoint, format: format)
            code(200)
            var fields: [(String, JSONValue)] = [
                ("batch", .string(r.batch)), ("records", .int(Int64(r.records))), ("bad", .int(Int64(r.bad))),
                ("alerts", .int(Int64(r.alerts))), ("problems", .array(r.problems.prefix(20).map { .string($0) })),
            ]
            if let published = r.published { fields.append(("published", .int(Int64(published)))) }
            return json(.object(fields))
        } catch let e as APIError {
            code(e.status.code)
            throw e
        } catch let e as BulkheadService.IngestError {
            let api: APIError
            switch e {
            case .notReady: api = APIError(status: .serviceUnavailable, code: "not_ready", message: "bulkhead is starting or shutting down", headers: [.retryAfter: "5"])
            case .queueFull: api = APIError(status: .tooManyRequests, code: "queue_full", message: "the ingest queue is full; retry later", headers: [.retryAfter: "1"])
            case .invalid(let why, let problems): api = .badRequest(why, [("problems", .array(problems.prefix(20).map { .string($0) }))])
            case .tooLarge(let why, let problems):
                api = APIError(status: .contentTooLarge, code: "too_large", message: why, extra: [("problems", .array(problems.prefix(20).map { .string($0) }))])
            case .storage(let why): api = APIError(status: .serviceUnavailable, code: "store_unavailable", message: why, headers: [.retryAfter: "5"])
            }
            code(api.status.code)
            throw api
        }
    }

    // MARK: Helpers for the API

    static func time(_ ms: Int64?) -> JSONValue { ms.map { .string(Timestamps.format(epochNanos: $0 * 1_000_000)) } ?? .null }

    /// RFC 3339, epoch milliseconds, or a duration back from now (`24h`, `30m`).
    static func parseTime(_ s: String?, now: Int64) throws -> Int64? {
        guard let s, !s.isEmpty else { return nil }
        if let ago = ServeDurations.nanos(s) { return now - ago / 1_000_000 }
        if let ms = Int64(s) { return ms }
        let bytes = Array(s.utf8)
        if let ns = bytes.withUnsafeBufferPointer({ Timestamps.parseRFC3339($0) }) { return ns / 1_000_000 }
        throw APIError.badRequest("\(s): a time must be RFC 3339, epoch milliseconds or a duration like 24h")
    }
}
