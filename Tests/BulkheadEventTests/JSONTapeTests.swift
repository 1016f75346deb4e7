@testable import BulkheadEvent
import Foundation
import Testing

func withView<R>(_ json: String, _ body: (EventView) -> R) throws -> R {
    var tape = JSONTape()
    let bytes = Array(json.utf8)
    return try bytes.withUnsafeBytes { raw in
        try EventView.with(bytes: raw, tape: &tape, scratch: ScratchBuffer()) { body($0) }
    }
}

func parseError(_ json: [UInt8], limits: JSONTape.Limits = .init()) -> JSONError.Code? {
    var tape = JSONTape(limits: limits)
    return json.withUnsafeBytes { raw -> JSONError.Code? in
        do {
            try tape.parse(raw)
            return nil
        } catch let e as JSONError {
            return e.code
        } catch {
            return nil
        }
    }
}

@Suite struct JSONTapeTests {
    /// The writer's escaping (eight bytes at a time where it can) equals a byte-by-byte
    /// escaper on random bytes of every kind, and its output parses back.
    @Test func escapingMatchesAByteByByteEscaper() throws {
        func reference(_ b: [UInt8]) -> [UInt8] {
            var out: [UInt8] = [0x22]
            var i = 0
            while i < b.count {
                let c = b[i]
                if c >= 0x80 {
                    let end = b.withUnsafeBufferPointer { p in UTF8Sequence.end(p.baseAddress!, at: i, count: p.count) }
                    if let end { out += b[i..<end]; i = end } else { out += [0xEF, 0xBF, 0xBD]; i += 1 }
                    continue
                }
                switch c {
                case 0x22: out += Array(#"\""#.utf8)
                case 0x5C: out += Array(#"\\"#.utf8)
                case 0x0A: out += Array(#"\n"#.utf8)
                case 0x0D: out += Array(#"\r"#.utf8)
                case 0x09: out += Array(#"\t"#.utf8)
                case 0..<0x20, 0x7F: out += Array(String(format: "\\u%04x", Int(c)).utf8)
                default: out.append(c)
                }
                i += 1
            }
            return out + [0x22]
        }
        var rng = SystemRandomNumberGenerator()
        let pieces: [[UInt8]] = [Array("plain text ".utf8), [0x22], [0x5C], [0x0A], [0x01], [0x7F], [0xC3, 0xA9], [0xE2, 0x82, 0xAC],
                                 [0xF0, 0x9F, 0x98, 0x80], [0xFF], [0xC3], [0xED, 0xA0, 0x80], Array("12345678".utf8)]
        for _ in 0..<3000 {
            var b: [UInt8] = []
            for _ in 0..<Int.random(in: 0...12, using: &rng) { b += pieces.randomElement(using: &rng)! }
            var out: [UInt8] = []
            JSONString.appendQuoted(bytes: b, to: &out)
            #expect(out == reference(b))
            let back = try JSONSerialization.jsonObject(with: Data(out), options: .fragmentsAllowed) as? String
            #expect(back != nil)
        }
    }

    /// Lookups through the root key index find exactly what a scan of the root finds, in the
    /// same order: dotted keys, duplicate keys, keys sharing a first byte, escaped and empty
    /// keys (the index then steps aside), arrays and missing paths.
    @Test func rootKeyIndexFindsWhatAScanFinds() throws {
        let records = [
            #"{"verb":"get","user":{"username":"a"},"userAgent":"x","uid":1,"u":2,"objectRef":{"resource":"pods"}}"#,
            #"{"a.b":1,"a":{"b":2},"a.b.c":3,"a":{"b":{"c":4}}}"#,
            #"{"k":1,"k":2,"kk":3,"k":[4,5]}"#,
            #"{"\u0076erb":"escaped","verb":"plain"}"#,
            #"{"":"empty","x":1}"#,
            #"[{"verb":"in an array"}]"#,
            #"{}"#,
            #"{"annotations":{"authorization.k8s.io/decision":"allow"},"sourceIPs":["10.0.0.1","::1"]}"#,
        ]
        let paths = ["verb", "user.username", "userAgent", "uid", "u", "objectRef.resource", "a.b", "a.b.c", "k", "kk",
                     "x", "", "annotations.\"authorization.k8s.io/decision\"", "sourceIPs", "missing", "a.missing"]
        let index = RootKeyIndex()
        for r in records {
            try withView(r) { v in
                index.rebuild(v)
                for p in paths {
                    let key = PathKey.copy(of: FieldPath(p))
                    defer { key.deallocate() }
                    var scanned: [Int] = [], indexed: [Int] = []
                    v.forEachValue(key) { scanned.append($0); return false }
                    v.forEachValue(key, index: index) { indexed.append($0); return false }
                    #expect(indexed == scanned, "\(p) in \(r)")
                }
            }
        }
    }

    @Test func parsesNestedValuesAsByteRanges() throws {
        let s = try withView(#"{"a":{"b":[1,{"c":"x\"y"}]},"d":true,"e":null,"f":-1.5e3}"#) { v in
            (v.firstString(FieldPath("a.b.c")), v.firstString(FieldPath("d")), v.first(FieldPath("e")).map { v.kind($0) }, v.firstString(FieldPath("f")))
        }
        #expect(s.0 == "x\"y")
        #expect(s.1 == "true")
        #expect(s.2 == .null)
        #expect(s.3 == "-1.5e3")
    }

    @Test(arguments: [
        (#"{"a":1"#, JSONError.Code.unexpectedEnd),
        (#"{"a":}"#, .unexpectedByte),
        (#"{"a":1}x"#, .trailingData),
        (#"{"a":"\q"}"#, .invalidEscape),
        (#"{"a":01}"#, .unexpectedByte),
        ("{\"a\":\"\u{01}\"}", .controlCharacter),
        ("", .empty),
    ])
    func rejectsMalformedInput(json: String, code: JSONError.Code) {
        #expect(parseError(Array(json.utf8)) == code)
    }

    @Test func rejectsInvalidUTF8() {
        var bytes = Array(#"{"a":"xx"}"#.utf8)
        bytes[6] = 0xC3; bytes[7] = 0x28  // a lead byte followed by a non-continuation
        #expect(parseError(bytes) == .invalidUTF8)
        #expect(parseError(Array("{\"a\":\"\u{E9}\u{1F600}\"}".utf8)) == nil)
    }

    @Test func deepNestingIsBoundedNotACrash() {
        let deep = Array((String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)).utf8)
        #expect(parseError(deep) == .tooDeep)
        let ok = Array((String(repeating: "[", count: 100) + String(repeating: "]", count: 100)).utf8)
        #expect(parseError(ok) == nil)
    }

    @Test func sizeLimit() {
        #expect(parseError(Array(#"{"a":"0123456789"}"#.utf8), limits: .init(maxDepth: 10, maxBytes: 8)) == .tooLarge)
    }

    @Test func unicodeEscapesAndSurrogatePairs() throws {
        let s = try withView(#"{"k":"caf\u00e9 \ud83d\ude00 \u0041"}"#) { $0.firstString(FieldPath("k")) }
        #expect(s == "café 😀 A")
    }
}

@Suite struct FieldPathTests {
    @Test func pathsCrossArraysAndMatchAnyElement() throws {
        let json = #"{"spec":{"containers":[{"name":"a","securityContext":{"privileged":false}},{"name":"b","securityContext":{"privileged":true}}]}}"#
        let values = try withView(json) { v -> [String] in
            var out: [String] = []
            v.forEachValue(FieldPath("spec.containers.securityContext.privileged")) { out.append(v.string($0)); return false }
            return out
        }
        #expect(values == ["false", "true"])
    }

    @Test func keysContainingDotsWithAndWithoutQuotes() throws {
        let json = #"{"annotations":{"authorization.k8s.io/decision":"allow"},"output_fields":{"proc.cmdline":"nc -e sh","proc":{"x":1}}}"#
        let r = try withView(json) { v in
            (v.firstString(FieldPath(#"annotations."authorization.k8s.io/decision""#)),
             v.firstString(FieldPath("annotations.authorization.k8s.io/decision")),
             v.firstString(FieldPath("output_fields.proc.cmdline")),
             v.firstString(FieldPath("output_fields.proc.x")))
        }
        #expect(r.0 == "allow")
        #expect(r.1 == "allow")
        #expect(r.2 == "nc -e sh")
        #expect(r.3 == "1")
    }

    @Test func leafArraysYieldElements() throws {
        let n = try withView(#"{"user":{"groups":["system:masters","dev"]}}"#) { v -> Int in
            var n = 0
            v.forEachValue(FieldPath("user.groups")) { _ in n += 1; return false }
            return n
        }
        #expect(n == 2)
    }
}

@Suite struct TimestampTests {
    @Test func rfc3339AndEpochs() {
        func ns(_ s: String, number: Bool = false) -> Int64? {
            Array(s.utf8).withUnsafeBufferPointer { Timestamps.epochNanos($0, isNumber: number) }
        }
        #expect(ns("1970-01-01T00:00:00Z") == 0)
        #expect(ns("2026-11-23T18:33:20.5Z") == 1_795_458_800_500_000_000)
        #expect(ns("2026-11-23T19:33:20+01:00") == 1_795_458_800_000_000_000)
        #expect(ns("1795458800", number: true) == 1_795_458_800_000_000_000)
        #expect(Timestamps.format(epochNanos: 1_795_458_800_500_000_000) == "2026-11-23T18:33:20.500Z")
    }
}

@Suite("timestamps out of range (found by fuzzing)")
struct TimestampRangeTests {
    @Test("numbers and dates past Int64 nanoseconds are not times, and do not trap")
    func outOfRange() {
        for text in ["1e30", "99999999999999999999", "1e19", "9999-12-31T23:59:59Z", "2300-01-01T00:00:00Z"] {
            let bytes = Array(text.utf8)
            let isNumber = text.first!.isNumber && !text.contains("-")
            #expect(bytes.withUnsafeBufferPointer { Timestamps.epochNanos($0, isNumber: isNumber) } == nil, "\(text)")
        }
        let ok = Array("2026-11-23T10:00:00Z".utf8)
        #expect(ok.withUnsafeBufferPointer { Timestamps.epochNanos($0, isNumber: false) } == 1_795_428_000_000_000_000)
    }
}
