import BulkheadEvent
import Foundation
import Testing
@testable import BulkheadSources

@Suite("CoreDNS")
struct CoreDNSTests {
    let format = CoreDNSFormat()

    @Test func mapping() {
        #expect(format.mapping.id == "coredns")
        #expect(format.mapping.kinds[0].logsource == LogSource(product: "coredns", service: "dns", category: "dns"))
    }

    @Test func logPluginLines() throws {
        let r = try FixtureFiles.decode(format, "coredns", "coredns.log")
        #expect(r.records.count == 7)
        #expect(r.records.allSatisfy { $0.isValidJSON && $0.kind == 0 })
        #expect(r.errors.map { $0.line } == [9])
        let a = r.records[0]
        #expect(a.position == 5)
        #expect(a.value("SourceIp") == "172.17.0.1")
        #expect(a.value("SourcePort") == "42114")
        #expect(a.value("id") == "64820")
        #expect(a.value("record_type") == "A")
        #expect(a.value("query") == "host.example.com")
        #expect(a.value("QueryName") == "host.example.com")
        #expect(a.value("QueryType") == "A")
        #expect(a.value("proto") == "udp")
        #expect(a.value("size") == "57")
        #expect(a.jsonKind("do") == .false)
        #expect(a.value("bufsize") == "1232")
        #expect(a.value("rcode") == "NOERROR")
        #expect(a.value("flags") == "qr,aa,rd")
        #expect(a.value("rsize") == "66")
        #expect(a.value("duration") == "0.000150566")
        #expect(a.value("entity.source_ip") == "172.17.0.1")
        #expect(r.records[1].value("record_type") == "TXT")
        #expect(r.records[2].value("rcode") == "NXDOMAIN")
        let v6 = r.records[3]
        #expect(v6.value("SourceIp") == "::1")
        #expect(v6.jsonKind("do") == .true)
        let stamped = r.records[4]
        #expect(stamped.position == 10)
        #expect(stamped.value("@timestamp") == "2026-11-23T18:00:00.123Z")
        #expect(stamped.value("record_type") == "AAAA")
        let failed = r.records[5]
        #expect(failed.position == 11)
        #expect(failed.value("QueryName") == "avs-alexa-18-na.amazon.com")
        #expect(failed.value("rcode") == "SERVFAIL")
        let offset = r.records[6]
        #expect(offset.value("@timestamp") == "2019-03-19T05:13:36.289Z")
        #expect(offset.value("SourceIp") == "2001:db8::5")
        #expect(offset.value("proto") == "tcp")
    }

    @Test func sniff() throws {
        #expect(format.sniff(try FixtureFiles.head("coredns", "coredns.log")))
        #expect(!format.sniff(try FixtureFiles.head("auditd", "audit.log")))
        #expect(!format.sniff(try FixtureFiles.head("zeek_tsv", "dns.log")))
        #expect(!VPCFlowFormat().sniff(try FixtureFiles.head("coredns", "coredns.log")))
        #expect(!ZeekTSVFormat(.dns).sniff(try FixtureFiles.head("coredns", "coredns.log")))
    }
}
