import BulkheadEvent
import BulkheadSources
import Testing

@Suite struct DockerInspectTests {
    let id = "docker_inspect"

    @Test func privilegedHostContainer() throws {
        let elements = try JSONFixture.elements(id, "inspect.json")
        #expect(elements.count == 2)
        let d = try JSONFixture.read(elements[0], expect: id)
        #expect(d.rewritten && d.kind == 0)
        #expect(d.logsource == LogSource(product: "docker", service: "inspect"))
        #expect(JSONFixture.field(d.json, "HostConfig.Privileged") == "true")
        #expect(JSONFixture.values(d.json, "Mounts.Source") == ["/"])
        let e = JSONFixture.entity(d, format: id)
        #expect(e["container_id"] == "4f3ad1c0e7b1d2a39d8e0f7c6b5a4938271605f4e3d2c1b0a9f8e7d6c5b4a392")
        #expect(e["container_name"] == "priv-shell")
        #expect(e["image"] == "alpine:3.19")
        #expect(e["pod"] == nil)
    }

    @Test func kubeletContainerWithUnknownFields() throws {
        let d = try JSONFixture.read(try JSONFixture.elements(id, "inspect.json")[1], expect: id)
        let e = JSONFixture.entity(d, format: id)
        #expect(e["pod"] == "web-6d4cf56db6-abcde")
        #expect(e["namespace"] == "shop")
        #expect(e["image"] == "registry.example.com/shop/web:2.1")
        #expect(JSONFixture.field(d.json, "SomeFutureField.x") == "1")
    }

    @Test func malformed() throws {
        let bad = try JSONFixture.lines(id, "malformed.json")[0]
        #expect(!JSONFixture.isValidJSON(bad))
        #expect(throws: (any Error).self) { try JSONFixture.decode(#"{"Name":"/x"}"#, as: id) }
    }
}
