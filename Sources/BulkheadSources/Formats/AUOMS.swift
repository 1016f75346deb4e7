import BulkheadEvent

/// Linux audit records shipped to Azure Monitor / Log Analytics (Syslog table, Microsoft
/// Sentinel): a JSON record whose `SyslogMessage` holds the audit text. AUOMS (the OMS audit
/// multiplexer) writes one record per event, `type=AUOMS_EXECVE audit(ts:serial): ...` with
/// the syscall, process, path and `cmdline` fields together; plain auditd lines
/// (`type=SYSCALL msg=audit(...)`) are decoded one record each. Output is the auditd record
/// (same fields, taxonomy and kinds as the text format) plus the wrapper's `Computer`.
public struct AUOMSFormat: JSONFormat {
    public let mapping = SourceMapping.load("auditd")
    public init() {}

    public func sniff(_ r: EventView) -> Bool {
        guard let m = r.child(0, "SyslogMessage"), r.kind(m) == .string else { return false }
        return r.withText(m) { v in
            AUOMS.isAUOMS(TextBytes.trimmedLine(v)) || (ByteSearch.contains(v, "type=") && ByteSearch.contains(v, "msg=audit("))
        }
    }

    public func decode(_ r: EventView, into out: inout [UInt8]) -> DecodeResult {
        guard r.nodes[0].kind == .object, let m = r.child(0, "SyslogMessage"), r.kind(m) == .string else {
            return .invalid("not an Azure Monitor syslog record (no SyslogMessage)")
        }
        let host = r.text(r.child(0, "Computer") ?? r.child(0, "HostName"))
        let line = r.withText(m) { Array(TextBytes.trimmedLine($0)) }
        let result: (json: [UInt8], kind: Int)?
        let error: String?
        if line.withUnsafeBufferPointer({ AUOMS.isAUOMS($0) }) {
            (result, error) = AUOMS.decode(line, node: host)
        } else {
            var decoder = AuditdDecoder()
            var got: (json: [UInt8], kind: Int)?
            let emit: ([UInt8], Int, Int) -> Void = { json, kind, _ in if got == nil { got = (json, kind) } }
            // The wrapper's host, as auditd's own `node=` prefix.
            let prefixed = (host.map { Array("node=\($0) ".utf8) } ?? []) + line
            error = prefixed.withUnsafeBufferPointer { decoder.feed($0, lineNumber: 1, emit: emit) }
            decoder.finish(emit: emit)
            result = got
        }
        if let error { return .invalid("auditd in SyslogMessage: \(error)") }
        guard let result else { return .skip }
        out = result.json
        return .rewritten(kind: result.kind)
    }
}

enum AUOMS {
    static let prefix = Array("type=AUOMS_".utf8)

    static func isAUOMS(_ v: UnsafeBufferPointer<UInt8>) -> Bool {
        v.count > prefix.count && Array(v[0..<prefix.count]) == prefix && ByteSearch.contains(v, " audit(")
    }

    /// Keys whose AUOMS values are free text running to the next of these trailing keys
    /// (AUOMS writes them unescaped: `cmdline="bash -c "a|b""`, `proctitle=/bin/x -y z`).
    static let freeText = ["cmdline", "proctitle"]
    static let trailing = [" redactors=", " containerid=", " cmdline=", " proctitle="]

    /// `type=AUOMS_EXECVE audit(1652292621.986:84138): k=v ...` → the auditd record.
    static func decode(_ line: [UInt8], node fallback: String?) -> (result: (json: [UInt8], kind: Int)?, error: String?) {
        let s = TextBytes.string(line)
        guard let sp = s.firstIndex(of: " ") else { return (nil, "AUOMS record without audit(...)") }
        let type = String(s[s.index(s.startIndex, offsetBy: 5)..<sp])
        let afterType = s[sp...].drop { $0 == " " }
        guard afterType.hasPrefix("audit("), let close = afterType.firstIndex(of: ")"),
              let (ts, serial) = AuditdDecoder.parseStamp(Array(afterType[...close].utf8)) else {
            return (nil, "AUOMS record without a valid audit(ts:serial) stamp")
        }
        var body = afterType[afterType.index(after: close)...]
        if body.hasPrefix(":") { body = body.dropFirst() }

        // Cut the free-text values out before splitting the rest into key=value pairs.
        var text = " " + String(body)
        var free: [AuditKV] = []
        for key in freeText {
            guard let start = text.range(of: " \(key)=") else { continue }
            let valueStart = start.upperBound
            var end = text.endIndex
            for t in trailing {
                if let r = text.range(of: t, range: valueStart..<text.endIndex), r.lowerBound < end { end = r.lowerBound }
            }
            var value = text[valueStart..<end]
            let quoted = value.hasPrefix("\"")
            if quoted {
                value = value.dropFirst()
                if value.hasSuffix("\"") { value = value.dropLast() }
            }
            free.append(AuditKV(key: key, value: Array(value.utf8), quoted: true, nested: false))
            text.removeSubrange(start.lowerBound..<end)
        }
        var kvs = AuditdDecoder.parseKVs(Array(text.utf8)[...])
        kvs.append(contentsOf: free)

        let node = kvs.first { $0.key == "node" }.map { TextBytes.string($0.value) } ?? fallback
        var ev = AuditdDecoder.Pending(ts: ts, serial: serial, firstLine: 1, lastSeen: 0, node: node)
        ev.records = [AuditdDecoder.Record(type: type, kvs: kvs.filter { $0.key != "node" })]
        // AUOMS writes the names auditd's ENRICHED format spells in UPPERCASE in lower case.
        if let user = kvs.first(where: { $0.key == "user" }), !user.value.isEmpty {
            ev.enriched.append(AuditKV(key: "UID", value: user.value, quoted: true, nested: false))
        }
        return ((AuditdDecoder.build(ev), AuditdDecoder.kind(ev)), nil)
    }
}
