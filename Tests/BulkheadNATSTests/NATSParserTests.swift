import BulkheadNATS
import NIOCore
import Testing

/// The wire parser on its own: frames split anywhere, status headers, and hostile input.
@Suite("NATS protocol parser")
struct NATSParserTests {
    static func parse(_ chunks: [[UInt8]], limit: Int = 64 << 20) throws -> [NATSParser.Event] {
        var p = NATSParser()
        p.maxPayload = limit
        var out: [NATSParser.Event] = []
        for c in chunks {
            var b = ByteBuffer(bytes: c)
            try p.feed(&b) { out.append($0) }
        }
        return out
    }

    static let stream = Array(("INFO {\"max_payload\":1048576}\r\nPING\r\nMSG a.b 7 reply.x 5\r\nhello\r\n"
        + "HMSG _INBOX.x.y 2 34 34\r\nNATS/1.0 404 No Messages\r\nA: b\r\n\r\n\r\n+OK\r\n-ERR 'Authorization Violation'\r\n").utf8)

    @Test("the same events whether the bytes arrive whole or split at every position")
    func splitFrames() throws {
        let whole = try Self.parse([Self.stream])
        #expect(whole.count == 6)
        guard case .msg(let m) = whole[2], case .msg(let status) = whole[3] else { Issue.record("expected messages"); return }
        #expect(m.subject == "a.b" && m.sid == 7 && m.reply == "reply.x" && m.string == "hello")
        #expect(status.status == 404 && status.statusDescription == "No Messages" && status.header("a") == "b" && status.payload.isEmpty)
        guard case .err(let e) = whole[5] else { Issue.record("expected -ERR"); return }
        #expect(e == "Authorization Violation")
        for cut in 1..<Self.stream.count {
            let parts = try Self.parse([Array(Self.stream[..<cut]), Array(Self.stream[cut...])])
            #expect(parts.count == whole.count, "split at \(cut)")
        }
        let bytewise = try Self.parse(Self.stream.map { [$0] })
        #expect(bytewise.count == whole.count)
    }

    @Test("hostile input: overlong control lines, payloads over the limit, bad sizes and unknown operations are errors, not allocations or crashes")
    func hostile() {
        #expect(throws: NATSParser.ProtocolError.self) { try Self.parse([Array(repeating: 0x41, count: 10_000)]) }
        #expect(throws: NATSParser.ProtocolError.self) { try Self.parse([Array("MSG a 1 999999999999\r\n".utf8)], limit: 1 << 20) }
        #expect(throws: NATSParser.ProtocolError.self) { try Self.parse([Array("MSG a 1 -5\r\n".utf8)]) }
        #expect(throws: NATSParser.ProtocolError.self) { try Self.parse([Array("HMSG a 1 50 10\r\n".utf8)]) }
        #expect(throws: NATSParser.ProtocolError.self) { try Self.parse([Array("MSG a x 1\r\n".utf8)]) }
        #expect(throws: NATSParser.ProtocolError.self) { try Self.parse([Array("MSG a 1 3\r\nabcXY".utf8)]) }
        #expect(throws: NATSParser.ProtocolError.self) { try Self.parse([Array("HMSG a 1 4 4\r\nHTTP\r\n".utf8)]) }
        #expect(throws: NATSParser.ProtocolError.self) { try Self.parse([Array("BOGUS\r\n".utf8)]) }
        // Random bytes never crash the parser.
        var g = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let junk = (0..<Int.random(in: 0..<200, using: &g)).map { _ in UInt8.random(in: 0...255, using: &g) }
            _ = try? Self.parse([Array("MSG s 1 ".utf8) + junk, junk])
        }
    }
}
