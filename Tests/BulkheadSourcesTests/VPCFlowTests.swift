import BulkheadEvent
import Foundation
import Testing
@testable import BulkheadSources

@Suite("VPC flow logs")
struct VPCFlowTests {
    let format = VPCFlowFormat()

    @Test func mapping() {
        #expect(format.mapping.id == "vpc_flow")
        #expect(format.mapping.kinds[0].logsource == LogSource(product: "aws", service: "vpcflowlogs", category: "network_connection"))
    }

    @Test func defaultOrderWithoutHeader() throws {
        let r = try FixtureFiles.decode(format, "vpc_flow", "flows.log")
        #expect(r.records.count == 4)
        #expect(r.records.allSatisfy { $0.isValidJSON && $0.kind == 0 })
        #expect(r.errors.map { $0.line } == [4])
        let a = r.records[0]
        #expect(a.value("srcaddr") == "10.0.1.5")
        #expect(a.value("account_id") == "123456789012")
        #expect(a.value("interface_id") == "eni-0a1b2c3d4e5f67890")
        #expect(a.jsonKind("bytes") == .number)
        #expect(a.value("SourceIp") == "10.0.1.5")
        #expect(a.value("DestinationIp") == "203.0.113.12")
        #expect(a.value("DestinationPort") == "443")
        #expect(a.value("Protocol") == "tcp")
        #expect(a.value("SentBytes") == "4249")
        #expect(a.value("action") == "ACCEPT")
        #expect(a.value("@timestamp") == "2025-11-23T12:13:20.000Z")
        #expect(a.value("entity.cloud_account") == "123456789012")
        #expect(a.value("entity.source_ip") == "10.0.1.5")
        let nodata = r.records[2]
        #expect(nodata.value("log_status") == "NODATA")
        #expect(nodata.value("srcaddr") == nil)
        let v5 = r.records[3]
        #expect(v5.position == 5)
        #expect(v5.value("account_id") == "064111117617") // stays text: leading zero
        #expect(v5.value("instance_id") == "i-0aaaaaa1ad77")
        #expect(v5.value("region") == "us-east-1")
        #expect(v5.value("pkt_src_aws_service") == "AMAZON")
        #expect(v5.value("flow_direction") == "ingress")
        #expect(v5.value("Protocol") == "udp")
        #expect(v5.value("entity.cloud_instance") == "i-0aaaaaa1ad77")
        #expect(v5.value("entity.cloud_region") == "us-east-1")
    }

    @Test func customFormatWithHeader() throws {
        let r = try FixtureFiles.decode(format, "vpc_flow", "custom_v5.log")
        #expect(r.records.count == 2)
        #expect(r.errors.map { $0.line } == [4])
        let a = r.records[0]
        #expect(a.position == 2)
        #expect(a.value("dstaddr") == "169.254.169.254")
        #expect(a.value("DestinationIp") == "169.254.169.254")
        #expect(a.value("tcp_flags") == "19")
        #expect(a.value("pkt_dstaddr") == "169.254.169.254")
        #expect(a.value("new_future_field") == "something")
        #expect(a.value("entity.cloud_instance") == "i-0123456789abcdef0")
        #expect(a.value("entity.cloud_region") == "eu-west-1")
        #expect(r.records[1].value("Protocol") == "udp")
        #expect(r.records[1].value("new_future_field") == nil)
    }

    @Test func sniff() throws {
        #expect(format.sniff(try FixtureFiles.head("vpc_flow", "flows.log")))
        #expect(format.sniff(try FixtureFiles.head("vpc_flow", "custom_v5.log")))
        #expect(!format.sniff(try FixtureFiles.head("auditd", "audit.log")))
        #expect(!format.sniff(try FixtureFiles.head("zeek_tsv", "conn.log")))
        #expect(!format.sniff(try FixtureFiles.head("coredns", "coredns.log")))
        #expect(!AuditdFormat().sniff(try FixtureFiles.head("vpc_flow", "flows.log")))
        #expect(!CoreDNSFormat().sniff(try FixtureFiles.head("vpc_flow", "flows.log")))
    }
}
