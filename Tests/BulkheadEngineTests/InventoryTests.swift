import BulkheadEngine
import BulkheadEvent
import BulkheadRules
import BulkheadScan
import BulkheadSources
import Foundation
import Testing

/// A Pod as `kubectl get pods -o json` prints it (trimmed).
func podJSON(_ name: String, namespace: String = "prod", ip: String, node: String = "node-1", start: String,
             containerID: String, image: String = "registry.example/web:1.4", replicaSet: String? = "web-5d8f7c9b4",
             hash: String = "5d8f7c9b4", serviceAccount: String = "web", phase: String = "Running",
             finishedAt: String? = nil, privileged: Bool = false) -> String {
    let owner = replicaSet.map { #","ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"\#($0)","controller":true,"uid":"u1"}]"# } ?? ""
    let state = finishedAt.map { #"{"terminated":{"exitCode":0,"finishedAt":"\#($0)"}}"# } ?? #"{"running":{"startedAt":"\#(start)"}}"#
    return #"""
    {"apiVersion":"v1","kind":"Pod","metadata":{"name":"\#(name)","namespace":"\#(namespace)","uid":"uid-\#(name)","creationTimestamp":"\#(start)","labels":{"app":"web","pod-template-hash":"\#(hash)"}\#(owner)},
     "spec":{"nodeName":"\#(node)","serviceAccountName":"\#(serviceAccount)","containers":[{"name":"web","image":"\#(image)","securityContext":{"privileged":\#(privileged)}}]},
     "status":{"phase":"\#(phase)","hostIP":"192.168.1.10","podIP":"\#(ip)","podIPs":[{"ip":"\#(ip)"}],"startTime":"\#(start)",
       "containerStatuses":[{"name":"web","image":"\#(image)","imageID":"registry.example/web@sha256:00","containerID":"containerd://\#(containerID)","state":\#(state)}]}}
    """#
}

func podList(_ pods: [String]) -> String {
    #"{"apiVersion":"v1","kind":"List","metadata":{"resourceVersion":""},"items":[\#(pods.joined(separator: ",\n"))]}"#
}

let cidA = String(repeating: "a1", count: 32)
let cidB = String(repeating: "b2", count: 32)

func zeekConn(_ ts: String, from ip: String, to dest: String = "203.0.113.9", port: Int = 4444) -> String {
    #"{"ts":"\#(ts)","uid":"Cx","id.orig_h":"\#(ip)","id.orig_p":40000,"id.resp_h":"\#(dest)","id.resp_p":\#(port),"proto":"tcp","conn_state":"S0"}"#
}

func tetragonExec(_ time: String, docker: String) -> String {
    #"{"process_exec":{"process":{"pid":7,"uid":0,"cwd":"/","binary":"/bin/sh","arguments":"-c id","docker":"\#(docker)"},"parent":{"binary":"/usr/bin/containerd-shim-runc-v2"}},"node_name":"","time":"\#(time)"}"#
}

func auditPod(_ id: Int, verb: String, name: String, subresource: String? = nil, time: String, request: String? = nil,
              response: String? = nil, code: Int = 200) -> String {
    let sub = subresource.map { #","subresource":"\#($0)""# } ?? ""
    let req = request.map { #","requestObject":\#($0)"# } ?? ""
    let resp = response.map { #","responseObject":\#($0)"# } ?? ""
    return #"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"a-\#(id)","stage":"ResponseComplete","verb":"\#(verb)","user":{"username":"system:node:node-1"},"sourceIPs":["192.168.1.10"],"objectRef":{"resource":"pods","namespace":"prod","name":"\#(name)","apiVersion":"v1"\#(sub)},"responseStatus":{"code":\#(code)},"requestReceivedTimestamp":"\#(time)","stageTimestamp":"\#(time)"\#(req)\#(resp)}"#
}

func nanos(_ s: String) -> Int64 {
    Array(s.utf8).withUnsafeBufferPointer { Timestamps.parseRFC3339($0)! }
}

func loadInventory(_ text: String) throws -> Inventory {
    var inv = Inventory()
    try InventoryFiles.load(bytes: Array(text.utf8), name: "inventory.json", into: &inv)
    return inv
}

let anyNetworkRule = """
title: Outbound connection
id: 33333333-3333-4333-8333-333333333333
logsource: {category: network_connection}
detection:
    selection:
        Initiated: 'true'
    condition: selection
level: medium
"""

let shellRule = """
title: Shell in container
id: 44444444-4444-4444-8444-444444444444
logsource: {category: process_creation}
detection:
    selection:
        Image|endswith: /sh
    condition: selection
level: high
"""

let privilegedPodRule = """
title: Privileged pod in inventory
id: 55555555-5555-4555-8555-555555555555
logsource: {product: kubernetes, service: inventory}
detection:
    selection:
        spec.containers.securityContext.privileged: true
    condition: selection
level: high
"""

/// A scan over files in a temporary folder with inventories preloaded, as `scan --inventory`.
func scanWithInventory(rules: String, inventories: [String: String] = [:], files: [String: String]) throws -> (alerts: [Alert], stats: ScanStats, problems: [String]) {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bulkhead-inv-\(UUID().uuidString)")
    let inputs = dir.appendingPathComponent("inputs")
    try FileManager.default.createDirectory(at: inputs, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let loaded = RuleLoader().load(yaml: rules, file: "rules.yml")
    let engine = Engine(ruleSet: RuleSet(documents: loaded.documents))
    for (name, text) in inventories {
        let url = dir.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        try InventoryFiles.load(path: url.path, into: &engine.inventory)
    }
    for (name, text) in files { try Data(text.utf8).write(to: inputs.appendingPathComponent(name)) }
    var alerts: [Alert] = [], problems: [String] = []
    let pipeline = ScanPipeline(engine: engine, onAlert: { alerts.append($0) }, onProblem: { problems.append($0) })
    pipeline.scan(paths: [inputs.path])
    return (alerts, pipeline.stats, problems)
}

@Suite struct InventoryTests {
    @Test func ipReuseResolvesByEventTime() throws {
        // old-1 held 10.1.0.7 until it finished; new-1 got the same IP later.
        var inv = try loadInventory(podList([
            podJSON("old-1", ip: "10.1.0.7", start: "2026-01-01T10:00:00Z", containerID: cidA, replicaSet: "batch", phase: "Succeeded",
                    finishedAt: "2026-01-01T11:00:00Z"),
            podJSON("new-1", namespace: "shop", ip: "10.1.0.7", node: "node-2", start: "2026-01-01T12:00:00Z", containerID: cidB),
        ]))
        #expect(inv.pod(ip: "10.1.0.7", at: nanos("2026-01-01T10:30:00Z"))?.description == "prod/old-1")
        #expect(inv.pod(ip: "10.1.0.7", at: nanos("2026-01-01T11:30:00Z")) == nil) // released, not yet reused
        #expect(inv.pod(ip: "10.1.0.7", at: nanos("2026-01-01T12:30:00Z"))?.description == "shop/new-1")
        #expect(inv.pod(ip: "10.1.0.7", at: nanos("2026-01-01T09:00:00Z")) == nil) // before anything known
        #expect(inv.pod(ip: "10.1.0.7", at: nil)?.description == "shop/new-1")

        // A delete ends the interval; a third pod reuses the IP after it.
        inv.podDeleted(.init(namespace: "shop", name: "new-1"), at: nanos("2026-01-01T13:00:00Z"))
        var third = PodSummary(namespace: "prod", name: "third")
        third.ips = ["10.1.0.7"]
        inv.add(pod: third, observedAt: nanos("2026-01-01T14:00:00Z"))
        #expect(inv.pod(ip: "10.1.0.7", at: nanos("2026-01-01T12:59:00Z"))?.description == "shop/new-1")
        #expect(inv.pod(ip: "10.1.0.7", at: nanos("2026-01-01T13:30:00Z")) == nil)
        #expect(inv.pod(ip: "10.1.0.7", at: nanos("2026-01-01T14:00:01Z"))?.description == "prod/third")

        let e = inv.resolve(entity: Entity(values: ["source_ip": "10.1.0.7"]), time: nanos("2026-01-01T12:30:00Z"))
        #expect(e.values == ["source_ip": "10.1.0.7", "pod": "new-1", "namespace": "shop", "node": "node-2",
                             "workload": "web", "service_account": "shop/web", "image": "registry.example/web:1.4"])
    }

    @Test func resolutionOnlyFillsMissingFieldsAndNeverMixesPods() throws {
        let inv = try loadInventory(podList([podJSON("web-5d8f7c9b4-x2x", ip: "10.1.0.8", start: "2026-01-01T10:00:00Z", containerID: cidA)]))
        let t = nanos("2026-01-01T10:05:00Z")
        // The record names another pod (Hubble ingress: the entity is the destination): untouched.
        let other = Entity(values: ["source_ip": "10.1.0.8", "pod": "db-0", "namespace": "prod"])
        #expect(inv.resolve(entity: other, time: t) == other)
        // A node the record gives wins over the inventory's.
        let partial = inv.resolve(entity: Entity(values: ["source_ip": "10.1.0.8", "node": "from-record"]), time: t)
        #expect(partial["node"] == "from-record")
        #expect(partial["pod"] == "web-5d8f7c9b4-x2x")
        #expect(partial["workload"] == "web")
        // Not a network record: the source IP is not looked up.
        #expect(inv.resolve(entity: Entity(values: ["source_ip": "10.1.0.8"]), time: t, byIP: false)["pod"] == nil)
        // Host IP names the node.
        #expect(inv.resolve(entity: Entity(values: ["source_ip": "192.168.1.10"]), time: t)["node"] == "node-1")
    }

    @Test func containerIDResolvesFromPodsListAndDockerInspect() throws {
        let pods = try loadInventory(podList([podJSON("web-5d8f7c9b4-x2x", ip: "10.1.0.8", start: "2026-01-01T10:00:00Z", containerID: cidA)]))
        for id in [cidA, String(cidA.prefix(12)), String(cidA.prefix(31)), "containerd://" + cidA] {
            let e = pods.resolve(entity: Entity(values: ["container_id": id]), time: nil, byIP: false)
            #expect(e["pod"] == "web-5d8f7c9b4-x2x", "\(id)")
            #expect(e["namespace"] == "prod")
            #expect(e["image"] == "registry.example/web:1.4")
            #expect(e["node"] == "node-1")
            #expect(e["container_name"] == "web")
        }
        let inspect = #"""
        [{"Id":"\#(cidB)","Name":"/k8s_app_api-0_billing_uid_0","Created":"2026-01-01T09:00:00Z",
          "State":{"Running":true,"StartedAt":"2026-01-01T09:00:01Z","FinishedAt":"0001-01-01T00:00:00Z"},
          "Config":{"Image":"registry.example/api:2","Labels":{"io.kubernetes.pod.name":"api-0","io.kubernetes.pod.namespace":"billing","io.kubernetes.container.name":"app"}},
          "HostConfig":{"Privileged":false,"NetworkMode":"container:ffff"},"NetworkSettings":{"IPAddress":"","Networks":{}}},
         {"Id":"\#(cidA)","Name":"/standalone","State":{"Running":true,"StartedAt":"2026-01-01T09:00:00Z"},
          "Config":{"Image":"nginx:1.27","Labels":{}},"HostConfig":{},"NetworkSettings":{"IPAddress":"172.17.0.2","Networks":{"bridge":{"IPAddress":"172.17.0.2"}}}}]
        """#
        let docker = try loadInventory(inspect)
        let e = docker.resolve(entity: Entity(values: ["container_id": String(cidB.prefix(12))]), time: nil, byIP: false)
        #expect(e.values == ["container_id": String(cidB.prefix(12)), "container_name": "k8s_app_api-0_billing_uid_0",
                             "image": "registry.example/api:2", "pod": "api-0", "namespace": "billing"])
        // A plain Docker container's IP names the container.
        let net = docker.resolve(entity: Entity(values: ["source_ip": "172.17.0.2"]), time: nanos("2026-01-01T10:00:00Z"))
        #expect(net["container_id"] == cidA)
        #expect(net["container_name"] == "standalone")
        #expect(net["image"] == "nginx:1.27")
    }

    @Test func inventoryFileShapes() throws {
        var inv = Inventory()
        let single = try InventoryFiles.load(bytes: Array(podJSON("one", ip: "10.9.0.1", start: "2026-01-01T00:00:00Z", containerID: cidA).utf8),
                                             name: "pod.json", into: &inv)
        #expect(single == .init(pods: 1))
        let podListKind = podList([podJSON("two", ip: "10.9.0.2", start: "2026-01-01T00:00:00Z", containerID: cidB)])
            .replacingOccurrences(of: #""kind":"List""#, with: #""kind":"PodList""#)
        #expect(try InventoryFiles.load(bytes: Array(podListKind.utf8), name: "pods.json", into: &inv) == .init(pods: 1))
        #expect(inv.podCount == 2)
        #expect(throws: InventoryFiles.Failure.self) {
            try InventoryFiles.load(bytes: Array(#"[{"kind":"Deployment"}]"#.utf8), name: "x.json", into: &inv)
        }
        #expect(throws: InventoryFiles.Failure.self) {
            try InventoryFiles.load(bytes: Array("{not json".utf8), name: "x.json", into: &inv)
        }
    }

    @Test func scanWithInventoryFileAttributesNetworkAndRuntimeRecords() throws {
        let pods = podList([
            podJSON("web-5d8f7c9b4-x2x", ip: "10.1.0.8", start: "2026-01-01T10:00:00Z", containerID: cidA),
            podJSON("api-0", namespace: "billing", ip: "10.1.0.9", node: "node-3", start: "2026-01-01T10:00:00Z", containerID: cidB,
                    replicaSet: nil, serviceAccount: "api"),
        ])
        let run = try scanWithInventory(rules: anyNetworkRule + "\n---\n" + shellRule, inventories: ["pods.json": pods], files: [
            "conn.jsonl": [zeekConn("2026-01-01T10:05:00Z", from: "10.1.0.8"), zeekConn("2026-01-01T10:06:00Z", from: "10.99.0.1")].joined(separator: "\n"),
            "tetragon.jsonl": tetragonExec("2026-01-01T10:07:00Z", docker: String(cidB.prefix(31))),
        ])
        #expect(run.problems.isEmpty, "\(run.problems)")
        let conn = run.alerts.filter { $0.source == "zeek_conn" }
        #expect(conn.count == 2)
        #expect(conn.first { $0.entity["source_ip"] == "10.1.0.8" }?.entity.values ==
                ["source_ip": "10.1.0.8", "pod": "web-5d8f7c9b4-x2x", "namespace": "prod", "node": "node-1", "workload": "web",
                 "service_account": "prod/web", "image": "registry.example/web:1.4"])
        #expect(conn.first { $0.entity["source_ip"] == "10.99.0.1" }?.entity["pod"] == nil)
        let exec = try #require(run.alerts.first { $0.source == "tetragon" })
        #expect(exec.entity["pod"] == "api-0")
        #expect(exec.entity["namespace"] == "billing")
        #expect(exec.entity["node"] == "node-3")
        #expect(exec.entity["image"] == "registry.example/web:1.4")
        #expect(exec.entity["service_account"] == "billing/api")
        #expect(exec.entity["workload"] == nil)
    }

    @Test func podsListAsScanInputIsRecognizedMatchedAndLearned() throws {
        let pods = podList([
            podJSON("web-5d8f7c9b4-x2x", ip: "10.1.0.8", start: "2026-01-01T10:00:00Z", containerID: cidA),
            podJSON("priv-6c4d8-abcde", ip: "10.1.0.11", start: "2026-01-01T10:00:00Z", containerID: cidB, replicaSet: "priv-6c4d8", hash: "6c4d8",
                    serviceAccount: "default", privileged: true),
        ])
        // Files are read in name order: the inventory first, then the records it explains.
        let run = try scanWithInventory(rules: anyNetworkRule + "\n---\n" + privilegedPodRule, files: [
            "1-pods.json": pods,
            "2-conn.jsonl": zeekConn("2026-01-01T10:05:00Z", from: "10.1.0.11"),
        ])
        #expect(run.problems.isEmpty, "\(run.problems)")
        #expect(run.stats.recordsBySource["k8s_pod"] == 2)
        #expect(run.stats.formatByFile.contains { $0.file.hasSuffix("1-pods.json") })
        let priv = run.alerts.filter { $0.rule.title == "Privileged pod in inventory" }
        #expect(priv.count == 1)
        #expect(priv.first?.entity.values == ["pod": "priv-6c4d8-abcde", "namespace": "prod", "node": "node-1", "workload": "priv",
                                              "service_account": "prod/default", "image": "registry.example/web:1.4"])
        let conn = try #require(run.alerts.first { $0.source == "zeek_conn" })
        #expect(conn.entity["pod"] == "priv-6c4d8-abcde")
        #expect(conn.entity["workload"] == "priv")
    }

    @Test func learnedFromAuditStream() throws {
        let created = #"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"job-x","namespace":"prod","uid":"uid-job-x","ownerReferences":[{"kind":"Job","name":"nightly-28000000","controller":true}]},"spec":{"serviceAccountName":"batch","containers":[{"name":"main","image":"registry.example/job:3"}]},"status":{"phase":"Pending"}}"#
        let binding = #"{"kind":"Binding","apiVersion":"v1","metadata":{"name":"job-x"},"target":{"kind":"Node","name":"node-7"}}"#
        let status = #"{"metadata":{"uid":"uid-job-x"},"status":{"podIP":"10.1.2.3","podIPs":[{"ip":"10.1.2.3"}],"startTime":"2026-01-01T10:00:01Z","containerStatuses":[{"name":"main","image":"registry.example/job:3","containerID":"containerd://\#(cidA)","state":{"running":{}}}]}}"#
        let reused = #"{"metadata":{"uid":"uid-other"},"status":{"podIP":"10.1.2.3"}}"#
        let audit = [
            auditPod(1, verb: "create", name: "job-x", time: "2026-01-01T10:00:00Z", request: created, response: created.replacingOccurrences(of: "Pending", with: "Pending")),
            auditPod(2, verb: "create", name: "job-x", subresource: "binding", time: "2026-01-01T10:00:00.5Z", request: binding, code: 201),
            auditPod(3, verb: "patch", name: "job-x", subresource: "status", time: "2026-01-01T10:00:03Z", request: status),
            auditPod(4, verb: "delete", name: "job-x", time: "2026-01-01T11:00:00Z"),
            auditPod(5, verb: "patch", name: "other", subresource: "status", time: "2026-01-01T12:00:00Z", request: reused),
            auditPod(6, verb: "patch", name: "denied", subresource: "status", time: "2026-01-01T12:00:00Z", request: reused, code: 403),
        ].joined(separator: "\n")
        let run = try scanWithInventory(rules: anyNetworkRule + "\n---\n" + shellRule, files: [
            "1-audit.jsonl": audit,
            "2-conn.jsonl": [zeekConn("2026-01-01T10:00:02Z", from: "10.1.2.3"),  // before the IP was seen
                             zeekConn("2026-01-01T10:30:00Z", from: "10.1.2.3"),
                             zeekConn("2026-01-01T11:30:00Z", from: "10.1.2.3"),  // deleted, not yet reused
                             zeekConn("2026-01-01T12:30:00Z", from: "10.1.2.3")].joined(separator: "\n"),
            "3-tetragon.jsonl": tetragonExec("2026-01-01T10:30:00Z", docker: String(cidA.prefix(31))),
        ])
        #expect(run.problems.isEmpty, "\(run.problems)")
        let conn = run.alerts.filter { $0.source == "zeek_conn" }.sorted { $0.time! < $1.time! }
        #expect(conn.map { $0.entity["pod"] } == [nil, "job-x", nil, "other"])
        #expect(conn[1].entity.values == ["source_ip": "10.1.2.3", "pod": "job-x", "namespace": "prod", "node": "node-7",
                                          "workload": "nightly-28000000", "service_account": "prod/batch", "image": "registry.example/job:3"])
        let exec = try #require(run.alerts.first { $0.source == "tetragon" })
        #expect(exec.entity["pod"] == "job-x")
        #expect(exec.entity["node"] == "node-7")
        #expect(exec.entity["image"] == "registry.example/job:3")
    }

    @Test func recordsBeforeTheInventoryInScanOrderDoNotResolve() throws {
        let pods = podList([podJSON("web-5d8f7c9b4-x2x", ip: "10.1.0.8", start: "2026-01-01T10:00:00Z", containerID: cidA)])
        let run = try scanWithInventory(rules: anyNetworkRule, files: [
            "1-conn.jsonl": zeekConn("2026-01-01T10:05:00Z", from: "10.1.0.8"),
            "2-pods.json": pods,
        ])
        #expect(run.alerts.count == 1)
        #expect(run.alerts.first?.entity["pod"] == nil)
    }
}
