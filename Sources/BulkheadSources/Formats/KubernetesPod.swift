import BulkheadEvent

/// Kubernetes Pod objects: `kubectl get pods -A -o json` (a v1 `List`, split into its items by
/// the framer) or `kubectl get pod NAME -o json`. Rules can match them (logsource product
/// `kubernetes`, service `inventory`: privileged pods, host namespaces, ...), and the scan learns
/// pod IPs and container ids from them for entity resolution. The record is rewritten to carry
/// an `entity` object (namespace, pod, node, workload, service account, first image).
public struct KubernetesPodFormat: JSONFormat {
    public let mapping = SourceMapping.load("k8s_pod")
    public init() {}

    static let kind = FieldPath("kind")
    static let metadata = FieldPath("metadata")

    public func sniff(_ r: EventView) -> Bool {
        r.has(Self.kind, equalTo: "Pod") && r.exists(Self.metadata)
    }

    public func decode(_ r: EventView, into out: inout [UInt8]) -> DecodeResult {
        guard r.nodes[0].kind == .object, r.has(Self.kind, equalTo: "Pod") else {
            return .invalid("not a Kubernetes Pod (no kind Pod)")
        }
        let pod = PodSummary(r, at: 0)
        var w = RecordRewriter(copying: r, reusing: &out)
        w.openObject("entity")
        w.add("namespace", pod.namespace)
        w.add("pod", pod.name)
        w.add("node", pod.node)
        w.add("workload", pod.workload)
        if let sa = pod.serviceAccount { w.add("service_account", (pod.namespace ?? "default") + "/" + sa) }
        w.add("image", pod.images.first ?? pod.containers.first?.image)
        w.closeObject()
        w.finish(into: &out)
        return .rewritten(kind: 0)
    }
}

/// One container of a pod (`status.containerStatuses[]`, init and ephemeral containers too).
public struct ContainerSummary: Sendable, Hashable {
    /// Container id without its runtime prefix (`containerd://`, `docker://`, `cri-o://`).
    public var id: String
    public var name: String?
    public var image: String?
    public init(id: String, name: String? = nil, image: String? = nil) {
        self.id = id
        self.name = name
        self.image = image
    }
}

/// What entity resolution needs from a Pod object, or from a partial one (a status patch in an
/// audit event): every field is optional.
public struct PodSummary: Sendable, Hashable {
    public var namespace: String?
    public var name: String?
    public var uid: String?
    public var node: String?
    /// Owning workload: Deployment (from its ReplicaSet), DaemonSet, StatefulSet, Job, ...
    public var workload: String?
    /// `spec.serviceAccountName` (a bare name; entities write `namespace/name`).
    public var serviceAccount: String?
    public var ips: [String] = []
    public var hostIP: String?
    public var hostNetwork = false
    public var phase: String?
    public var images: [String] = []
    public var containers: [ContainerSummary] = []
    /// Nanoseconds since the epoch.
    public var created: Int64?
    public var started: Int64?
    /// When a finished pod (phase Succeeded/Failed) released its IP: its last container's finish.
    public var finished: Int64?
    public var deletion: Int64?

    public init(namespace: String? = nil, name: String? = nil) {
        self.namespace = namespace
        self.name = name
    }

    /// Reads the Pod (or partial Pod) object at node `obj`.
    public init(_ r: EventView, at obj: Int) {
        let metadata = r.child(obj, "metadata")
        let spec = r.child(obj, "spec")
        let status = r.child(obj, "status")
        namespace = r.text(r.child(metadata, "namespace"))
        name = r.text(r.child(metadata, "name"))
        uid = r.text(r.child(metadata, "uid"))
        created = Self.time(r, r.child(metadata, "creationTimestamp"))
        deletion = Self.time(r, r.child(metadata, "deletionTimestamp"))
        let labels = r.child(metadata, "labels")
        if let owners = r.child(metadata, "ownerReferences"), r.kind(owners) == .array {
            var chosen: Int?
            for o in r.elements(owners) {
                if chosen == nil || r.isTrue(r.child(o, "controller")) { chosen = o }
            }
            if let o = chosen {
                workload = Self.workload(kind: r.text(r.child(o, "kind")), name: r.text(r.child(o, "name")),
                                         podTemplateHash: r.text(r.child(labels, "pod-template-hash")))
            }
        }
        self.node = r.text(r.child(spec, "nodeName"))
        serviceAccount = r.text(r.child(spec, "serviceAccountName")) ?? r.text(r.child(spec, "serviceAccount"))
        hostNetwork = r.isTrue(r.child(spec, "hostNetwork"))
        for key in ["initContainers", "containers", "ephemeralContainers"] {
            guard let list = r.member(spec, key), r.kind(list) == .array else { continue }
            for c in r.elements(list) { if let image = r.text(r.child(c, "image")) { images.append(image) } }
        }
        phase = r.text(r.child(status, "phase"))
        hostIP = r.text(r.child(status, "hostIP"))
        started = Self.time(r, r.child(status, "startTime"))
        if let ip = r.text(r.child(status, "podIP")), !ip.isEmpty { ips.append(ip) }
        if let list = r.child(status, "podIPs"), r.kind(list) == .array {
            for e in r.elements(list) {
                if let ip = r.text(r.child(e, "ip")), !ip.isEmpty, !ips.contains(ip) { ips.append(ip) }
            }
        }
        var latestFinish: Int64?
        for key in ["initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"] {
            guard let list = r.member(status, key), r.kind(list) == .array else { continue }
            for c in r.elements(list) {
                let finishedAt = Self.time(r, r.child(r.child(r.child(c, "state"), "terminated"), "finishedAt"))
                if let f = finishedAt, latestFinish.map({ f > $0 }) ?? true { latestFinish = f }
                guard let id = EnrichText.stripRuntime(r.text(r.child(c, "containerID"))), !id.isEmpty else { continue }
                containers.append(ContainerSummary(id: id, name: r.text(r.child(c, "name")), image: r.text(r.child(c, "image"))))
            }
        }
        if phase == "Succeeded" || phase == "Failed" { finished = latestFinish }
    }

    static func time(_ r: EventView, _ node: Int?) -> Int64? {
        guard let node, r.kind(node) == .string else { return nil }
        return r.withText(node) { Timestamps.parseRFC3339($0) }
    }

    /// The workload a pod's controller reference names: a ReplicaSet `web-5d8f7c9b4` made by a
    /// Deployment becomes `web` (its `pod-template-hash` suffix dropped).
    public static func workload(kind: String?, name: String?, podTemplateHash: String?) -> String? {
        guard let name else { return nil }
        if kind == "Node" { return nil } // static (mirror) pods
        if kind == "ReplicaSet", let hash = podTemplateHash, name.hasSuffix("-" + hash) {
            return String(name.dropLast(hash.count + 1))
        }
        return name
    }
}

/// One container from `docker inspect` (or a Docker container event), for entity resolution.
public struct DockerContainerSummary: Sendable, Hashable {
    public var id: String
    public var name: String?
    public var image: String?
    public var ips: [String] = []
    /// From the kubelet's `io.kubernetes.*` labels.
    public var podName: String?
    public var podNamespace: String?
    public var node: String?
    public var started: Int64?
    /// Set when the container is no longer running (its IP is free again).
    public var finished: Int64?

    public init(id: String, name: String? = nil, image: String? = nil) {
        self.id = id
        self.name = name
        self.image = image
    }

    /// Reads a `docker inspect` container object at node `obj`; nil without an `Id`.
    public init?(inspect r: EventView, at obj: Int) {
        guard let id = r.text(r.child(obj, "Id")), !id.isEmpty else { return nil }
        self.id = id
        var n = r.text(r.child(obj, "Name"))
        if let s = n, s.hasPrefix("/") { n = String(s.dropFirst()) }
        name = n
        let config = r.child(obj, "Config")
        image = r.text(r.child(config, "Image")) ?? r.text(r.child(obj, "Image"))
        let labels = r.child(config, "Labels")
        podName = r.text(r.member(labels, "io.kubernetes.pod.name"))
        podNamespace = r.text(r.member(labels, "io.kubernetes.pod.namespace"))
        self.node = r.text(r.child(r.child(obj, "Node"), "Name"))
        let state = r.child(obj, "State")
        started = PodSummary.time(r, r.child(state, "StartedAt")).flatMap { $0 > 0 ? $0 : nil }
        if r.isFalse(r.child(state, "Running")) {
            finished = PodSummary.time(r, r.child(state, "FinishedAt")).flatMap { $0 > 0 ? $0 : nil }
        }
        let settings = r.child(obj, "NetworkSettings")
        if let ip = r.text(r.child(settings, "IPAddress")), !ip.isEmpty { ips.append(ip) }
        if let networks = r.child(settings, "Networks"), r.kind(networks) == .object {
            for (_, value) in r.members(networks) {
                for key in ["IPAddress", "GlobalIPv6Address"] {
                    if let ip = r.text(r.member(value, key)), !ip.isEmpty, !ips.contains(ip) { ips.append(ip) }
                }
            }
        }
    }

    /// Reads a Docker container event (`docker events`): `Actor.ID` with `Actor.Attributes`
    /// `name`, `image` and kubelet labels. Nil for other event types.
    public init?(event r: EventView) {
        guard r.equals(r.child(0, "Type"), "container"), let actor = r.child(0, "Actor"),
              let id = r.text(r.child(actor, "ID")), !id.isEmpty else { return nil }
        self.id = id
        let attributes = r.child(actor, "Attributes")
        name = r.text(r.child(attributes, "name"))
        image = r.text(r.child(attributes, "image"))
        podName = r.text(r.member(attributes, "io.kubernetes.pod.name"))
        podNamespace = r.text(r.member(attributes, "io.kubernetes.pod.namespace"))
    }
}

extension EventView {
    func isTrue(_ node: Int?) -> Bool { node.map { kind($0) == .true } ?? false }
    func isFalse(_ node: Int?) -> Bool { node.map { kind($0) == .false } ?? false }

    /// The value of `key` (any text, dots allowed) directly inside the object `node`.
    func member(_ node: Int?, _ key: String) -> Int? {
        guard let node, nodes[node].kind == .object else { return nil }
        let want = Array(key.utf8)
        var k = node + 1
        let after = Int(nodes[node].after)
        while k < after {
            let same = withText(k) { v in v.count == want.count && zip(v, want).allSatisfy { $0 == $1 } }
            if same { return k + 1 }
            k = Int(nodes[k + 1].after)
        }
        return nil
    }

    /// Elements of the array `node`.
    func elements(_ node: Int) -> [Int] {
        guard nodes[node].kind == .array else { return [] }
        var out: [Int] = []
        var c = node + 1
        let end = Int(nodes[node].after)
        while c < end {
            out.append(c)
            c = Int(nodes[c].after)
        }
        return out
    }

    /// Key/value node pairs of the object `node`.
    func members(_ node: Int) -> [(key: Int, value: Int)] {
        guard nodes[node].kind == .object else { return [] }
        var out: [(Int, Int)] = []
        var k = node + 1
        let end = Int(nodes[node].after)
        while k < end {
            out.append((k, k + 1))
            k = Int(nodes[k + 1].after)
        }
        return out
    }
}
