import BulkheadEvent

/// Kubernetes audit events (audit.k8s.io/v1 `Event`) as the API server writes them, and the
/// wrappers managed clusters put around them: EKS via CloudWatch (`@message` / `message` hold
/// the event as a string), AKS diagnostic records (`properties.log`). OpenShift writes the
/// same format. EventList batches are split by the framer.
public struct KubernetesAuditFormat: JSONFormat {
    public let mapping = SourceMapping.load("k8s_audit")
    public init() {}

    static let apiVersion = FieldPath("apiVersion")
    static let kind = FieldPath("kind")
    static let auditID = FieldPath("auditID")
    static let stage = FieldPath("stage")
    static let wrappers = [FieldPath("@message"), FieldPath("message"), FieldPath("properties.log")]

    public func sniff(_ r: EventView) -> Bool {
        if isEvent(r) { return true }
        return Self.wrappers.contains { path in
            guard let n = r.first(path), r.kind(n) == .string else { return false }
            return r.withText(n) { v in ByteSearch.contains(v, "audit.k8s.io") }
        }
    }

    func isEvent(_ r: EventView) -> Bool {
        (r.has(Self.apiVersion, prefix: "audit.k8s.io/") && r.has(Self.kind, equalTo: "Event"))
            || (r.exists(Self.auditID) && r.exists(Self.stage))
    }

    public func decode(_ r: EventView, into out: inout [UInt8]) -> DecodeResult {
        if isEvent(r) { return .record(kind: 0) }
        for path in Self.wrappers {
            guard let n = r.first(path), r.kind(n) == .string else { continue }
            out.removeAll(keepingCapacity: true)
            r.withText(n) { out.append(contentsOf: $0) }
            return .rewritten(kind: 0)
        }
        return .invalid("not a Kubernetes audit event (no apiVersion audit.k8s.io/*, kind Event)")
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
