import BulkheadEvent
import BulkheadSources
import Testing

@Suite struct TetragonTests {
    let id = "tetragon"

    @Test func processExec() throws {
        let d = try JSONFixture.read(try JSONFixture.lines(id, "events.jsonl")[0], expect: id)
        #expect(d.rewritten && d.kind == 0)
        #expect(d.logsource == LogSource(product: "linux", service: "tetragon", category: "process_creation"))
        #expect(JSONFixture.field(d.json, "Image") == "/usr/bin/netserver")
        #expect(JSONFixture.field(d.json, "CommandLine") == "/usr/bin/netserver -D")
        #expect(JSONFixture.field(d.json, "ProcessId") == "68790")
        #expect(JSONFixture.field(d.json, "User") == "0")
        #expect(JSONFixture.field(d.json, "CurrentDirectory") == "/")
        #expect(JSONFixture.field(d.json, "ParentProcessId") == "68598")
        #expect(JSONFixture.field(d.json, "ParentImage") != nil)
        // Native fields are kept.
        #expect(JSONFixture.field(d.json, "process_exec.process.binary") == "/usr/bin/netserver")
        let e = JSONFixture.entity(d, format: id)
        #expect(e["container_id"] == "19a02291e106ce6227b684197be232ea57c4e1a5ab2604a12608c325d701c7f4")
        #expect(e["pod"] == "tiefighter")
        #expect(e["namespace"] == "default")
        #expect(e["container_name"] == "spaceship")
        #expect(e["image"]?.hasPrefix("docker.io/tgraf/netperf") == true)
        #expect(e["node"] != nil)
    }

    @Test func legacyProcessConnect() throws {
        let d = try JSONFixture.read(try JSONFixture.lines(id, "events.jsonl")[1], expect: id)
        #expect(d.logsource.category == "network_connection")
        #expect(JSONFixture.field(d.json, "DestinationIp") == "64.225.45.153")
        #expect(JSONFixture.field(d.json, "DestinationPort") == "443")
        #expect(JSONFixture.field(d.json, "Protocol") == "tcp")
        #expect(JSONFixture.field(d.json, "Initiated") == "true")
        #expect(JSONFixture.field(d.json, "CommandLine") == "/usr/bin/nc raiz3gjkgtfhkkc.not-reverse-shell.com 443")
        #expect(JSONFixture.field(d.json, "ParentCommandLine") == "/usr/bin/sh lifecycle.sh")
        #expect(JSONFixture.entity(d, format: id)["node"] == "minikube")
    }

    @Test func kprobeReadIsPlainEvent() throws {
        let d = try JSONFixture.read(try JSONFixture.lines(id, "events.jsonl")[2], expect: id)
        #expect(d.kind == 2)
        #expect(d.logsource == LogSource(product: "linux", service: "tetragon"))
        #expect(JSONFixture.field(d.json, "FunctionName") == "__x64_sys_read")
        #expect(JSONFixture.values(d.json, "Arguments").contains("usr/share/elasticsearch/config/elasticsearch.keystore"))
    }

    @Test func processExitIsPlainEvent() throws {
        let d = try JSONFixture.read(try JSONFixture.lines(id, "events.jsonl")[3], expect: id)
        #expect(d.kind == 2)
        #expect(JSONFixture.field(d.json, "Image") == "/usr/bin/cat")
    }

    @Test func kprobeTcpConnect() throws {
        let d = try JSONFixture.read(try JSONFixture.lines(id, "events.jsonl")[4], expect: id)
        #expect(d.kind == 1)
        #expect(d.logsource == LogSource(product: "linux", service: "tetragon", category: "network_connection"))
        #expect(JSONFixture.field(d.json, "SourceIp") == "10.244.1.5")
        #expect(JSONFixture.field(d.json, "SourcePort") == "43512")
        #expect(JSONFixture.field(d.json, "DestinationIp") == "198.51.100.7")
        #expect(JSONFixture.field(d.json, "DestinationPort") == "8080")
        #expect(JSONFixture.field(d.json, "Protocol") == "tcp")
        #expect(JSONFixture.field(d.json, "FunctionName") == "tcp_connect")
        #expect(JSONFixture.field(d.json, "User") == "app")
        #expect(JSONFixture.field(d.json, "ParentCommandLine") == "/bin/sh -c \"curl -s http://198.51.100.7:8080/x\"")
        #expect(JSONFixture.field(d.json, "unknown_future_field.x") == "1")
        let e = JSONFixture.entity(d, format: id)
        #expect(e["workload"] == "web")
        #expect(e["container_id"] == "b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1")
        #expect(e["node"] == "kind-worker")
    }

    @Test func lsmWithoutParentOrPod() throws {
        let d = try JSONFixture.read(try JSONFixture.lines(id, "events.jsonl")[5], expect: id)
        #expect(d.kind == 2)
        #expect(JSONFixture.field(d.json, "FunctionName") == "file_open")
        #expect(JSONFixture.values(d.json, "Arguments") == ["/etc/shadow"])
        #expect(JSONFixture.field(d.json, "ParentImage") == nil)
        #expect(JSONFixture.entity(d, format: id)["pod"] == nil)
    }

    @Test func malformed() throws {
        let lines = try JSONFixture.lines(id, "events.jsonl")
        #expect(!JSONFixture.isValidJSON(lines[6]))
        #expect(throws: (any Error).self) { try JSONFixture.decode(#"{"node_name":"x","process_exec":"not an object"}"#, as: id) }
    }
}
