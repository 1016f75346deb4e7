import BulkheadEvent
import BulkheadSources

/// What the scan knows about pods and containers: pod IP → pod (with time, since IPs are
/// reused), container id → container and pod. Filled from inventories (`kubectl get pods -A -o
/// json`, `docker inspect`) and learned from records (Kubernetes audit pod events, Pod objects,
/// docker inspect / container events). Used to complete alert entities: network and DNS
/// records from a pod IP get the pod; runtime records with only a container id get pod,
/// namespace, image and node. No I/O. Codable: scale-out workers checkpoint it with the rest
/// of a partition's state.
public struct Inventory: Sendable, Codable {
    public struct PodKey: Hashable, Sendable, CustomStringConvertible, Codable {
        public var namespace: String
        public var name: String
        public init(namespace: String, name: String) {
            self.namespace = namespace
            self.name = name
        }
        public var description: String { "\(namespace)/\(name)" }
    }

    struct Pod: Sendable, Codable {
        var node: String?
        var workload: String?
        var serviceAccount: String?
        var images: [String] = []
    }

    struct Container: Sendable, Codable {
        var name: String?
        var image: String?
        var pod: PodKey?
        var node: String?
    }

    enum Owner: Hashable, Sendable, Codable {
        case pod(PodKey)
        case container(String)
    }

    /// One holder of an IP: from `start` (nil: since before anything we know) until `end`
    /// (deleted / finished), or until the next assignment of the same IP starts.
    struct Assignment: Sendable, Codable {
        var owner: Owner
        var start: Int64?
        var lastSeen: Int64?
        var end: Int64?
    }

    var pods: [PodKey: Pod] = [:]
    var containers: [String: Container] = [:]
    /// 12-hex short id → full id.
    var shortIDs: [String: String] = [:]
    /// IP → assignments ordered by start.
    var assignments: [String: [Assignment]] = [:]
    /// Pod → the IPs it held (for deletes).
    var ipsByPod: [PodKey: Set<String>] = [:]
    /// Node IP (`status.hostIP`) → node name.
    var nodeIPs: [String: String] = [:]

    public init() {}

    public var isEmpty: Bool { pods.isEmpty && containers.isEmpty && assignments.isEmpty && nodeIPs.isEmpty }
    public var podCount: Int { pods.count }
    public var containerCount: Int { containers.count }
    public var ipCount: Int { assignments.count }

    // MARK: Learning

    /// Adds what a Pod object says. `observedAt` is the time of the record that carried it
    /// (an audit event); nil for a snapshot (an inventory), whose IPs count from the pod's start.
    public mutating func add(pod p: PodSummary, observedAt: Int64? = nil) {
        guard let name = p.name else { return }
        let key = PodKey(namespace: p.namespace ?? "default", name: name)
        var pod = pods[key] ?? Pod()
        if let n = p.node { pod.node = n }
        if let w = p.workload { pod.workload = w }
        if let sa = p.serviceAccount { pod.serviceAccount = sa }
        for image in p.images where !pod.images.contains(image) { pod.images.append(image) }
        pods[key] = pod
        for c in p.containers {
            add(containerID: c.id, Container(name: c.name, image: c.image, pod: key, node: pod.node))
        }
        if let host = p.hostIP, let node = p.node ?? pod.node { nodeIPs[host] = node }
        // Host-network pods share the node's IP: the IP names the node, not the pod.
        if p.hostNetwork { return }
        // Learned from a record: the IP is the pod's from when it was first seen. From a
        // snapshot: since the pod started.
        let start = observedAt ?? p.started ?? p.created
        let end = p.finished ?? (observedAt == nil ? p.deletion : nil)
        for ip in p.ips where ip != p.hostIP {
            assign(ip, to: .pod(key), start: start, seen: observedAt, end: end)
        }
    }

    /// Adds a container (docker inspect, container events). Its IPs name the pod when the
    /// kubelet's labels say which (the pause container holds the pod's IP), else the container.
    public mutating func add(container c: DockerContainerSummary, observedAt: Int64? = nil) {
        var key: PodKey?
        if let name = c.podName {
            let k = PodKey(namespace: c.podNamespace ?? "default", name: name)
            key = k
            var pod = pods[k] ?? Pod()
            if pod.node == nil { pod.node = c.node }
            pods[k] = pod
        }
        var container = containers[c.id] ?? Container()
        if let n = c.name { container.name = n }
        if let i = c.image { container.image = i }
        if let k = key { container.pod = k }
        if let n = c.node { container.node = n }
        add(containerID: c.id, container)
        let owner: Owner = key.map { .pod($0) } ?? .container(c.id)
        for ip in c.ips {
            assign(ip, to: owner, start: c.started ?? observedAt, seen: observedAt, end: c.finished)
        }
    }

    /// A pod was deleted at `time`: its IPs are free from then on (the last delete counts:
    /// a graceful delete is followed by the kubelet's final one).
    public mutating func podDeleted(_ key: PodKey, at time: Int64) {
        for ip in ipsByPod[key] ?? [] {
            guard var list = assignments[ip] else { continue }
            for i in list.indices where list[i].owner == .pod(key) && (list[i].start ?? .min) <= time {
                list[i].end = max(list[i].end ?? .min, time)
            }
            assignments[ip] = list
        }
    }

    /// A pod was scheduled (audit `pods/binding`).
    public mutating func podBound(_ key: PodKey, node: String) {
        pods[key, default: Pod()].node = node
        for (id, c) in containers where c.pod == key && c.node == nil { containers[id]?.node = node }
    }

    mutating func add(containerID id: String, _ c: Container) {
        var merged = containers[id] ?? Container()
        if let n = c.name { merged.name = n }
        if let i = c.image { merged.image = i }
        if let p = c.pod { merged.pod = p }
        if let n = c.node { merged.node = n }
        containers[id] = merged
        if id.count > 12 { shortIDs[String(id.prefix(12))] = id }
    }

    mutating func assign(_ ip: String, to owner: Owner, start: Int64?, seen: Int64?, end: Int64?) {
        var list = assignments[ip] ?? []
        if let i = list.lastIndex(where: { $0.owner == owner }),
           list[i].end == nil || seen == nil || seen! <= list[i].end! {
            // The same holder again: widen what we know.
            if let s = start, list[i].start.map({ s < $0 }) ?? false { list[i].start = s }
            if let s = seen { list[i].lastSeen = max(list[i].lastSeen ?? .min, s) }
            if let e = end { list[i].end = max(list[i].end ?? .min, e) }
        } else {
            list.append(Assignment(owner: owner, start: start, lastSeen: seen, end: end))
            list.sort { ($0.start ?? .min) < ($1.start ?? .min) }
        }
        assignments[ip] = list
        if case .pod(let k) = owner { ipsByPod[k, default: []].insert(ip) }
    }

    /// Sources whose records teach the inventory (mapping ids).
    public static let learningSources: Set<String> = ["k8s_audit", "k8s_pod", "docker_inspect", "docker_events"]

    /// Whether `learn` could take anything from the record (cheap; a parallel scan sends only
    /// these records to the in-order stage that owns the inventory).
    public static func mightLearn(_ r: EventView, source: String) -> Bool {
        switch source {
        case "k8s_pod", "docker_inspect", "docker_events": return true
        case "k8s_audit": return r.has(resource, equalTo: "pods")
        default: return false
        }
    }

    /// Learns from one decoded record of source `source` at event time `time`.
    public mutating func learn(_ r: EventView, source: String, time: Int64?) {
        switch source {
        case "k8s_pod":
            add(pod: PodSummary(r, at: 0))
        case "docker_inspect":
            if let c = DockerContainerSummary(inspect: r, at: 0) { add(container: c) }
        case "docker_events":
            if let c = DockerContainerSummary(event: r) { add(container: c, observedAt: time) }
        case "k8s_audit":
            learnAudit(r, time: time)
        default:
            break
        }
    }

    static let resource = FieldPath("objectRef.resource")
    static let subresource = FieldPath("objectRef.subresource")
    static let refName = FieldPath("objectRef.name")
    static let refNamespace = FieldPath("objectRef.namespace")
    static let verb = FieldPath("verb")
    static let code = FieldPath("responseStatus.code")
    static let requestObject = FieldPath("requestObject")
    static let responseObject = FieldPath("responseObject")
    static let bindingTarget = FieldPath("requestObject.target.name")

    /// Pod events in the audit log: create (service account, workload, node), binding (node),
    /// status updates (pod IPs, container ids), delete (the pod's IPs are released).
    mutating func learnAudit(_ r: EventView, time: Int64?) {
        guard r.has(Self.resource, equalTo: "pods") else { return }
        if let n = r.first(Self.code), let code = Int(r.string(n)), code >= 300 { return }
        let verb = r.firstString(Self.verb) ?? ""
        let sub = r.firstString(Self.subresource)
        let namespace = r.firstString(Self.refNamespace) ?? "default"
        switch (verb, sub) {
        case ("delete", nil):
            guard let name = r.firstString(Self.refName), let time else { return }
            podDeleted(PodKey(namespace: namespace, name: name), at: time)
        case ("create", "binding"):
            guard let name = r.firstString(Self.refName), let node = r.firstString(Self.bindingTarget) else { return }
            podBound(PodKey(namespace: namespace, name: name), node: node)
        case ("create", nil), ("update", nil), ("patch", nil), ("update", "status"), ("patch", "status"), ("get", nil):
            // The full object in the response when the policy logs it; else the request (a
            // status patch carries only what changed).
            for path in [Self.responseObject, Self.requestObject] {
                guard let obj = r.first(path), r.kind(obj) == .object else { continue }
                var pod = PodSummary(r, at: obj)
                if pod.name == nil { pod.name = r.firstString(Self.refName) }
                if pod.namespace == nil { pod.namespace = namespace }
                guard pod.name != nil else { continue }
                add(pod: pod, observedAt: time)
                break
            }
        default:
            break
        }
    }

    // MARK: Resolution

    /// Formats whose `entity.source_ip` is the sender of network traffic (network connection,
    /// DNS, proxy, TLS, firewall records): the IP names the pod that sent it.
    public static func resolvesByIP(_ mapping: SourceMapping) -> Bool {
        mapping.kinds.contains { $0.logsource.category.map(networkCategories.contains) ?? false }
    }
    static let networkCategories: Set<String> = ["network_connection", "dns", "proxy", "tls", "firewall"]

    /// The holder of `ip` at `time` (ns since the epoch); without a time, the current holder.
    func owner(ip: String, at time: Int64?) -> Owner? {
        guard let list = assignments[ip], !list.isEmpty else { return nil }
        guard let t = time else { return (list.last { $0.end == nil } ?? list.last)?.owner }
        guard let a = list.last(where: { ($0.start ?? .min) <= t }) else { return nil }
        if let end = a.end, t > end { return nil }
        return a.owner
    }

    /// The pod holding `ip` at `time`.
    public func pod(ip: String, at time: Int64?) -> PodKey? {
        switch owner(ip: ip, at: time) {
        case .pod(let k): return k
        case .container(let id): return containers[id]?.pod
        case nil: return nil
        }
    }

    func container(_ id: String) -> (id: String, Container)? {
        var id = id
        if let r = id.range(of: "://") { id = String(id[r.upperBound...]) }
        if let c = containers[id] { return (id, c) }
        if id.count == 12, let full = shortIDs[id], let c = containers[full] { return (full, c) }
        if id.count > 12, let full = shortIDs[String(id.prefix(12))], full.hasPrefix(id), let c = containers[full] { return (full, c) }
        return nil
    }

    /// Completes `entity` from what is known: by container id, then (for network records,
    /// `byIP`) by source IP at the record's time. Only missing fields are filled, and never
    /// from a different pod than the one the record already names.
    public func resolve(entity: Entity, time: Int64?, byIP: Bool = true) -> Entity {
        var out = entity
        if let id = entity["container_id"], let (_, c) = container(id), consistent(out, c.pod) {
            fill(&out, "container_name", c.name)
            fill(&out, "image", c.image)
            if let k = c.pod { fill(&out, k) }
            fill(&out, "node", c.node)
        }
        if byIP, let ip = entity["source_ip"] {
            switch owner(ip: ip, at: time) {
            case .pod(let k):
                if consistent(out, k) { fill(&out, k) }
            case .container(let id):
                guard let c = containers[id], out["container_id"] == nil || out["container_id"] == id || id.hasPrefix(out["container_id"]!),
                      consistent(out, c.pod) else { break }
                fill(&out, "container_id", id)
                fill(&out, "container_name", c.name)
                fill(&out, "image", c.image)
                if let k = c.pod { fill(&out, k) }
                fill(&out, "node", c.node)
            case nil:
                if out["node"] == nil, out["pod"] == nil, let node = nodeIPs[ip] { out["node"] = node }
            }
        }
        return out
    }

    func consistent(_ e: Entity, _ key: PodKey?) -> Bool {
        guard let key else { return true }
        if let pod = e["pod"], pod != key.name { return false }
        if let ns = e["namespace"], ns != key.namespace { return false }
        return true
    }

    func fill(_ e: inout Entity, _ key: PodKey) {
        fill(&e, "pod", key.name)
        fill(&e, "namespace", key.namespace)
        guard let pod = pods[key] else { return }
        fill(&e, "node", pod.node)
        fill(&e, "workload", pod.workload)
        fill(&e, "service_account", pod.serviceAccount.map { "\(key.namespace)/\($0)" })
        if pod.images.count == 1 { fill(&e, "image", pod.images[0]) }
    }

    func fill(_ e: inout Entity, _ name: String, _ value: String?) {
        guard e[name] == nil, let value, !value.isEmpty else { return }
        e[name] = value
    }
}
