import BulkheadEvent

/// Zeek logs written as JSON (`LogAscii::use_json=T`, or JSON-streaming): conn.log and dns.log.
/// Keys carry dots (`id.orig_h`). Rewritten to add the Sigma taxonomy fields. The TSV form is
/// read by separate text formats that share these mappings.
public struct ZeekConnJSONFormat: JSONFormat {
    public let mapping = SourceMapping.load("zeek_conn")
    public init() {}

    static let uid = FieldPath("uid")
    static let origH = FieldPath("\"id.orig_h\"")
    static let connState = FieldPath("conn_state")
    static let proto = FieldPath("proto")
    static let query = FieldPath("query")

    public func sniff(_ r: EventView) -> Bool {
        r.exists(Self.uid) && r.exists(Self.origH) && (r.exists(Self.connState) || (r.exists(Self.proto) && !r.exists(Self.query)))
    }

    public func decode(_ r: EventView, into out: inout [UInt8]) -> DecodeResult {
        guard r.nodes[0].kind == .object, r.child(0, "id.orig_h") != nil else {
            return .invalid("not a Zeek conn record (no id.orig_h)")
        }
        var w = RecordRewriter(copying: r, reusing: &out)
        ZeekJSON.addEndpoints(&w, r)
        w.add("Protocol", r.text(r.child(0, "proto"))?.lowercased())
        w.add("Initiated", "true")
        w.addText("SentBytes", r, r.child(0, "orig_bytes"))
        w.addText("ReceivedBytes", r, r.child(0, "resp_bytes"))
        ZeekJSON.addEntity(&w, r)
        w.finish(into: &out)
        return .rewritten(kind: 0)
    }
}

public struct ZeekDNSJSONFormat: JSONFormat {
    public let mapping = SourceMapping.load("zeek_dns")
    public init() {}

    static let uid = FieldPath("uid")
    static let origH = FieldPath("\"id.orig_h\"")
    static let query = FieldPath("query")
    static let qtypeName = FieldPath("qtype_name")
    static let trans = FieldPath("trans_id")

    public func sniff(_ r: EventView) -> Bool {
        r.exists(Self.uid) && r.exists(Self.origH) && (r.exists(Self.query) || r.exists(Self.qtypeName) || r.exists(Self.trans))
    }

    public func decode(_ r: EventView, into out: inout [UInt8]) -> DecodeResult {
        guard r.nodes[0].kind == .object, r.child(0, "id.orig_h") != nil else {
            return .invalid("not a Zeek dns record (no id.orig_h)")
        }
        var w = RecordRewriter(copying: r, reusing: &out)
        ZeekJSON.addEndpoints(&w, r)
        w.add("Protocol", r.text(r.child(0, "proto"))?.lowercased())
        // `query` is native (same name, same value); only the aliases are added.
        w.addText("QueryName", r, r.child(0, "query"))
        w.addText("record_type", r, r.child(0, "qtype_name"))
        w.addText("QueryType", r, r.child(0, "qtype_name"))
        if let answers = r.child(0, "answers") {
            if r.kind(answers) == .array {
                w.addRaw("answer", r, answers)
                w.addRaw("QueryResults", r, answers)
            } else {
                w.addText("answer", r, answers)
                w.addText("QueryResults", r, answers)
            }
        }
        ZeekJSON.addEntity(&w, r)
        w.finish(into: &out)
        return .rewritten(kind: 0)
    }
}

enum ZeekJSON {
    static func addEndpoints(_ w: inout RecordRewriter, _ r: EventView) {
        w.addText("SourceIp", r, r.child(0, "id.orig_h"))
        w.addText("SourcePort", r, r.child(0, "id.orig_p"))
        w.addText("DestinationIp", r, r.child(0, "id.resp_h"))
        w.addText("DestinationPort", r, r.child(0, "id.resp_p"))
    }

    static func addEntity(_ w: inout RecordRewriter, _ r: EventView) {
        w.openObject("entity")
        w.addText("source_ip", r, r.child(0, "id.orig_h"))
        w.addText("node", r, r.child(0, "_system_name") ?? r.child(0, "host"))
        w.closeObject()
    }
}
