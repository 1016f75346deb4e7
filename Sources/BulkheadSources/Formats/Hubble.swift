import BulkheadEvent

/// Cilium Hubble flows: `hubble observe -o json` / Hubble exporter lines
/// (`{"flow":{...},"node_name":...,"time":...}`) and bare flow objects. Rewritten to add
/// Sigma taxonomy fields (network_connection for L3/L4, dns and proxy for L7) and an `entity`
/// object for the pod the flow belongs to (the source pod for egress, the destination pod
/// for ingress).
public struct HubbleFormat: JSONFormat {
    public let mapping = SourceMapping.load("hubble")
    public init() {}

    static let flowVerdict = FieldPath("flow.verdict")
    static let flowIP = FieldPath("flow.IP")
    static let flowL4 = FieldPath("flow.l4")
    static let flowSource = FieldPath("flow.source")
    static let verdict = FieldPath("verdict")
    static let ip = FieldPath("IP")
    static let l4 = FieldPath("l4")
    static let trafficDirection = FieldPath("traffic_direction")
    static let eventType = FieldPath("event_type")

    enum Kind { static let network = 0, dns = 1, proxy = 2 }

    public func sniff(_ r: EventView) -> Bool {
        if r.exists(Self.flowVerdict) && (r.exists(Self.flowIP) || r.exists(Self.flowL4) || r.exists(Self.flowSource)) { return true }
        return r.exists(Self.verdict) && (r.exists(Self.ip) || r.exists(Self.l4)) && (r.exists(Self.trafficDirection) || r.exists(Self.eventType))
    }

    public func decode(_ r: EventView, into out: inout [UInt8]) -> DecodeResult {
        guard r.nodes[0].kind == .object else { return .invalid("not a Hubble flow") }
        let flow = r.child(0, "flow") ?? 0
        guard r.kind(flow) == .object, r.child(flow, "verdict") != nil || r.child(flow, "IP") != nil else {
            return .invalid("not a Hubble flow (no flow.verdict / flow.IP)")
        }
        let l7 = r.child(flow, "l7")
        let dns = r.child(l7, "dns")
        let http = r.child(l7, "http")
        let kind = dns != nil ? Kind.dns : http != nil ? Kind.proxy : Kind.network

        var w = RecordRewriter(copying: r, reusing: &out)
        let ip = r.child(flow, "IP")
        w.addText("SourceIp", r, r.child(ip, "source"))
        w.addText("DestinationIp", r, r.child(ip, "destination"))
        let l4 = r.child(flow, "l4")
        var proto: String?
        var ports: Int?
        for (key, name) in [("TCP", "tcp"), ("UDP", "udp"), ("SCTP", "sctp"), ("ICMPv4", "icmp"), ("ICMPv6", "ipv6-icmp")] as [(StaticString, String)] {
            if let p = r.child(l4, key) { proto = name; ports = p; break }
        }
        w.addText("SourcePort", r, r.child(ports, "source_port"))
        w.addText("DestinationPort", r, r.child(ports, "destination_port"))
        w.add("Protocol", proto)
        let isReply = r.child(flow, "is_reply").map { r.kind($0) == .true } ?? false
        w.add("Initiated", isReply ? "false" : "true")
        if let names = r.child(flow, "destination_names"), r.kind(names) == .array, r.nodes[names].after > names + 1 {
            w.add("DestinationHostname", EnrichText.trimDot(r.text(names + 1)))
        }

        if let dns {
            let q = EnrichText.trimDot(r.text(r.child(dns, "query")))
            w.add("query", q)
            w.add("QueryName", q)
            if let qtypes = r.child(dns, "qtypes"), r.kind(qtypes) == .array, r.nodes[qtypes].after > qtypes + 1 {
                w.addText("record_type", r, qtypes + 1)
                w.addText("QueryType", r, qtypes + 1)
            }
            if let ips = r.child(dns, "ips") { w.addRaw("answer", r, ips) }
            w.addText("rcode", r, r.child(dns, "rcode"))
        } else if let http {
            let url = r.text(r.child(http, "url"))
            w.add("c-uri", url)
            w.add("cs-host", Self.host(of: url))
            w.addText("cs-method", r, r.child(http, "method"))
            w.addText("sc-status", r, r.child(http, "code"))
            if let headers = r.child(http, "headers"), r.kind(headers) == .array {
                var h = headers + 1
                while h < Int(r.nodes[headers].after) {
                    if let k = r.text(r.child(h, "key")), k.lowercased() == "user-agent" {
                        w.addText("c-useragent", r, r.child(h, "value"))
                    }
                    h = Int(r.nodes[h].after)
                }
            }
        }

        // Entity: the pod on our side of the flow.
        let source = r.child(flow, "source")
        let destination = r.child(flow, "destination")
        let ingress = r.equals(r.child(flow, "traffic_direction"), "INGRESS")
        var endpoint = ingress ? destination : source
        if r.child(endpoint, "pod_name") == nil {
            let other = ingress ? source : destination
            if r.child(other, "pod_name") != nil { endpoint = other }
        }
        w.openObject("entity")
        w.addText("namespace", r, r.child(endpoint, "namespace"))
        w.addText("pod", r, r.child(endpoint, "pod_name"))
        if let workloads = r.child(endpoint, "workloads"), r.kind(workloads) == .array, r.nodes[workloads].after > workloads + 1 {
            w.addText("workload", r, r.child(workloads + 1, "name"))
        }
        w.addText("node", r, r.child(flow, "node_name") ?? r.child(0, "node_name"))
        if let labels = r.child(endpoint, "labels"), r.kind(labels) == .array {
            var sa: String?
            var cluster: String?
            var l = labels + 1
            while l < Int(r.nodes[labels].after) {
                if let s = r.text(l) {
                    if s.hasPrefix("k8s:io.cilium.k8s.policy.serviceaccount=") { sa = String(s.dropFirst(40)) }
                    if s.hasPrefix("k8s:io.cilium.k8s.policy.cluster=") { cluster = String(s.dropFirst(33)) }
                }
                l = Int(r.nodes[l].after)
            }
            if let sa, let ns = r.text(r.child(endpoint, "namespace")) { w.add("service_account", ns + "/" + sa) }
            w.add("cluster", cluster)
        }
        w.addText("source_ip", r, r.child(ip, "source"))
        w.closeObject()
        w.finish(into: &out)
        return .rewritten(kind: kind)
    }

    /// `http://host:port/path` → `host`.
    static func host(of url: String?) -> String? {
        guard let url, let scheme = url.range(of: "://") else { return nil }
        var rest = url[scheme.upperBound...]
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        if rest.hasPrefix("[") { if let close = rest.firstIndex(of: "]") { return String(rest[rest.index(after: rest.startIndex)..<close]) } }
        if let colon = rest.lastIndex(of: ":") { rest = rest[..<colon] }
        return rest.isEmpty ? nil : String(rest)
    }
}
