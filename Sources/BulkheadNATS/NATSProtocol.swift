import NIOCore

/// The NATS client protocol on the wire (https://docs.nats.io/reference/reference-protocols/nats-protocol):
/// an incremental parser for what a server sends and encoders for what a client sends.
/// Everything from the network is bounded: a control line over `maxControlLine` or a payload
/// over `maxPayload` is a protocol error, never an allocation of that size.
public struct NATSParser {
    public enum Event: Sendable {
        case info(String)
        case msg(NATSMessage)
        case ping, pong, ok
        case err(String)
    }

    public struct ProtocolError: Error, CustomStringConvertible {
        public var description: String
    }

    public var maxControlLine = 4096
    public var maxPayload = 64 << 20
    private var buffer = ByteBuffer()
    /// A MSG/HMSG whose payload has not fully arrived.
    private var pending: (subject: String, sid: UInt64, reply: String?, headerBytes: Int, totalBytes: Int)?

    public init() {}

    /// Feeds bytes; calls `emit` for each complete event.
    public mutating func feed(_ bytes: inout ByteBuffer, emit: (Event) throws -> Void) throws {
        // Bytes already parsed are dropped, so a long-lived connection's buffer stays small.
        if buffer.readerIndex > 64 << 10 { buffer.discardReadBytes() }
        buffer.writeBuffer(&bytes)
        while true {
            if let p = pending {
                guard buffer.readableBytes >= p.totalBytes + 2 else { return }
                let headerBytes = buffer.readBytes(length: p.headerBytes) ?? []
                let payload = buffer.readBytes(length: p.totalBytes - p.headerBytes) ?? []
                guard buffer.readBytes(length: 2) == [0x0D, 0x0A] else { throw ProtocolError(description: "message payload not followed by CRLF") }
                pending = nil
                var headers: [(String, String)] = []
                var status: Int?
                var statusText = ""
                if p.headerBytes > 0 { (headers, status, statusText) = try Self.parseHeaders(headerBytes) }
                try emit(.msg(NATSMessage(subject: p.subject, sid: p.sid, reply: p.reply, headers: headers,
                                          status: status, statusDescription: statusText, payload: payload)))
                continue
            }
            guard let line = try readLine() else { return }
            try handle(line, emit: emit)
        }
    }

    private mutating func readLine() throws -> String? {
        let view = buffer.readableBytesView
        guard let lf = view.firstIndex(of: 0x0A) else {
            if view.count > maxControlLine { throw ProtocolError(description: "control line longer than \(maxControlLine) bytes") }
            return nil
        }
        let length = lf - view.startIndex + 1
        guard length <= maxControlLine + 2 else { throw ProtocolError(description: "control line longer than \(maxControlLine) bytes") }
        var bytes = buffer.readBytes(length: length) ?? []
        bytes.removeLast()                       // LF
        if bytes.last == 0x0D { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self)
    }

    private mutating func handle(_ line: String, emit: (Event) throws -> Void) throws {
        let op = line.prefix { $0 != " " && $0 != "\t" }.uppercased()
        let rest = line.dropFirst(op.count).drop { $0 == " " || $0 == "\t" }
        switch op {
        case "MSG", "HMSG":
            let f = rest.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            // MSG subject sid [reply] size | HMSG subject sid [reply] hdr_size total_size
            let hasHeaders = op == "HMSG"
            let sizes = hasHeaders ? 2 : 1
            guard f.count == 2 + sizes || f.count == 3 + sizes, let sid = UInt64(f[1]) else { throw ProtocolError(description: "malformed \(op): \(line.prefix(200))") }
            let reply = f.count == 3 + sizes ? f[2] : nil
            guard let total = Int(f[f.count - 1]), total >= 0, total <= maxPayload else { throw ProtocolError(description: "\(op) payload size out of bounds") }
            let headerBytes = hasHeaders ? (Int(f[f.count - 2]) ?? -1) : 0
            guard headerBytes >= 0, headerBytes <= total else { throw ProtocolError(description: "\(op) header size out of bounds") }
            pending = (f[0], sid, reply, headerBytes, total)
        case "PING": try emit(.ping)
        case "PONG": try emit(.pong)
        case "+OK": try emit(.ok)
        case "-ERR": try emit(.err(rest.trimmingCharacters(in: ["'", " "])))
        case "INFO": try emit(.info(String(rest)))
        case "": break
        default: throw ProtocolError(description: "unknown operation \(op.prefix(20))")
        }
    }

    /// `NATS/1.0 [status [description]]` then `Name: value` lines.
    static func parseHeaders(_ bytes: [UInt8]) throws -> ([(String, String)], Int?, String) {
        let text = String(decoding: bytes, as: UTF8.self)
        var lines = text.components(separatedBy: "\r\n")
        guard let first = lines.first, first.hasPrefix("NATS/1.0") else { throw ProtocolError(description: "headers without NATS/1.0") }
        lines.removeFirst()
        let statusPart = first.dropFirst("NATS/1.0".count).trimmingCharacters(in: .whitespaces)
        var status: Int?
        var description = ""
        if !statusPart.isEmpty {
            status = Int(statusPart.prefix(3))
            description = String(statusPart.dropFirst(3)).trimmingCharacters(in: .whitespaces)
        }
        var headers: [(String, String)] = []
        for l in lines where !l.isEmpty {
            guard let colon = l.firstIndex(of: ":") else { continue }
            headers.append((String(l[..<colon]), l[l.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        return (headers, status, description)
    }
}

/// A message delivered to a subscription.
public struct NATSMessage: Sendable {
    public var subject: String
    public var sid: UInt64
    public var reply: String?
    public var headers: [(String, String)]
    /// The status of a status message (`NATS/1.0 404 No Messages`), else nil.
    public var status: Int?
    public var statusDescription: String
    public var payload: [UInt8]

    public func header(_ name: String) -> String? {
        headers.first { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1
    }
    public var string: String { String(decoding: payload, as: UTF8.self) }
}

/// What a client sends.
enum NATSEncoder {
    static func validSubject(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 1024 && !s.utf8.contains { $0 <= 0x20 || $0 == 0x7F }
    }

    static func publish(_ out: inout ByteBuffer, subject: String, reply: String?, headers: [(String, String)], payload: [UInt8]) {
        if headers.isEmpty {
            out.writeString("PUB \(subject) \(reply.map { $0 + " " } ?? "")\(payload.count)\r\n")
        } else {
            var h = "NATS/1.0\r\n"
            for (k, v) in headers { h += "\(k): \(v)\r\n" }
            h += "\r\n"
            let hb = h.utf8.count
            out.writeString("HPUB \(subject) \(reply.map { $0 + " " } ?? "")\(hb) \(hb + payload.count)\r\n")
            out.writeString(h)
        }
        out.writeBytes(payload)
        out.writeString("\r\n")
    }

    static func subscribe(_ out: inout ByteBuffer, subject: String, queue: String?, sid: UInt64) {
        out.writeString("SUB \(subject) \(queue.map { $0 + " " } ?? "")\(sid)\r\n")
    }

    static func unsubscribe(_ out: inout ByteBuffer, sid: UInt64, max: Int? = nil) {
        out.writeString("UNSUB \(sid)\(max.map { " \($0)" } ?? "")\r\n")
    }
}
