import BulkheadEvent
import BulkheadSources
import Testing

@Suite struct ZeekJSONTests {
    @Test func conn() throws {
        let lines = try JSONFixture.lines("zeek_conn", "conn.jsonl")
        let d = try JSONFixture.read(lines[0], expect: "zeek_conn")
        #expect(d.rewritten && d.logsource == LogSource(product: "zeek", service: "conn", category: "network_connection"))
        #expect(JSONFixture.field(d.json, "SourceIp") == "192.168.4.76")
        #expect(JSONFixture.field(d.json, "SourcePort") == "36844")
        #expect(JSONFixture.field(d.json, "DestinationIp") == "192.168.4.1")
        #expect(JSONFixture.field(d.json, "DestinationPort") == "53")
        #expect(JSONFixture.field(d.json, "Protocol") == "udp")
        #expect(JSONFixture.field(d.json, "Initiated") == "true")
        #expect(JSONFixture.field(d.json, "SentBytes") == "62")
        #expect(JSONFixture.field(d.json, "ReceivedBytes") == "141")
        #expect(JSONFixture.field(d.json, "id.orig_h") == "192.168.4.76")
        let s0 = try JSONFixture.read(lines[1], expect: "zeek_conn")
        #expect(JSONFixture.field(s0.json, "SentBytes") == nil)
        #expect(JSONFixture.entity(s0, format: "zeek_conn")["node"] == "sensor-1")
        #expect(JSONFixture.entity(s0, format: "zeek_conn")["source_ip"] == "10.0.0.5")
        #expect(!JSONFixture.isValidJSON(lines[2]))
    }

    @Test func dns() throws {
        let lines = try JSONFixture.lines("zeek_dns", "dns.jsonl")
        let d = try JSONFixture.read(lines[0], expect: "zeek_dns")
        #expect(d.logsource == LogSource(product: "zeek", service: "dns", category: "dns"))
        #expect(JSONFixture.values(d.json, "query") == ["testmyids.com"])
        #expect(JSONFixture.field(d.json, "QueryName") == "testmyids.com")
        #expect(JSONFixture.field(d.json, "record_type") == "A")
        #expect(JSONFixture.values(d.json, "answer") == ["31.3.245.133"])
        #expect(JSONFixture.field(d.json, "SourceIp") == "192.168.4.76")
        #expect(JSONFixture.field(d.json, "DestinationIp") == "192.168.4.1")
        let nx = try JSONFixture.read(lines[1], expect: "zeek_dns")
        #expect(JSONFixture.field(nx.json, "QueryType") == "TXT")
        #expect(JSONFixture.field(nx.json, "answer") == nil)
        #expect(!JSONFixture.isValidJSON(lines[2]))
    }
}

@Suite struct JSONSniffOrderTests {
    /// Each fixture record is claimed by exactly the expected format, and by no other
    /// specific JSON format earlier in the list.
    @Test func everyFixtureSniffsAsItsFormat() throws {
        let cases: [(String, String, String)] = [
            ("docker_events", "events.jsonl", "docker_events"), ("falco", "alerts.jsonl", "falco"),
            ("tetragon", "events.jsonl", "tetragon"), ("suricata", "eve.jsonl", "suricata"),
            ("hubble", "flows.jsonl", "hubble"), ("route53_resolver", "queries.jsonl", "route53_resolver"),
            ("azure_activity", "activity.jsonl", "azure_activity"), ("gcp_audit", "entries.jsonl", "gcp_audit"),
            ("zeek_conn", "conn.jsonl", "zeek_conn"), ("zeek_dns", "dns.jsonl", "zeek_dns"),
            ("k8s_audit", "wrapped.jsonl", "k8s_audit"),
        ]
        for (folder, file, expected) in cases {
            for line in try JSONFixture.lines(folder, file) where JSONFixture.isValidJSON(line) {
                #expect(JSONFixture.sniff(line) == expected, "\(folder)/\(file): \(line.prefix(80))")
            }
        }
        for element in try JSONFixture.elements("docker_inspect", "inspect.json") {
            #expect(JSONFixture.sniff(element) == "docker_inspect")
        }
    }

    @Test func unrelatedJSONFallsBackToGeneric() {
        #expect(JSONFixture.sniff(#"{"level":"info","msg":"hello","ts":1715108059}"#) == "json")
        #expect(JSONFixture.sniff(#"{"event_type":"x"}"#) == "json")
    }

    @Test func mappingsLoadAndKindsMatch() {
        for id in ["docker_events", "docker_inspect", "falco", "tetragon", "suricata", "hubble", "route53_resolver",
                   "azure_activity", "gcp_audit", "zeek_conn", "zeek_dns"] {
            #expect(Formats.index(of: id) != nil, "\(id) not registered")
        }
        #expect(JSONFixture.format("tetragon").mapping.kinds.count == 3)
        #expect(JSONFixture.format("suricata").mapping.kinds.count == 5)
    }
}
