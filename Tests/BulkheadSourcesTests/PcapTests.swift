import BulkheadEvent
import Foundation
import Testing
@testable import BulkheadSources

@Suite("pcap")
struct PcapTests {
    let format = PcapFormat()

    struct Run {
        var records: [DecodedRecord] = []
        var problems: [(position: Int, message: String)] = []
        func of(_ kind: Int) -> [DecodedRecord] { records.filter { $0.kind == kind } }
    }

    func decode(_ file: String) throws -> Run {
        let data = try FixtureFiles.data("pcap", file)
        return decode(bytes: [UInt8](data))
    }

    func decode(bytes: [UInt8]) -> Run {
        var run = Run()
        bytes.withUnsafeBytes { raw in
            format.decode(raw, emit: { json, kind, pos in run.records.append(DecodedRecord(json: json, kind: kind, position: pos)) },
                          problem: { pos, msg in run.problems.append((pos, msg)) })
        }
        return run
    }

    @Test func mappingKinds() {
        #expect(format.mapping.id == "pcap")
        #expect(format.mapping.kinds.map { $0.logsource.category } == ["network_connection", "dns", "tls"])
        #expect(format.mapping.kinds.allSatisfy { $0.logsource.product == "network" && $0.logsource.service == "pcap" })
    }

    @Test func ethernetDNS() throws {
        let r = try decode("capture_eth.pcap")
        #expect(r.records.allSatisfy { $0.isValidJSON })
        let dns = r.of(1)
        let www = try #require(dns.first { $0.value("query") == "www.example.com" })
        #expect(www.value("record_type") == "A")
        #expect(www.value("QueryType") == "A")
        #expect(www.value("QueryName") == "www.example.com")
        #expect(www.values("answer") == ["edge.example.net", "93.184.216.34"])
        #expect(www.value("rcode") == "NOERROR")
        #expect(www.value("SourceIp") == "10.0.0.5")
        #expect(www.value("DestinationIp") == "10.0.0.53")
        #expect(www.value("SourcePort") == "40000")
        #expect(www.value("query_bytes") == "15")
        #expect(www.value("@timestamp") == "2025-11-23T12:13:20.000Z")
        #expect(www.value("entity.source_ip") == "10.0.0.5")
        #expect(www.position == 2)

        let vlan = try #require(dns.first { $0.value("query") == "nope.invalid" })
        #expect(vlan.value("rcode") == "NXDOMAIN")
        #expect(vlan.value("record_type") == "AAAA")
        #expect(vlan.values("answer").isEmpty)

        let txt = try #require(dns.first { $0.value("query") == "after.example" })
        #expect(txt.values("answer") == ["10.9.9.9", "helloworld"])

        // Unanswered query, emitted at the end.
        let tunnel = try #require(dns.first { $0.value("record_type") == "TXT" })
        #expect(tunnel.value("answered") == "false")
        #expect(tunnel.value("query")?.hasSuffix(".t.evil.example") == true)
        #expect(dns.count == 4)
    }

    @Test func tlsClientHello() throws {
        let r = try decode("capture_eth.pcap")
        let tls = r.of(2)
        #expect(tls.count == 1)
        let t = try #require(tls.first)
        #expect(t.value("sni") == "www.example.org")
        #expect(t.value("DestinationHostname") == "www.example.org")
        #expect(t.value("DestinationIp") == "93.184.216.34")
        #expect(t.value("DestinationPort") == "443")
        #expect(t.value("SourceIp") == "10.0.0.5")
        #expect(t.value("tls_version") == "TLS 1.3")
        #expect(t.position == 9)
    }

    @Test func flows() throws {
        let r = try decode("capture_eth.pcap")
        let flows = r.of(0)
        let https = try #require(flows.first { $0.value("DestinationPort") == "443" })
        #expect(https.value("SourceIp") == "10.0.0.5")
        #expect(https.value("SourcePort") == "50000")
        #expect(https.value("Protocol") == "tcp")
        #expect(https.value("Initiated") == "true")
        #expect(https.value("Packets") == "5")
        #expect(https.value("SentPackets") == "3")
        #expect(https.jsonKind("SentBytes") == .number)
        #expect(https.value("StartTime") == "2025-11-23T12:13:20.100Z")
        #expect(https.value("EndTime") == "2025-11-23T12:13:20.150Z")
        let dnsFlow = try #require(flows.first { $0.value("SourcePort") == "40000" })
        #expect(dnsFlow.value("Protocol") == "udp")
        #expect(dnsFlow.value("Packets") == "2")
        #expect(dnsFlow.value("DestinationIp") == "10.0.0.53")
        // Flows come after everything else, ordered by first packet.
        let firstFlow = try #require(r.records.firstIndex { $0.kind == 0 })
        #expect(r.records[firstFlow...].allSatisfy { $0.kind == 0 })
        #expect(flows.map { $0.position } == flows.map { $0.position }.sorted())
    }

    @Test func damagedPacketsReported() throws {
        let r = try decode("capture_eth.pcap")
        let positions = r.problems.map { $0.position }
        #expect(positions.contains(11)) // truncated IPv4 header
        #expect(positions.contains(12)) // DNS compression loop
        #expect(r.problems.count == 2)
        // Packets after the damaged ones still decode.
        #expect(r.records.contains { $0.value("query") == "after.example" })
    }

    @Test func pcapngLinkTypesAndResolutions() throws {
        let r = try decode("capture_multi.pcapng")
        #expect(r.problems.isEmpty)
        #expect(r.records.allSatisfy { $0.isValidJSON })
        let v6 = try #require(r.of(1).first { $0.value("query") == "v6.example.com" })
        #expect(v6.values("answer") == ["2001:db8::42"])
        #expect(v6.value("SourceIp") == "fd00::5")
        #expect(v6.value("@timestamp") == "2025-11-23T12:13:22.000Z")
        let tcp = try #require(r.of(1).first { $0.value("query") == "tcp.example.com" })
        #expect(tcp.value("Protocol") == "tcp")
        #expect(tcp.values("answer") == ["10.1.2.3"])
        #expect(tcp.value("@timestamp") == "2025-11-23T12:13:23.000Z")
        let loop = try #require(r.of(0).first { $0.value("DestinationPort") == "9999" })
        #expect(loop.value("SourceIp") == "127.0.0.1")
        #expect(loop.value("StartTime") == "2025-11-23T12:13:24.000Z")
    }

    @Test func bigEndianNanosecondRawIP() throws {
        let r = try decode("raw_nano_be.pcap")
        #expect(r.problems.isEmpty)
        let q = try #require(r.of(1).first)
        #expect(q.value("query") == "nano.example")
        #expect(q.value("answered") == "false")
        #expect(q.value("@timestamp") == "2025-11-23T12:13:21.500Z")
        #expect(r.of(0).count == 1)
    }

    @Test func realIodineTunnelCut() throws {
        let r = try decode("iodine_mx_cut.pcapng")
        #expect(r.problems.isEmpty)
        let dns = r.of(1)
        #expect(dns.count >= 5)
        #expect(dns.allSatisfy { $0.isValidJSON && $0.value("query") != nil })
        // iodine encodes data in long labels under its tunnel domain.
        #expect(dns.contains { ($0.value("query")?.count ?? 0) > 50 })
        #expect(dns.contains { $0.value("record_type") == "MX" || $0.value("record_type") == "NULL" || $0.value("record_type") == "TXT" })
    }

    @Test func truncatedAndGarbageCapturesNeverCrash() throws {
        let data = [UInt8](try FixtureFiles.data("pcap", "capture_eth.pcap"))
        for cut in stride(from: 0, to: data.count, by: 7) {
            _ = decode(bytes: Array(data[..<cut]))
        }
        let ng = [UInt8](try FixtureFiles.data("pcap", "capture_multi.pcapng"))
        for cut in stride(from: 0, to: ng.count, by: 5) {
            _ = decode(bytes: Array(ng[..<cut]))
        }
        // Flip bytes inside packets.
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            var d = data
            for _ in 0..<8 { d[Int.random(in: 24..<d.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
            _ = decode(bytes: d)
        }
        let cut = decode(bytes: Array(data[..<(data.count - 5)]))
        #expect(!cut.problems.isEmpty)
    }

    @Test func sniff() throws {
        for f in ["capture_eth.pcap", "capture_multi.pcapng", "raw_nano_be.pcap", "iodine_mx_cut.pcapng"] {
            let d = [UInt8](try FixtureFiles.data("pcap", f))
            #expect(d.withUnsafeBytes { format.sniff($0) }, "\(f)")
        }
        for text in ["type=SYSCALL msg=audit(1:2):", "#separator \\x09", "{\"a\":1}"] {
            #expect(!Array(text.utf8).withUnsafeBytes { format.sniff($0) })
        }
    }
}
