import BulkheadEvent

/// DNS events from tshark / packet tools in flat JSON, one message per line: `ts`, `src_ip`,
/// `src_port`, `dst_ip`, `dst_port`, `transport`, `dns_id`, `is_response`, `qname`, `qtype`
/// (number or name), `rcode`, `answers`. Rewritten to add the Sigma dns taxonomy fields and an
/// `entity` object (the client: `src_ip` of queries, `dst_ip` of responses).
public struct DNSJSONLFormat: JSONFormat {
    public let mapping = SourceMapping.load("dns_jsonl")
    public init() {}

    public func sniff(_ r: EventView) -> Bool {
        r.child(0, "qname") != nil && r.child(0, "qtype") != nil
            && (r.child(0, "src_ip") != nil || r.child(0, "dst_ip") != nil)
            && (r.child(0, "is_response") != nil || r.child(0, "dns_id") != nil)
    }

    public func decode(_ r: EventView, into out: inout [UInt8]) -> DecodeResult {
        guard r.nodes[0].kind == .object, let qname = r.child(0, "qname") else {
            return .invalid("not a DNS event (no qname)")
        }
        var w = RecordRewriter(copying: r, reusing: &out)
        let q = EnrichText.trimDot(r.text(qname))
        w.add("query", q)
        w.add("QueryName", q)
        let type = Self.name(r, r.child(0, "qtype"), DNSMessage.typeName)
        w.add("record_type", type)
        w.add("QueryType", type)
        if let answers = r.child(0, "answers") {
            var list: [String] = []
            if r.kind(answers) == .array {
                var a = answers + 1
                while a < Int(r.nodes[answers].after) {
                    if let v = EnrichText.trimDot(r.text(a)), !v.isEmpty { list.append(v) }
                    a = Int(r.nodes[a].after)
                }
            } else if let v = EnrichText.trimDot(r.text(answers)), !v.isEmpty {
                list.append(v)
            }
            w.add("answer", strings: list)
            w.add("QueryResults", strings: list)
        }
        w.add("QueryStatus", Self.name(r, r.child(0, "rcode"), DNSMessage.rcodeName))
        w.addText("SourceIp", r, r.child(0, "src_ip"))
        w.addText("SourcePort", r, r.child(0, "src_port"))
        w.addText("DestinationIp", r, r.child(0, "dst_ip"))
        w.addText("DestinationPort", r, r.child(0, "dst_port"))
        w.add("Protocol", r.text(r.child(0, "transport"))?.lowercased())
        let response = r.kind(r.child(0, "is_response") ?? 0) == .true
        w.openObject("entity")
        w.addText("source_ip", r, r.child(0, response ? "dst_ip" : "src_ip"))
        w.closeObject()
        w.finish(into: &out)
        return .rewritten(kind: 0)
    }

    /// A number turned into its name (`1` → `A`), or a name kept as written.
    static func name(_ r: EventView, _ node: Int?, _ table: (Int) -> String) -> String? {
        guard let node else { return nil }
        switch r.kind(node) {
        case .number: return r.text(node).flatMap { Int($0) }.map(table) ?? r.text(node)
        case .string: return r.text(node).map { Int($0).map(table) ?? $0 }
        default: return nil
        }
    }
}
