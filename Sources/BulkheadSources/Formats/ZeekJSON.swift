import BulkheadEvent

/// Zeek logs written as JSON (`LogAscii::use_json=T`, or JSON-streaming): conn.log and dns.log.
/// Keys carry dots (`id.orig_h`), or underscores when a shipper rewrote them (`id_orig_h`,
/// e.g. the OTRF / Mordor datasets, which also add `@stream`, `@system`, `@proc`). A Splunk
/// search export (`{"result":{"_raw":"<zeek json>",...}}`) is unwrapped. Rewritten to add the
/// Sigma taxonomy fields. The TSV form is read by separate text formats that share these
/// mappings.
public struct ZeekConnJSONFormat: JSONFormat {
    public let mapping = SourceMapping.load("zeek_conn")
    public init() {}

    static let connState = FieldPath("conn_state")
    static let proto = FieldPath("proto")
    static let query = FieldPath("query")

    public func sniff(_ r: EventView) -> Bool {
        ZeekJSON.sniff(r) { r in
            guard !ZeekJSON.streamIs(r, other: "conn") else { return false }
            return r.exists(Self.connState) || (r.exists(Self.proto) && !r.exists(Self.query))
        }
    }

    public func decode(_ r: EventView, into out: inout [UInt8]) -> DecodeResult {
        ZeekJSON.decode(r, into: &out, what: "conn") { r, w in
            ZeekJSON.addEndpoints(&w, r)
            w.add("Protocol", r.text(r.child(0, "proto"))?.lowercased())
            w.add("Initiated", "true")
            w.addText("SentBytes", r, r.child(0, "orig_bytes"))
            w.addText("ReceivedBytes", r, r.child(0, "resp_bytes"))
        }
    }
}

public struct ZeekDNSJSONFormat: JSONFormat {
    public let mapping = SourceMapping.load("zeek_dns")
    public init() {}

    static let query = FieldPath("query")
    static let qtypeName = FieldPath("qtype_name")
    static let trans = FieldPath("trans_id")

    public func sniff(_ r: EventView) -> Bool {
        ZeekJSON.sniff(r) { r in
            guard !ZeekJSON.streamIs(r, other: "dns") else { return false }
            return r.exists(Self.query) || r.exists(Self.qtypeName) || r.exists(Self.trans)
        }
    }

    public func decode(_ r: EventView, into out: inout [UInt8]) -> DecodeResult {
        ZeekJSON.decode(r, into: &out, what: "dns") { r, w in
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
            w.addText("QueryStatus", r, r.child(0, "rcode_name"))
        }
    }
}

enum ZeekJSON {
    /// The connection tuple in either key style: `id.orig_h` (Zeek) or `id_orig_h` (shippers
    /// that replace dots, e.g. OTRF datasets).
    static func origH(_ r: EventView) -> Int? { r.child(0, "id.orig_h") ?? r.child(0, "id_orig_h") }
    static func origP(_ r: EventView) -> Int? { r.child(0, "id.orig_p") ?? r.child(0, "id_orig_p") }
    static func respH(_ r: EventView) -> Int? { r.child(0, "id.resp_h") ?? r.child(0, "id_resp_h") }
    static func respP(_ r: EventView) -> Int? { r.child(0, "id.resp_p") ?? r.child(0, "id_resp_p") }

    /// Whether the record names a different Zeek stream (`@stream` / `_path`) than `other`.
    static func streamIs(_ r: EventView, other expected: StaticString) -> Bool {
        for key in [r.child(0, "@stream"), r.child(0, "_path")] {
            if let n = key, r.kind(n) == .string, !r.equals(n, expected) { return true }
        }
        return false
    }

    /// A Zeek record with `uid` and the originator address, checked by `more`; or the same
    /// inside a Splunk export's `result._raw`.
    static func sniff(_ r: EventView, _ more: (EventView) -> Bool) -> Bool {
        if r.child(0, "uid") != nil, origH(r) != nil { return more(r) }
        return withSplunkRaw(r) { inner in inner.child(0, "uid") != nil && origH(inner) != nil && more(inner) } ?? false
    }

    static func decode(_ r: EventView, into out: inout [UInt8], what: String,
                       _ add: (EventView, inout RecordRewriter) -> Void) -> DecodeResult {
        guard r.nodes[0].kind == .object else { return .invalid("not a Zeek \(what) record") }
        if origH(r) != nil {
            var w = RecordRewriter(copying: r, reusing: &out)
            add(r, &w)
            addEntity(&w, r, host: nil)
            w.finish(into: &out)
            return .rewritten(kind: 0)
        }
        // Splunk export: the Zeek record is the JSON text in `result._raw`.
        let host = r.text(r.child(r.child(0, "result"), "host"))
        var buffer = out
        let done: Bool? = withSplunkRaw(r) { inner in
            guard origH(inner) != nil else { return false }
            var w = RecordRewriter(copying: inner, reusing: &buffer)
            add(inner, &w)
            addEntity(&w, inner, host: host)
            w.finish(into: &buffer)
            return true
        }
        out = buffer
        return done == true ? .rewritten(kind: 0) : .invalid("not a Zeek \(what) record (no id.orig_h)")
    }

    /// Runs `body` on the record held as JSON text in `result._raw` (Splunk search export);
    /// nil when there is none or it is not a JSON object.
    static func withSplunkRaw<R>(_ r: EventView, _ body: (EventView) -> R) -> R? {
        guard let raw = r.child(r.child(0, "result"), "_raw"), r.kind(raw) == .string else { return nil }
        let text: [UInt8] = r.withText(raw) { v in
            let t = TextBytes.trimmed(v)
            return t.first == 0x7B ? Array(t) : []
        }
        guard !text.isEmpty else { return nil }
        var tape = JSONTape()
        return text.withUnsafeBytes { bytes in
            try? EventView.with(bytes: bytes, tape: &tape, scratch: ScratchBuffer()) { inner -> R? in
                inner.kind(0) == .object ? body(inner) : nil
            }
        } ?? nil
    }

    static func addEndpoints(_ w: inout RecordRewriter, _ r: EventView) {
        w.addText("SourceIp", r, origH(r))
        w.addText("SourcePort", r, origP(r))
        w.addText("DestinationIp", r, respH(r))
        w.addText("DestinationPort", r, respP(r))
    }

    static func addEntity(_ w: inout RecordRewriter, _ r: EventView, host: String?) {
        w.openObject("entity")
        w.addText("source_ip", r, origH(r))
        if let n = r.child(0, "_system_name") ?? r.child(0, "host") ?? r.child(0, "@system") {
            w.addText("node", r, n)
        } else {
            w.add("node", host)
        }
        w.closeObject()
    }
}
