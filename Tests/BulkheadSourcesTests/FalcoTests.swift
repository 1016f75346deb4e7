import BulkheadEvent
import BulkheadSources
import Testing

@Suite struct FalcoTests {
    let id = "falco"

    @Test func syscallAlertsFromFalcoPackage() throws {
        let lines = try JSONFixture.lines(id, "alerts.jsonl")
        for line in lines.prefix(3) {
            let d = try JSONFixture.read(line, expect: id)
            #expect(!d.rewritten && d.logsource == LogSource(product: "falco", service: "alerts"))
        }
        let d = try JSONFixture.read(lines[0], expect: id)
        #expect(JSONFixture.field(d.json, "output_fields.proc.cmdline") == "event-generator run --loop")
        #expect(JSONFixture.field(d.json, "rule") == "Read sensitive file untrusted")
        let e = JSONFixture.entity(d, format: id)
        #expect(e["container_id"] == "9656db3bb358")
        #expect(e["container_name"] == "elastic-package-service-falco-event-generator-1")
        #expect(e["node"] == "97ade2b595f0")
        #expect(e["user"] == "root")
    }

    @Test func kubernetesContainerAlert() throws {
        let d = try JSONFixture.read(try JSONFixture.lines(id, "alerts.jsonl")[3], expect: id)
        let e = JSONFixture.entity(d, format: id)
        #expect(e["pod"] == "api-7d9f")
        #expect(e["namespace"] == "prod")
        #expect(e["image"] == "registry.example.com/api")
        #expect(e["node"] == "worker-1")
    }

    @Test func k8sAuditSourceAlert() throws {
        let d = try JSONFixture.read(try JSONFixture.lines(id, "alerts.jsonl")[4], expect: id)
        let e = JSONFixture.entity(d, format: id)
        #expect(e["user"] == "admin")
        #expect(e["namespace"] == "default")
        #expect(JSONFixture.field(d.json, "source") == "k8s_audit")
    }

    @Test func malformed() throws {
        let lines = try JSONFixture.lines(id, "alerts.jsonl")
        #expect(!JSONFixture.isValidJSON(lines[5]))
    }
}
