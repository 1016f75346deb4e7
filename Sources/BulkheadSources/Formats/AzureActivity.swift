import BulkheadEvent

/// Azure Activity Log records as diagnostic settings export them (storage account / Event Hub
/// `{"records":[...]}` blobs, split by the framer) and the REST API shape where
/// `operationName` is `{value, localizedValue}`. Rewritten to add an `entity` object (the
/// subscription parsed from `resourceId`, the caller, the caller's IP).
public struct AzureActivityFormat: JSONFormat {
    public let mapping = SourceMapping.load("azure_activity")
    public init() {}

    static let resourceId = FieldPath("resourceId")
    static let operationName = FieldPath("operationName")
    static let time = FieldPath("time")
    static let eventTimestamp = FieldPath("eventTimestamp")
    static let category = FieldPath("category")

    public func sniff(_ r: EventView) -> Bool {
        guard let id = r.first(Self.resourceId), r.kind(id) == .string,
              r.exists(Self.operationName), r.exists(Self.time) || r.exists(Self.eventTimestamp) else { return false }
        return r.withText(id) { Self.subscriptionRange($0) != nil }
    }

    /// The subscription id's byte range in `/subscriptions/<id>/...` (case-insensitive).
    static func subscriptionRange(_ v: UnsafeBufferPointer<UInt8>) -> Range<Int>? {
        let needle = Array("/subscriptions/".utf8)
        guard v.count > needle.count else { return nil }
        var i = 0
        while i + needle.count <= v.count {
            var k = 0
            while k < needle.count && (v[i + k] | 0x20) == needle[k] { k += 1 }
            if k == needle.count {
                let start = i + k
                var end = start
                while end < v.count && v[end] != 0x2F { end += 1 }
                return end > start ? start..<end : nil
            }
            i += 1
        }
        return nil
    }

    public func decode(_ r: EventView, into out: inout [UInt8]) -> DecodeResult {
        guard r.nodes[0].kind == .object, r.exists(Self.operationName) else {
            return .invalid("not an Azure Activity Log record (no operationName)")
        }
        var w = RecordRewriter(copying: r, reusing: &out)
        w.openObject("entity")
        if let id = r.first(Self.resourceId), r.kind(id) == .string {
            r.withText(id) { v in
                if let range = Self.subscriptionRange(v) {
                    w.add("cloud_account", bytes: UnsafeBufferPointer(rebasing: v[range]))
                }
            }
        }
        let claims = r.child(r.child(0, "identity"), "claims")
        if let caller = r.child(0, "caller"), r.text(caller) != nil {
            w.addText("user", r, caller)
        } else if let name = r.child(claims, "name") {
            w.addText("user", r, name)
        } else {
            w.addText("user", r, r.child(claims, "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"))
        }
        w.addText("source_ip", r, r.child(0, "callerIpAddress"))
        w.addText("cloud_region", r, r.child(0, "location"))
        w.closeObject()
        w.finish(into: &out)
        return .rewritten(kind: 0)
    }
}
