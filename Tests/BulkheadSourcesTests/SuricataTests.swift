import BulkheadEvent
import BulkheadSources
import Testing

@Suite struct SuricataTests {
    let id = "suricata"
    func line(_ i: Int) throws -> String { try JSONFixture.lines(id, "eve.jsonl")[i] }

    @Test func dnsV1QueryAndV2Answer() throws {
        let q = try JSONFixture.read(try line(0), expect: id)
        #expect(q.rewritten && q.logsource == LogSource(product: "suricata", service: "eve", category: "dns"))
        #expect(JSONFixture.field(q.json, "query") == "google.com")
        #expect(JSONFixture.field(q.json, "record_type") == "A")
        #expect(JSONFixture.field(q.json, "SourceIp") == "10.0.2.15")
        #expect(JSONFixture.field(q.json, "DestinationPort") == "53")
        #expect(JSONFixture.field(q.json, "Protocol") == "udp")
        let a = try JSONFixture.read(try line(1), expect: id)
        #expect(JSONFixture.values(a.json, "answer") == ["175.16.199.1"])
        #expect(JSONFixture.field(a.json, "dns.rrname") == "google.com")
    }

    @Test func dnsV3QueriesArray() throws {
        let d = try JSONFixture.read(try line(2), expect: id)
        #expect(JSONFixture.field(d.json, "query") == "evil.example.net")
        #expect(JSONFixture.field(d.json, "record_type") == "TXT")
        #expect(JSONFixture.values(d.json, "answer") == ["v=spf1 -all"])
    }

    @Test func flowIsNetworkConnection() throws {
        let d = try JSONFixture.read(try line(3), expect: id)
        #expect(d.logsource.category == "network_connection")
        #expect(JSONFixture.field(d.json, "DestinationIp") == "203.0.113.9")
        #expect(JSONFixture.field(d.json, "DestinationPort") == "4444")
        #expect(JSONFixture.field(d.json, "Protocol") == "tcp")
        #expect(JSONFixture.field(d.json, "Initiated") == "true")
        #expect(JSONFixture.entity(d, format: id)["source_ip"] == "10.0.0.5")
    }

    @Test func tlsSni() throws {
        let d = try JSONFixture.read(try line(4), expect: id)
        #expect(d.logsource.category == "tls")
        #expect(JSONFixture.field(d.json, "DestinationHostname") == "pool.minexmr.com")
    }

    @Test func httpIsProxy() throws {
        let d = try JSONFixture.read(try line(5), expect: id)
        #expect(d.logsource.category == "proxy")
        #expect(JSONFixture.field(d.json, "c-uri") == "/payload.sh")
        #expect(JSONFixture.field(d.json, "cs-host") == "updates.example.org")
        #expect(JSONFixture.field(d.json, "cs-method") == "GET")
        #expect(JSONFixture.field(d.json, "c-useragent") == "curl/8.0")
    }

    @Test func alertHasNoCategory() throws {
        let d = try JSONFixture.read(try line(6), expect: id)
        #expect(d.logsource == LogSource(product: "suricata", service: "eve"))
        #expect(d.kind == 4)
        #expect(JSONFixture.field(d.json, "alert.signature")?.hasPrefix("ET SCAN") == true)
        #expect(JSONFixture.field(d.json, "SourceIp") == "10.128.0.210")
    }

    @Test func statsRecordKeptAsIs() throws {
        let d = try JSONFixture.read(try line(7), expect: id)
        #expect(!d.rewritten && d.kind == 4)
    }

    @Test func malformed() throws {
        #expect(!JSONFixture.isValidJSON(try line(8)))
    }
}
