import BulkheadEvent

/// One container from `docker inspect` (the framer splits the array into elements). The record
/// is rewritten to carry an `entity` object (name without its leading `/`, Kubernetes pod and
/// namespace from the kubelet's `io.kubernetes.*` labels).
public struct DockerInspectFormat: JSONFormat {
    public let mapping = SourceMapping.load("docker_inspect")
    public init() {}

    static let id = FieldPath("Id")
    static let name = FieldPath("Name")
    static let config = FieldPath("Config")
    static let state = FieldPath("State")
    static let hostConfig = FieldPath("HostConfig")
    static let configImage = FieldPath("Config.Image")
    static let image = FieldPath("Image")
    static let podName = FieldPath("Config.Labels.io.kubernetes.pod.name")
    static let podNamespace = FieldPath("Config.Labels.io.kubernetes.pod.namespace")
    static let k8sContainer = FieldPath("Config.Labels.io.kubernetes.container.name")
    static let swarmService = FieldPath("Config.Labels.com.docker.swarm.service.name")
    static let composeService = FieldPath("Config.Labels.com.docker.compose.service")
    static let nodeName = FieldPath("Node.Name")
    static let hostname = FieldPath("Config.Hostname")

    public func sniff(_ r: EventView) -> Bool {
        r.has(Self.id, prefix: "") && r.exists(Self.config) && (r.exists(Self.hostConfig) || r.exists(Self.state))
    }

    public func decode(_ r: EventView, into out: inout [UInt8]) -> DecodeResult {
        guard r.nodes[0].kind == .object, r.exists(Self.id), r.exists(Self.config) else {
            return .invalid("not a docker inspect container (no Id / Config)")
        }
        var w = RecordRewriter(copying: r, reusing: &out)
        w.openObject("entity")
        w.addText("container_id", r, Self.id)
        var name = r.firstString(Self.name)
        if let n = name, n.hasPrefix("/") { name = String(n.dropFirst()) }
        w.add("container_name", name)
        if let n = r.first(Self.configImage) { w.addText("image", r, n) } else { w.addText("image", r, Self.image) }
        w.addText("pod", r, Self.podName)
        w.addText("namespace", r, Self.podNamespace)
        if let n = r.first(Self.swarmService) { w.addText("workload", r, n) } else { w.addText("workload", r, Self.composeService) }
        w.addText("node", r, Self.nodeName)
        w.closeObject()
        w.finish(into: &out)
        return .rewritten(kind: 0)
    }
}
