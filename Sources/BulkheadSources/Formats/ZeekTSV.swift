import BulkheadEvent

/// Zeek ASCII (TSV) logs: `#separator`, `#set_separator`, `#empty_field`, `#unset_field`,
/// `#path`, `#fields` and `#types` headers, then one tab-separated record per line. One
/// format per log path (conn, dns); values are typed from `#types`.
public struct ZeekTSVFormat: TextFormat {
    public enum Log: String, Sendable { case conn, dns }
    public let log: Log
    public let mapping: SourceMapping

    public init(_ log: Log) {
        self.log = log
        mapping = SourceMapping.load(log == .conn ? "zeek_conn_tsv" : "zeek_dns_tsv")
    }

    public func sniff(_ lines: [String]) -> Bool {
        let firstLines = lines.map { $0.hasSuffix("\r") ? String($0.dropLast()) : $0 }
        guard let first = firstLines.first(where: { !$0.isEmpty }), first.hasPrefix("#separator") || first.hasPrefix("#fields") else { return false }
        for line in firstLines {
            if line.hasPrefix("#path") {
                return line.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().first.map(String.init) == log.rawValue
            }
        }
        // No #path: decide by the field names.
        guard let fields = firstLines.first(where: { $0.hasPrefix("#fields") }) else { return false }
        return log == .conn ? fields.contains("conn_state") : fields.contains("qtype_name")
    }

    public func makeDecoder() -> any TextDecoder { ZeekTSVDecoder(log: log) }
}

struct ZeekTSVDecoder: TextDecoder {
    let log: ZeekTSVFormat.Log
    var separator: UInt8 = 0x09
    var setSeparator: [UInt8] = [0x2C]
    var emptyField: [UInt8] = Array("(empty)".utf8)
    var unsetField: [UInt8] = Array("-".utf8)
    var fields: [String] = []
    var types: [String] = []

    init(log: ZeekTSVFormat.Log) { self.log = log }

    /// `\x09` escapes in header values.
    static func unescape(_ s: some Collection<UInt8>) -> [UInt8] {
        let a = Array(s)
        var out: [UInt8] = []
        var i = 0
        while i < a.count {
            if a[i] == 0x5C, i + 3 < a.count, a[i + 1] == 0x78, let h = TextBytes.hexValue(a[i + 2]), let l = TextBytes.hexValue(a[i + 3]) {
                out.append(h << 4 | l); i += 4
            } else { out.append(a[i]); i += 1 }
        }
        return out
    }

    mutating func feed(_ raw: UnsafeBufferPointer<UInt8>, lineNumber: Int, emit: ([UInt8], Int, Int) -> Void) -> String? {
        var line = raw
        if line.last == 0x0D { line = UnsafeBufferPointer(rebasing: line[0..<(line.count - 1)]) }
        if line.isEmpty { return nil }
        if line[0] == 0x23 { // '#'
            return header(line)
        }
        guard !fields.isEmpty else { return "Zeek record before a #fields header" }
        let cols = TextBytes.split(line, on: separator)
        guard cols.count == fields.count else {
            return "Zeek record has \(cols.count) columns, #fields names \(fields.count)"
        }
        var w = TextRecordWriter()
        var values: [String: [String]] = [:]
        for (i, col) in cols.enumerated() {
            let name = fields[i]
            let type = i < types.count ? types[i] : "string"
            if Array(col) == unsetField { continue }
            if type.hasPrefix("set[") || type.hasPrefix("vector[") || type.hasPrefix("table[") {
                let inner = String(type[type.index(after: type.firstIndex(of: "[")!)...].dropLast())
                if Array(col) == emptyField {
                    w.raw(name, json: Array("[]".utf8))
                    values[name] = []
                    continue
                }
                let parts = split(Array(col), on: setSeparator)
                var json: [UInt8] = [0x5B]
                var texts: [String] = []
                for (k, p) in parts.enumerated() {
                    if k > 0 { json.append(0x2C) }
                    appendValue(p, type: inner, to: &json)
                    texts.append(TextBytes.string(p))
                }
                json.append(0x5D)
                w.raw(name, json: json)
                values[name] = texts
            } else {
                var json: [UInt8] = []
                if Array(col) == emptyField { json = [0x22, 0x22]; values[name] = [""] } else {
                    appendValue(Array(col), type: type, to: &json)
                    values[name] = [TextBytes.string(col)]
                }
                w.raw(name, json: json)
            }
        }
        func one(_ k: String) -> String? { values[k]?.first }
        if let ts = one("ts") { w.string("@timestamp", TextBytes.rfc3339(epochSecondsText: ts)) }
        w.string("SourceIp", one("id.orig_h"))
        w.string("SourcePort", one("id.orig_p"))
        w.string("DestinationIp", one("id.resp_h"))
        w.string("DestinationPort", one("id.resp_p"))
        switch log {
        case .conn:
            w.string("Protocol", one("proto"))
            w.string("Initiated", "true")
            w.string("SentBytes", one("orig_bytes"))
            w.string("ReceivedBytes", one("resp_bytes"))
        case .dns:
            w.string("record_type", one("qtype_name"))
            if let a = values["answers"] { w.strings("answer", a) }
            w.string("QueryName", one("query"))
            w.string("QueryType", one("qtype_name"))
            if let a = values["answers"] { w.string("QueryResults", a.joined(separator: ";")) }
            w.string("QueryStatus", one("rcode_name"))
        }
        w.entity([("source_ip", one("id.orig_h"))])
        emit(w.finish(), 0, lineNumber)
        return nil
    }

    mutating func finish(emit: ([UInt8], Int, Int) -> Void) {}

    private func split(_ a: [UInt8], on sep: [UInt8]) -> [[UInt8]] {
        guard !sep.isEmpty else { return [a] }
        var out: [[UInt8]] = []
        var cur: [UInt8] = []
        var i = 0
        while i < a.count {
            if i + sep.count <= a.count, Array(a[i..<(i + sep.count)]) == sep {
                out.append(cur); cur = []; i += sep.count
            } else { cur.append(a[i]); i += 1 }
        }
        out.append(cur)
        return out
    }

    private func appendValue(_ v: [UInt8], type: String, to json: inout [UInt8]) {
        switch type {
        case "count", "int", "double", "port", "interval", "time":
            if TextBytes.isJSONNumber(v) { json.append(contentsOf: v); return }
        case "bool":
            if v == [0x54] { json.append(contentsOf: "true".utf8); return }
            if v == [0x46] { json.append(contentsOf: "false".utf8); return }
        default: break
        }
        JSONString.appendQuoted(bytes: v, to: &json)
    }

    private mutating func header(_ line: UnsafeBufferPointer<UInt8>) -> String? {
        let text = TextBytes.string(line)
        if text.hasPrefix("#separator") {
            let v = Self.unescape(text.dropFirst("#separator".count).drop { $0 == " " }.utf8)
            guard v.count == 1 else { return "unsupported Zeek separator \(text)" }
            separator = v[0]
            return nil
        }
        let parts = TextBytes.split(line, on: separator)
        guard let key = parts.first.map({ TextBytes.string($0) }) else { return nil }
        let rest = parts.dropFirst().map { Array($0) }
        switch key {
        case "#set_separator": if let v = rest.first { setSeparator = Self.unescape(v) }
        case "#empty_field": if let v = rest.first { emptyField = Self.unescape(v) }
        case "#unset_field": if let v = rest.first { unsetField = Self.unescape(v) }
        case "#fields": fields = rest.map { TextBytes.string($0) }
        case "#types": types = rest.map { TextBytes.string($0) }
        case "#path":
            if let p = rest.first.map({ TextBytes.string($0) }), p != log.rawValue {
                return "Zeek log path \(p), expected \(log.rawValue)"
            }
        default: break // #open, #close, comments
        }
        return nil
    }
}
