import BulkheadEvent

/// Google Cloud Audit Logs: `LogEntry` objects whose `protoPayload` is an
/// `google.cloud.audit.AuditLog` (Logging sinks to Pub/Sub, GCS or BigQuery exports, `gcloud
/// logging read --format=json`). GKE Kubernetes audit entries (`serviceName` `k8s.io`) are
/// read by the Kubernetes audit format, which comes first. Evaluated as written; SigmaHQ's
/// `gcp.audit.*` field names are mapped to `protoPayload` paths.
public struct GCPAuditFormat: JSONFormat {
    public let mapping = SourceMapping.load("gcp_audit")
    public init() {}

    static let type = FieldPath("protoPayload.@type")
    static let methodName = FieldPath("protoPayload.methodName")

    public func sniff(_ r: EventView) -> Bool {
        r.has(Self.type, equalTo: "type.googleapis.com/google.cloud.audit.AuditLog")
    }

    public func decode(_ r: EventView, into out: inout [UInt8]) -> DecodeResult {
        guard r.exists(Self.methodName) || r.exists(Self.type) else {
            return .invalid("not a GCP audit log entry (no protoPayload AuditLog)")
        }
        return .record(kind: 0)
    }
}
