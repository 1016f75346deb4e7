import BulkheadEvent

/// CoreDNS `log` plugin lines in the default format
/// `[INFO] 10.244.0.5:53462 - 12345 "A IN example.com. udp 29 false 512" NOERROR qr,rd,ra 106 0.000123456s`,
/// optionally behind a timestamp (`kubectl logs --timestamps`, container runtimes). Lines of
/// other plugins (errors, reload, health) and startup banners are skipped.
public struct CoreDNSFormat: TextFormat {
    public let mapping = SourceMapping.load("coredns")
    public init() {}

    public func sniff(_ firstLines: [String]) -> Bool {
        var hits = 0
        for line in firstLines {
            if line.hasPrefix("{") || line.hasPrefix("#") || line.contains("msg=audit(") { return false }
            let isLog = Array(line.utf8).withUnsafeBufferPointer { CoreDNSDecoder.logPart($0) != nil }
            if isLog { hits += 1 }
        }
        return hits > 0
    }

    public func makeDecoder() -> any TextDecoder { CoreDNSDecoder() }
}

struct CoreDNSDecoder: TextDecoder {
    /// The parts of a log-plugin line: timestamp, level, and the text after the level; nil
    /// when the line is not a log-plugin query line.
    static func logPart(_ line: UnsafeBufferPointer<UInt8>) -> (time: String?, level: String, rest: String)? {
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
        let rest = body[body.index(after: close)...].drop { $0 == " " }
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

    mutating func feed(_ line: UnsafeBufferPointer<UInt8>, lineNumber: Int, emit: ([UInt8], Int, Int) -> Void) -> String? {
        guard let (time, level, rest) = Self.logPart(line) else { return nil }
        guard let q1 = rest.firstIndex(of: "\""), let q2 = rest[rest.index(after: q1)...].firstIndex(of: "\"") else {
            return "CoreDNS log line without a quoted question"
        }
        let head = rest[..<q1].split(separator: " ")
        let question = rest[rest.index(after: q1)..<q2].split(separator: " ")
        let tail = rest[rest.index(after: q2)...].split(separator: " ")
        guard head.count == 3, head[1] == "-", let id = Int(head[2]) else { return "CoreDNS log line: expected `client - id` before the question" }
        guard question.count == 7 else { return "CoreDNS log line: question has \(question.count) parts, expected 7" }
        guard tail.count >= 4 else { return "CoreDNS log line: missing rcode, flags, size or duration" }
        let addr = head[0]
        let colon = addr.lastIndex(of: ":")!
        var ip = String(addr[..<colon])
        if ip.hasPrefix("[") { ip = String(ip.dropFirst().dropLast()) }
        let port = String(addr[addr.index(after: colon)...])
        var name = String(question[2])
        if name.count > 1, name.hasSuffix(".") { name.removeLast() }
        let type = String(question[0])

        var w = TextRecordWriter()
        if let time, let ns = Array(time.utf8).withUnsafeBufferPointer({ Timestamps.parseRFC3339($0) }) {
            w.string("@timestamp", Timestamps.format(epochNanos: ns))
        } else if let time {
            w.string("time", time)
        }
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
        w.entity([("source_ip", ip)])
        emit(w.finish(), 0, lineNumber)
        return nil
    }

    private func numberOrString(_ w: inout TextRecordWriter, _ key: String, _ v: Substring) {
        if TextBytes.isJSONNumber(v.utf8) { w.number(key, text: v.utf8) } else { w.string(key, String(v)) }
    }

    mutating func finish(emit: ([UInt8], Int, Int) -> Void) {}
}
