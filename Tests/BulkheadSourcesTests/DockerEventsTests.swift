import BulkheadEvent
import BulkheadSources
import Testing

@Suite struct DockerEventsTests {
    let id = "docker_events"

    @Test func containerStartWithLegacyFields() throws {
        let lines = try JSONFixture.lines(id, "events.jsonl")
        let d = try JSONFixture.read(lines[0], expect: id)
        #expect(!d.rewritten && d.kind == 0)
        #expect(d.logsource == LogSource(product: "docker", service: "events"))
        let e = JSONFixture.entity(d, format: id)
        #expect(e["container_id"] == "4f3ad1c0e7b1d2a39d8e0f7c6b5a4938271605f4e3d2c1b0a9f8e7d6c5b4a392")
        #expect(e["container_name"] == "web-1")
        #expect(e["image"] == "alpine:3.19")
    }

    @Test func execInKubernetesPod() throws {
        let d = try JSONFixture.read(try JSONFixture.lines(id, "events.jsonl")[1], expect: id)
        #expect(JSONFixture.field(d.json, "Action") == "exec_create: sh -c id")
        let e = JSONFixture.entity(d, format: id)
        #expect(e["pod"] == "nginx-7c5d")
        #expect(e["namespace"] == "default")
        #expect(e["image"] == "nginx:1.25")
    }

    @Test func swarmServiceContainer() throws {
        let d = try JSONFixture.read(try JSONFixture.lines(id, "events.jsonl")[2], expect: id)
        let e = JSONFixture.entity(d, format: id)
        #expect(e["workload"] == "cache")
        #expect(e["node"] == "node-abc123")
        #expect(JSONFixture.field(d.json, "Actor.Attributes.privileged") == "true")
    }

    @Test func imageAndNodeEvents() throws {
        let lines = try JSONFixture.lines(id, "events.jsonl")
        let image = try JSONFixture.read(lines[3], expect: id)
        let ie = JSONFixture.entity(image, format: id)
        #expect(ie["image"] == "alpine")
        #expect(ie["container_id"] == nil)
        let node = try JSONFixture.read(lines[4], expect: id)
        #expect(JSONFixture.entity(node, format: id)["node"] == "worker-2")
    }

    @Test func malformedLineIsNotJSON() throws {
        let lines = try JSONFixture.lines(id, "events.jsonl")
        #expect(!JSONFixture.isValidJSON(lines[5]))
        #expect(JSONFixture.sniff(lines[5]) == nil)
    }
}
