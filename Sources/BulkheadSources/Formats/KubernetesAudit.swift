import BulkheadEvent

/// Kubernetes audit events (audit.k8s.io/v1 `Event`) as the API server writes them, and the
/// wrappers managed clusters put around them: EKS via CloudWatch (`@message` / `message` hold
/// the event as a string), AKS diagnostic records (`properties.log`). OpenShift writes the
/// same format. EventList batches are split by the framer. GKE writes Kubernetes audit as
/// Cloud Audit Logs entries (`protoPayload.serviceName` `k8s.io`); those are translated into
/// an audit.k8s.io Event.
public struct KubernetesAuditFormat: JSONFormat {
    public let mapping = SourceMapping.load("k8s_audit")
    public init() {}

    static let apiVersion = FieldPath("apiVersion")
    static let kind = FieldPath("kind")
    static let auditID = FieldPath("auditID")
    static let stage = FieldPath("stage")
    static let wrappers = [FieldPath("@message"), FieldPath("message"), FieldPath("properties.log")]

    static let gkeType = FieldPath("protoPayload.@type")
    static let gkeService = FieldPath("protoPayload.serviceName")

    public func sniff(_ r: EventView) -> Bool {
        if isEvent(r) || isGKE(r) { return true }
        return Self.wrappers.contains { path in wrapped(r, path) != nil }
    }

    /// GKE: a Cloud Audit Logs entry from the `k8s.io` service.
    func isGKE(_ r: EventView) -> Bool {
        r.has(Self.gkeService, equalTo: "k8s.io") && r.has(Self.gkeType, equalTo: "type.googleapis.com/google.cloud.audit.AuditLog")
    }

    /// The wrapped event at `path`: a string holding the event's JSON (EKS CloudWatch, AKS
    /// string form), or the event object itself (AKS object form).
    func wrapped(_ r: EventView, _ path: FieldPath) -> Int? {
        guard let n = r.first(path) else { return nil }
        switch r.kind(n) {
        case .string:
            return r.withText(n) { v in ByteSearch.contains(v, "audit.k8s.io") } ? n : nil
        case .object:
            guard let api = r.child(n, "apiVersion"), r.kind(api) == .string else { return nil }
            return r.withText(api) { v in ByteSearch.contains(v, "audit.k8s.io") } ? n : nil
        default:
            return nil
        }
    }

    func isEvent(_ r: EventView) -> Bool {
        (r.has(Self.apiVersion, prefix: "audit.k8s.io/") && r.has(Self.kind, equalTo: "Event"))
            || (r.exists(Self.auditID) && r.exists(Self.stage))
    }

    public func decode(_ r: EventView, into out: inout [UInt8]) -> DecodeResult {
        if isEvent(r) { return .record(kind: 0) }
        if isGKE(r) { return GKEAudit.translate(r, into: &out) }
        for path in Self.wrappers {
            guard let n = wrapped(r, path) else { continue }
            out.removeAll(keepingCapacity: true)
            if r.kind(n) == .string {
                r.withText(n) { out.append(contentsOf: $0) }
            } else {
                let node = r.nodes[n]
                out.append(contentsOf: UnsafeBufferPointer(start: r.base + Int(node.start), count: Int(node.end) - Int(node.start)))
            }
            return .rewritten(kind: 0)
        }
        return .invalid("not a Kubernetes audit event (no apiVersion audit.k8s.io/*, kind Event)")
    }
}

/// GKE Kubernetes audit entries (Cloud Audit Logs, `serviceName` `k8s.io`) → audit.k8s.io Event.
enum GKEAudit {
    static func translate(_ r: EventView, into out: inout [UInt8]) -> DecodeResult {
        let payload = r.child(0, "protoPayload")
        guard let method = r.text(r.child(payload, "methodName")) else {
            return .invalid("GKE audit entry without protoPayload.methodName")
        }
        let resourceName = r.text(r.child(payload, "resourceName")) ?? ""
        let methodParts = method.split(separator: ".")
        let verb = methodParts.last.map(String.init) ?? method
        let ref = objectRef(resourceName: resourceName, methodParts: methodParts)

        var w = RecordRewriter(reusing: &out)
        w.add("kind", "Event")
        w.add("apiVersion", "audit.k8s.io/v1")
        w.add("level", r.child(payload, "request") != nil || r.child(payload, "response") != nil ? "RequestResponse" : "Metadata")
        w.addText("auditID", r, r.child(0, "insertId"))
        w.add("stage", "ResponseComplete")
        w.add("requestURI", ref.uri)
        w.add("verb", verb)
        w.openObject("user")
        w.addText("username", r, r.child(r.child(payload, "authenticationInfo"), "principalEmail"))
        w.closeObject()
        let metadata = r.child(payload, "requestMetadata")
        if let ip = r.text(r.child(metadata, "callerIp")) { w.add("sourceIPs", strings: [ip]) }
        w.addText("userAgent", r, r.child(metadata, "callerSuppliedUserAgent"))
        if ref.resource != nil || ref.name != nil {
            w.openObject("objectRef")
            w.add("resource", ref.resource)
            w.add("subresource", ref.subresource)
            w.add("namespace", ref.namespace)
            w.add("name", ref.name)
            w.add("apiGroup", ref.group)
            w.add("apiVersion", ref.version)
            w.closeObject()
        }
        if let request = r.child(payload, "request") { w.addRaw("requestObject", r, request) }
        if let response = r.child(payload, "response") { w.addRaw("responseObject", r, response) }
        w.openObject("responseStatus")
        let code = r.text(r.child(r.child(payload, "status"), "code")).flatMap { Int($0) } ?? 0
        w.add("code", number: httpStatus(grpc: code))
        w.addText("message", r, r.child(r.child(payload, "status"), "message"))
        w.closeObject()
        w.addText("requestReceivedTimestamp", r, r.child(0, "timestamp"))
        w.addText("stageTimestamp", r, r.child(0, "timestamp"))
        if let labels = r.child(0, "labels"), r.kind(labels) == .object { w.addRaw("annotations", r, labels) }
        w.finish(into: &out)
        return .rewritten(kind: 0)
    }

    struct Ref {
        var group: String?, version: String?, namespace: String?, resource: String?, name: String?, subresource: String?
        var uri: String?
    }

    /// `core/v1/namespaces/<ns>/pods/<name>[/<sub>]`, `apps/v1/namespaces/<ns>/deployments/<n>`,
    /// `rbac.authorization.k8s.io/v1/clusterrolebindings/<n>`, or a non-resource path (`readyz`).
    static func objectRef(resourceName: String, methodParts: [Substring]) -> Ref {
        var ref = Ref()
        let seg = resourceName.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        if seg.count >= 3, seg[1].hasPrefix("v"), seg[1].dropFirst().first?.isNumber == true {
            ref.group = seg[0] == "core" ? nil : seg[0]
            ref.version = seg[1]
            var rest = Array(seg.dropFirst(2))
            if rest.first == "namespaces" && rest.count >= 3 {
                ref.namespace = rest[1]
                rest.removeFirst(2)
            }
            ref.resource = rest.first
            ref.name = rest.count > 1 ? rest[1] : nil
            ref.subresource = rest.count > 2 ? rest[2] : nil
            let prefix = seg[0] == "core" ? "/api/" + seg[1] : "/apis/" + seg[0] + "/" + seg[1]
            ref.uri = prefix + "/" + seg.dropFirst(2).joined(separator: "/")
        } else {
            // Non-resource requests, or an unparsed name: resource from the method.
            let parts = methodParts.map(String.init)
            if parts.count >= 4, parts[0] == "io", parts[1] == "k8s" {
                // io.k8s.<group...>.<version>.<resource>[.<sub>].<verb>
                if let v = parts.lastIndex(where: { $0.hasPrefix("v") && $0.dropFirst().first?.isNumber == true }), v + 1 < parts.count - 1 {
                    ref.version = parts[v]
                    ref.resource = parts[v + 1]
                    ref.subresource = v + 2 < parts.count - 1 ? parts[v + 2] : nil
                    let group = parts[2..<v].joined(separator: ".")
                    ref.group = group == "core" ? nil : group
                    ref.name = seg.last
                }
            }
            ref.uri = "/" + resourceName
        }
        return ref
    }

    /// google.rpc.Code → HTTP status.
    static func httpStatus(grpc code: Int) -> Int {
        switch code {
        case 0: return 200
        case 3: return 400
        case 5: return 404
        case 6, 10: return 409
        case 7: return 403
        case 8: return 429
        case 9: return 400
        case 14: return 503
        case 16: return 401
        default: return 500
        }
    }
}

public enum ByteSearch {
    public static func contains(_ v: UnsafeBufferPointer<UInt8>, _ needle: StaticString) -> Bool {
        let n = needle.utf8CodeUnitCount
        guard v.count >= n, n > 0 else { return n == 0 }
        let p = needle.utf8Start
        var i = 0
        while i + n <= v.count {
            if v[i] == p[0] {
                var k = 1
                while k < n && v[i + k] == p[k] { k += 1 }
                if k == n { return true }
            }
            i += 1
        }
        return false
    }
}
