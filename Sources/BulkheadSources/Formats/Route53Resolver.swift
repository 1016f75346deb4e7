import BulkheadEvent

/// Amazon Route 53 Resolver query logs (to CloudWatch Logs, S3 or Firehose): one JSON object
/// per query with `query_name`, `query_type`, `rcode`, `answers`, `srcaddr`, `srcids`.
/// Rewritten to add the Sigma dns taxonomy fields and an `entity` object.
public struct Route53ResolverFormat: JSONFormat {
    public let mapping = SourceMapping.load("route53_resolver")
    public init() {}

    static let queryName = FieldPath("query_name")
    static let srcaddr = FieldPath("srcaddr")
    static let queryTimestamp = FieldPath("query_timestamp")
    static let vpcID = FieldPath("vpc_id")

    public func sniff(_ r: EventView) -> Bool {
        r.exists(Self.queryName) && r.exists(Self.srcaddr) && (r.exists(Self.queryTimestamp) || r.exists(Self.vpcID))
    }

    public func decode(_ r: EventView, into out: inout [UInt8]) -> DecodeResult {
        guard r.nodes[0].kind == .object, let name = r.child(0, "query_name") else {
            return .invalid("not a Route 53 Resolver query log (no query_name)")
        }
        var w = RecordRewriter(copying: r, reusing: &out)
        let q = EnrichText.trimDot(r.text(name))
        w.add("query", q)
        w.add("QueryName", q)
        w.addText("record_type", r, r.child(0, "query_type"))
        w.addText("QueryType", r, r.child(0, "query_type"))
        var answers: [String] = []
        if let list = r.child(0, "answers"), r.kind(list) == .array {
            var a = list + 1
            while a < Int(r.nodes[list].after) {
                if let v = EnrichText.trimDot(r.text(r.child(a, "Rdata"))) { answers.append(v) }
                a = Int(r.nodes[a].after)
            }
        }
        w.add("answer", strings: answers)
        w.addText("SourceIp", r, r.child(0, "srcaddr"))
        w.addText("SourcePort", r, r.child(0, "srcport"))
        w.add("Protocol", r.text(r.child(0, "transport"))?.lowercased())
        w.openObject("entity")
        w.addText("cloud_account", r, r.child(0, "account_id"))
        w.addText("cloud_region", r, r.child(0, "region"))
        w.addText("cloud_instance", r, r.child(r.child(0, "srcids"), "instance"))
        w.addText("source_ip", r, r.child(0, "srcaddr"))
        w.closeObject()
        w.finish(into: &out)
        return .rewritten(kind: 0)
    }
}
