import BulkheadEvent

/// Suricata EVE JSON (`eve.json`): one record per line with `event_type` (`flow`, `netflow`,
/// `dns`, `tls`, `http`, `alert`, `fileinfo`, `anomaly`, `stats`, ...). Rewritten to add the
/// Sigma taxonomy fields of the record's category (network_connection, dns, tls, proxy).
public struct SuricataFormat: JSONFormat {
    public let mapping = SourceMapping.load("suricata")
    public init() {}

    static let eventType = FieldPath("event_type")
    static let timestamp = FieldPath("timestamp")
    static let srcIP = FieldPath("src_ip")
    static let flowID = FieldPath("flow_id")
    static let stats = FieldPath("stats")

    enum Kind { static let network = 0, dns = 1, tls = 2, proxy = 3, event = 4 }

    public func sniff(_ r: EventView) -> Bool {
        r.has(Self.eventType, prefix: "") && r.exists(Self.timestamp)
            && (r.exists(Self.srcIP) || r.exists(Self.flowID) || r.exists(Self.stats))
    }

    public func decode(_ r: EventView, into out: inout [UInt8]) -> DecodeResult {
        guard let et = r.first(Self.eventType), r.kind(et) == .string else {
            return .invalid("not a Suricata EVE record (no event_type)")
        }
        let kind: Int
        if r.equals(et, "flow") || r.equals(et, "netflow") { kind = Kind.network }
        else if r.equals(et, "dns") { kind = Kind.dns }
        else if r.equals(et, "tls") { kind = Kind.tls }
        else if r.equals(et, "http") { kind = Kind.proxy }
        else { kind = Kind.event }
        let root = 0
        guard r.child(root, "src_ip") != nil || kind != Kind.event else { return .record(kind: kind) }

        var w = RecordRewriter(copying: r, reusing: &out)
        w.addText("SourceIp", r, r.child(root, "src_ip"))
        w.addText("SourcePort", r, r.child(root, "src_port"))
        w.addText("DestinationIp", r, r.child(root, "dest_ip"))
        w.addText("DestinationPort", r, r.child(root, "dest_port"))
        w.add("Protocol", r.text(r.child(root, "proto"))?.lowercased())
        if r.child(root, "src_ip") != nil { w.add("Initiated", "true") }
        switch kind {
        case Kind.dns:
            let dns = r.child(root, "dns")
            var firstQuery: Int?
            if let queries = r.child(dns, "queries"), r.kind(queries) == .array, r.nodes[queries].after > queries + 1 {
                firstQuery = queries + 1
            }
            let name = r.child(dns, "rrname") ?? r.child(firstQuery, "rrname")
            w.addText("query", r, name)
            w.addText("QueryName", r, name)
            let type = r.child(dns, "rrtype") ?? r.child(firstQuery, "rrtype")
            w.addText("record_type", r, type)
            w.addText("QueryType", r, type)
            // v2/v3: answers[].rdata; v1: one answer record per line with dns.rdata.
            if let answers = r.child(dns, "answers") {
                var values: [String] = []
                if r.kind(answers) == .array {
                    var a = answers + 1
                    while a < Int(r.nodes[answers].after) {
                        if let v = r.text(r.child(a, "rdata")) { values.append(v) }
                        a = Int(r.nodes[a].after)
                    }
                }
                w.add("answer", strings: values)
            } else {
                w.addText("answer", r, r.child(dns, "rdata"))
            }
            w.addText("rcode", r, r.child(dns, "rcode"))
        case Kind.tls:
            let tls = r.child(root, "tls")
            w.addText("DestinationHostname", r, r.child(tls, "sni"))
        case Kind.proxy:
            let http = r.child(root, "http")
            w.addText("c-uri", r, r.child(http, "url"))
            w.addText("cs-host", r, r.child(http, "hostname"))
            w.addText("cs-method", r, r.child(http, "http_method"))
            w.addText("c-useragent", r, r.child(http, "http_user_agent"))
            w.addText("sc-status", r, r.child(http, "status"))
            w.addText("cs-referrer", r, r.child(http, "http_refer"))
            w.addText("DestinationHostname", r, r.child(http, "hostname"))
        default: break
        }
        w.openObject("entity")
        w.addText("source_ip", r, r.child(root, "src_ip"))
        w.addText("node", r, r.child(root, "host"))
        w.closeObject()
        w.finish(into: &out)
        return .rewritten(kind: kind)
    }
}
