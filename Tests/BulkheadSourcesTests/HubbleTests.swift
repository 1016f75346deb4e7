import BulkheadEvent
import BulkheadSources
import Testing

@Suite struct HubbleTests {
    let id = "hubble"
    func line(_ i: Int) throws -> String { try JSONFixture.lines(id, "flows.jsonl")[i] }

    @Test func tcpEgressFlow() throws {
        let d = try JSONFixture.read(try line(0), expect: id)
        #expect(d.rewritten && d.logsource == LogSource(product: "cilium", service: "hubble", category: "network_connection"))
        #expect(JSONFixture.field(d.json, "SourceIp") == JSONFixture.field(d.json, "flow.IP.source"))
        #expect(JSONFixture.field(d.json, "DestinationPort") == "9080")
        #expect(JSONFixture.field(d.json, "Protocol") == "tcp")
        #expect(JSONFixture.field(d.json, "Initiated") == "true")
        let e = JSONFixture.entity(d, format: id)
        #expect(e["pod"] == "productpage-v1-6b746f74dc-9rcxx")
        #expect(e["namespace"] != nil)
        #expect(e["node"] != nil)
    }

    @Test func dnsResponse() throws {
        let d = try JSONFixture.read(try line(1), expect: id)
        #expect(d.logsource.category == "dns")
        #expect(JSONFixture.field(d.json, "query") == "istiod-istio-1611.istio-system.svc.cluster.local")
        #expect(JSONFixture.field(d.json, "record_type") == "A")
        #expect(JSONFixture.values(d.json, "answer") == ["10.160.0.203"])
        #expect(JSONFixture.field(d.json, "Initiated") == "false")
        #expect(JSONFixture.entity(d, format: id)["service_account"] == "kube-system/kube-dns")
    }

    @Test func httpRequest() throws {
        let d = try JSONFixture.read(try line(2), expect: id)
        #expect(d.logsource.category == "proxy")
        #expect(JSONFixture.field(d.json, "c-uri") == "http://10.128.0.4:9990/metrics")
        #expect(JSONFixture.field(d.json, "cs-host") == "10.128.0.4")
        #expect(JSONFixture.field(d.json, "cs-method") == "GET")
        #expect(JSONFixture.field(d.json, "c-useragent") == "Prometheus/2.15.1")
        #expect(JSONFixture.entity(d, format: id)["pod"] == "prometheus-6655946b9f-6xcpf")
    }

    @Test func ingressEntityIsDestinationPod() throws {
        let d = try JSONFixture.read(try line(4), expect: id)
        #expect(JSONFixture.entity(d, format: id)["pod"] == "reviews-v2-7bf8c9648f-r7bs2")
    }

    @Test func bareFlowWithWorkloadAndNames() throws {
        let d = try JSONFixture.read(try line(5), expect: id)
        #expect(d.logsource.category == "network_connection")
        #expect(JSONFixture.field(d.json, "Protocol") == "udp")
        #expect(JSONFixture.field(d.json, "DestinationPort") == "3333")
        #expect(JSONFixture.field(d.json, "DestinationHostname") == "pool.minexmr.com")
        let e = JSONFixture.entity(d, format: id)
        #expect(e["workload"] == "web")
        #expect(e["cluster"] == "prod-eu")
        #expect(e["service_account"] == "shop/web")
        #expect(e["node"] == "kind-worker")
    }

    @Test func malformedAndComments() throws {
        #expect(!JSONFixture.isValidJSON(try line(6)))
        #expect(!JSONFixture.isValidJSON("# hubble observe output"))
    }
}
