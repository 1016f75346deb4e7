import BulkheadEvent

/// CoreDNS `log` plugin lines in the default format
/// `[INFO] 10.244.0.5:53462 - 12345 "A IN example.com. udp 29 false 512" NOERROR qr,rd,ra 106 0.000123456s`,
/// optionally behind a timestamp (`kubectl logs --timestamps`, container runtimes). `errors`
/// plugin lines about one query (`[ERROR] plugin/errors: 2 example.com. A: dial tcp ...`) are
/// records too (rcode, error text). Other plugin lines (reload, health, consolidated error
/// counts) and startup banners are skipped.
public struct CoreDNSFormat: TextFormat {
    public let mapping = SourceMapping.load("coredns")
    public init() {}

    public func sniff(_ firstLines: [String]) -> Bool {
        var hits = 0
        for line in firstLines {
            if line.hasPrefix("{") || line.hasPrefix("#") || line.contains("msg=audit(") { return false }
            if Array(line.utf8).withUnsafeBufferPointer({ CoreDNSDecoder.isCoreDNSLine($0) }) { hits += 1 }
        }
        return hits > 0
    }

    public func makeDecoder() -> any TextDecoder { CoreDNSDecoder() }
}

/// CoreDNS lines inside container log JSON: Docker / CRI collectors, Filebeat, Fluentd / Fluent
/// Bit (`message` or `log` holds the line; `kubernetes.*` the pod). The line is parsed as
/// above; the record gets `entity` fields from the Kubernetes metadata and the wrapper's time
/// when the line has none. Non-query lines are skipped.
public struct CoreDNSJSONFormat: JSONFormat {
    public let mapping = SourceMapping.load("coredns")
    public init() {}

    static let containerName = FieldPath("kubernetes.container.name")
    static let containerNameFlat = FieldPath("kubernetes.container_name")

    public func sniff(_ r: EventView) -> Bool {
        guard let line = Self.line(r) else { return false }
        if r.withText(line, { CoreDNSDecoder.isCoreDNSLine(TextBytes.trimmedLine($0)) }) { return true }
        // Startup banners and other plugin lines, from a container named coredns.
        return r.has(Self.containerName, equalTo: "coredns") || r.has(Self.containerNameFlat, equalTo: "coredns")
    }

    /// The string holding the log line.
    static func line(_ r: EventView) -> Int? {
        for n in [r.child(0, "message"), r.child(0, "log")] {
            if let n, r.kind(n) == .string { return n }
        }
        return nil
    }

    public func decode(_ r: EventView, into out: inout [UInt8]) -> DecodeResult {
        guard r.nodes[0].kind == .object, let line = Self.line(r) else {
            return .invalid("not a CoreDNS log record (no message)")
        }
        let k8s = r.child(0, "kubernetes")
        var context = CoreDNSDecoder.Context()
        context.time = r.text(r.child(0, "time") ?? r.child(0, "@timestamp") ?? r.child(0, "timestamp"))
        context.stream = r.text(r.child(0, "stream"))
        let namespace = r.text(r.child(k8s, "namespace")) ?? r.text(r.child(k8s, "namespace_name"))
        let pod = r.text(r.child(r.child(k8s, "pod"), "name")) ?? r.text(r.child(k8s, "pod_name"))
        let node = r.text(r.child(r.child(k8s, "node"), "name")) ?? r.text(r.child(k8s, "host"))
        let container = r.text(r.child(r.child(k8s, "container"), "name")) ?? r.text(r.child(k8s, "container_name"))
        var workload: String? = nil
        if let rs = r.text(r.child(r.child(k8s, "replicaset"), "name")) {
            let hash = r.text(r.child(r.child(k8s, "labels"), "pod-template-hash"))
            if let hash, rs.hasSuffix("-" + hash) { workload = String(rs.dropLast(hash.count + 1)) }
        }
        context.entity = [("namespace", namespace), ("pod", pod), ("node", node), ("container_name", container), ("workload", workload)]
        if let k8s, r.kind(k8s) == .object {
            let n = r.nodes[k8s]
            context.kubernetes = Array(UnsafeBufferPointer(start: r.base + Int(n.start), count: Int(n.end) - Int(n.start)))
        }
        let parsed = r.withText(line) { CoreDNSDecoder.parse(TextBytes.trimmedLine($0), context: context) }
        switch parsed {
        case .record(let json):
            out = json
            return .rewritten(kind: 0)
        case .skip:
            return .skip
        case .bad(let why):
            return .invalid(why)
        }
    }
}

struct CoreDNSDecoder: TextDecoder {
    /// What a wrapper adds to the records of its line.
    struct Context {
        var time: String?
        var stream: String?
        var entity: [(String, String?)] = []
        /// The wrapper's `kubernetes` object (JSON text), copied as is.
        var kubernetes: [UInt8]?
    }

    enum Parsed {
        case record([UInt8]), skip, bad(String)
    }

    /// Timestamp, level and the text after the level of a `[LEVEL] ...` line.
    static func header(_ line: UnsafeBufferPointer<UInt8>) -> (time: String?, level: String, rest: Substring)? {
        let s = TextBytes.string(TextBytes.trimmed(line))
        var time: String? = nil
        var body = Substring(s)
        if !body.hasPrefix("[") {
            guard let sp = body.firstIndex(of: " ") else { return nil }
            time = String(body[..<sp])
            body = body[body.index(after: sp)...].drop { $0 == " " }
            guard body.hasPrefix("[") else { return nil }
        }
        guard let close = body.firstIndex(of: "]") else { return nil }
        let level = String(body[body.index(after: body.startIndex)..<close])
        guard ["INFO", "DEBUG", "WARNING", "ERROR", "FATAL"].contains(level) else { return nil }
        return (time, level, body[body.index(after: close)...].drop { $0 == " " })
    }

    /// The parts of a log-plugin line: timestamp, level, and the text after the level; nil
    /// when the line is not a log-plugin query line.
    static func logPart(_ line: UnsafeBufferPointer<UInt8>) -> (time: String?, level: String, rest: String)? {
        guard let (time, level, rest) = header(line) else { return nil }
        // A client address `ip:port` or `[ipv6]:port` starts a query line.
        guard let end = rest.firstIndex(of: " ") else { return nil }
        let addr = rest[..<end]
        guard let colon = addr.lastIndex(of: ":"), !addr[addr.index(after: colon)...].isEmpty,
              addr[addr.index(after: colon)...].allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        let host = addr[..<colon]
        let ok = host.hasPrefix("[") ? host.hasSuffix("]") : host.allSatisfy { $0.isASCII && ($0.isNumber || $0 == ".") }
        guard ok, !host.isEmpty else { return nil }
        return (time, level, String(rest))
    }

    /// A query line, or a plugin line (`[ERROR] plugin/errors: ...`).
    static func isCoreDNSLine(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        if logPart(line) != nil { return true }
        guard let (_, _, rest) = header(line) else { return false }
        return rest.hasPrefix("plugin/")
    }

    mutating func feed(_ line: UnsafeBufferPointer<UInt8>, lineNumber: Int, emit: ([UInt8], Int, Int) -> Void) -> String? {
        switch Self.parse(line, context: Context()) {
        case .record(let json): emit(json, 0, lineNumber); return nil
        case .skip: return nil
        case .bad(let why): return why
        }
    }

    static func parse(_ line: UnsafeBufferPointer<UInt8>, context: Context) -> Parsed {
        if let (time, level, rest) = logPart(line) { return query(time: time, level: level, rest: rest, context: context) }
        if let (time, level, rest) = header(line), rest.hasPrefix("plugin/errors:") {
            return pluginError(time: time, level: level, rest: rest.dropFirst("plugin/errors:".count), context: context)
        }
        return .skip
    }

    static func query(time: String?, level: String, rest: String, context: Context) -> Parsed {
        guard let q1 = rest.firstIndex(of: "\""), let q2 = rest[rest.index(after: q1)...].firstIndex(of: "\"") else {
            return .bad("CoreDNS log line without a quoted question")
        }
        let head = rest[..<q1].split(separator: " ")
        let question = rest[rest.index(after: q1)..<q2].split(separator: " ")
        let tail = rest[rest.index(after: q2)...].split(separator: " ")
        guard head.count == 3, head[1] == "-", let id = Int(head[2]) else { return .bad("CoreDNS log line: expected `client - id` before the question") }
        guard question.count == 7 else { return .bad("CoreDNS log line: question has \(question.count) parts, expected 7") }
        guard tail.count >= 4 else { return .bad("CoreDNS log line: missing rcode, flags, size or duration") }
        let addr = head[0]
        let colon = addr.lastIndex(of: ":")!
        var ip = String(addr[..<colon])
        if ip.hasPrefix("[") { ip = String(ip.dropFirst().dropLast()) }
        let port = String(addr[addr.index(after: colon)...])
        var name = String(question[2])
        if name.count > 1, name.hasSuffix(".") { name.removeLast() }
        let type = String(question[0])

        var w = TextRecordWriter()
        writeTime(&w, time, context)
        w.string("level", level)
        w.string("SourceIp", ip)
        w.string("SourcePort", port)
        w.int("id", id)
        w.string("record_type", type)
        w.string("class", String(question[1]))
        w.string("query", name)
        w.string("name", String(question[2]))
        w.string("proto", String(question[3]))
        numberOrString(&w, "size", question[4])
        if question[5] == "true" || question[5] == "false" { w.bool("do", question[5] == "true") } else { w.string("do", String(question[5])) }
        numberOrString(&w, "bufsize", question[6])
        w.string("rcode", String(tail[0]))
        w.string("flags", String(tail[1]))
        numberOrString(&w, "rsize", tail[2])
        var duration = String(tail[3])
        if duration.hasSuffix("s") { duration.removeLast() }
        numberOrString(&w, "duration", Substring(duration))
        w.string("QueryName", name)
        w.string("QueryType", type)
        w.string("QueryStatus", String(tail[0]))
        writeContext(&w, context)
        w.entity([("source_ip", ip)] + context.entity)
        return .record(w.finish())
    }

    /// `[ERROR] plugin/errors: 2 example.com. A: dial tcp 1.1.1.1:853: i/o timeout`: the rcode
    /// (number), the query name and type, the upstream error. Consolidated counts
    /// (`4 errors like '...' occurred in last 2s`) are skipped.
    static func pluginError(time: String?, level: String, rest: Substring, context: Context) -> Parsed {
        let parts = rest.drop { $0 == " " }.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: true)
        guard parts.count >= 3, let rcode = Int(parts[0]), parts[2].hasSuffix(":"), parts[2].count > 1 else { return .skip }
        var name = String(parts[1])
        if name.count > 1, name.hasSuffix(".") { name.removeLast() }
        let type = String(parts[2].dropLast())
        let status = DNSMessage.rcodeName(rcode)
        var w = TextRecordWriter()
        writeTime(&w, time, context)
        w.string("level", level)
        w.string("plugin", "errors")
        w.string("record_type", type)
        w.string("query", name)
        w.string("name", String(parts[1]))
        w.string("rcode", status)
        w.int("rcode_code", rcode)
        w.string("error", parts.count > 3 ? String(parts[3]) : nil)
        w.string("QueryName", name)
        w.string("QueryType", type)
        w.string("QueryStatus", status)
        writeContext(&w, context)
        w.entity(context.entity)
        return .record(w.finish())
    }

    static func writeTime(_ w: inout TextRecordWriter, _ time: String?, _ context: Context) {
        if let time, let ns = Array(time.utf8).withUnsafeBufferPointer({ Timestamps.parseRFC3339($0) }) {
            w.string("@timestamp", Timestamps.format(epochNanos: ns))
        } else if let time {
            w.string("time", time)
        } else if let t = context.time, let ns = Array(t.utf8).withUnsafeBufferPointer({ Timestamps.parseRFC3339($0) }) {
            w.string("@timestamp", Timestamps.format(epochNanos: ns))
        }
    }

    static func writeContext(_ w: inout TextRecordWriter, _ context: Context) {
        w.string("stream", context.stream)
        if let k = context.kubernetes { w.raw("kubernetes", json: k) }
    }

    private static func numberOrString(_ w: inout TextRecordWriter, _ key: String, _ v: Substring) {
        if TextBytes.isJSONNumber(v.utf8) { w.number(key, text: v.utf8) } else { w.string(key, String(v)) }
    }

    mutating func finish(emit: ([UInt8], Int, Int) -> Void) {}
}
