import BulkheadEvent
import Foundation
import Testing
@testable import BulkheadSources

@Suite("Zeek TSV")
struct ZeekTSVTests {
    let conn = ZeekTSVFormat(.conn)
    let dns = ZeekTSVFormat(.dns)

    @Test func mappings() {
        #expect(conn.mapping.id == "zeek_conn_tsv")
        #expect(dns.mapping.id == "zeek_dns_tsv")
        #expect(conn.mapping.kinds[0].logsource == LogSource(product: "zeek", service: "conn", category: "network_connection"))
        #expect(dns.mapping.kinds[0].logsource == LogSource(product: "zeek", service: "dns", category: "dns"))
    }

    @Test func connRecords() throws {
        let r = try FixtureFiles.decode(conn, "zeek_tsv", "conn.log")
        #expect(r.records.count == 4)
        #expect(r.records.allSatisfy { $0.isValidJSON && $0.kind == 0 })
        #expect(r.errors.map { $0.line } == [12])
        let first = r.records[0]
        #expect(first.position == 9)
        #expect(first.value("id.orig_h") == "192.168.1.41")
        #expect(first.jsonKind("id.orig_p") == .number)
        #expect(first.jsonKind("ts") == .number)
        #expect(first.jsonKind("local_orig") == .true)
        #expect(first.value("duration") == nil) // unset
        #expect(first.value("community_id") == "1:abc=") // field beyond the usual set
        #expect(first.value("SourceIp") == "192.168.1.41")
        #expect(first.value("DestinationPort") == "53")
        #expect(first.value("Protocol") == "udp")
        #expect(first.value("Initiated") == "true")
        #expect(first.value("@timestamp") == "2025-11-23T12:13:20.036Z")
        #expect(first.value("entity.source_ip") == "192.168.1.41")

        let http = r.records[1]
        #expect(http.value("SentBytes") == "120")
        #expect(http.value("ReceivedBytes") == "520")
        #expect(http.text.contains("\"tunnel_parents\":[]"))
        #expect(http.values("tunnel_parents").isEmpty)

        let shell = r.records[2]
        #expect(shell.values("tunnel_parents") == ["Cabc", "Cdef"])
        #expect(shell.value("DestinationPort") == "4444")
        #expect(shell.value("service") == nil)

        let v6 = r.records[3]
        #expect(v6.value("DestinationIp") == "2001:db8::1")
        #expect(v6.position == 13) // the line after the bad one still decodes
    }

    @Test func dnsRecords() throws {
        let r = try FixtureFiles.decode(dns, "zeek_tsv", "dns.log")
        #expect(r.records.count == 4)
        #expect(r.records.allSatisfy { $0.isValidJSON && $0.kind == 0 })
        #expect(r.errors.map { $0.line } == [12])
        let a = r.records[1]
        #expect(a.value("query") == "newyork.dmevals.local")
        #expect(a.value("QueryName") == "newyork.dmevals.local")
        #expect(a.value("record_type") == "A")
        #expect(a.value("QueryType") == "A")
        #expect(a.values("answers") == ["10.0.0.4", "10.0.0.5"])
        #expect(a.values("answer") == ["10.0.0.4", "10.0.0.5"])
        #expect(a.jsonKind("TTLs") == .number) // vector[interval]: array of numbers
        #expect(a.text.contains("\"TTLs\":[3600.000000,3600.000000]"))
        #expect(a.value("SourceIp") == "10.0.1.6")
        #expect(a.value("DestinationIp") == "10.0.0.4")
        let txt = r.records[2]
        #expect(txt.values("answer") == ["TXT\\x20hello"])
        #expect(txt.values("TTLs").isEmpty)
        #expect(r.records[0].value("query") == nil)
        #expect(r.records[3].value("rcode_name") == "NXDOMAIN")
    }

    @Test func recordsBeforeHeaderAreErrors() {
        let r = FixtureFiles.decode(conn, lines: ["1\t2\t3"])
        #expect(r.records.isEmpty)
        #expect(r.errors.count == 1)
    }

    @Test func sniff() throws {
        let connHead = try FixtureFiles.head("zeek_tsv", "conn.log")
        let dnsHead = try FixtureFiles.head("zeek_tsv", "dns.log")
        #expect(conn.sniff(connHead))
        #expect(!conn.sniff(dnsHead))
        #expect(dns.sniff(dnsHead))
        #expect(!dns.sniff(connHead))
        let audit = try FixtureFiles.head("auditd", "audit.log")
        let vpc = try FixtureFiles.head("vpc_flow", "flows.log")
        let coredns = try FixtureFiles.head("coredns", "coredns.log")
        for other in [audit, vpc, coredns] {
            #expect(!conn.sniff(other))
            #expect(!dns.sniff(other))
            #expect(!AuditdFormat().sniff(other) || other == audit)
        }
        #expect(!AuditdFormat().sniff(connHead))
    }
}
