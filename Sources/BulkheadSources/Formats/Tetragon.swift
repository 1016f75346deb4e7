import BulkheadEvent

/// Cilium Tetragon JSON export (`export-filename`, `tetra getevents -o json`): one event per
/// line, keyed by its type (`process_exec`, `process_exit`, `process_kprobe`,
/// `process_tracepoint`, `process_lsm`, ...; older releases: `process_connect`, ...), plus
/// `node_name` and `time`. Rewritten to add Sigma taxonomy fields and an `entity` object.
public struct TetragonFormat: JSONFormat {
    public let mapping = SourceMapping.load("tetragon")
    public init() {}

    static let nodeName = FieldPath("node_name")
    static let time = FieldPath("time")

    enum Kind { static let processCreation = 0, networkConnection = 1, event = 2 }

    /// The event member: the root key starting with `process_` (first in Tetragon's output,
    /// anywhere after key-sorting tools) whose value is an object.
    func eventMember(_ r: EventView) -> (key: Int, value: Int)? {
        guard !r.nodes.isEmpty, r.nodes[0].kind == .object else { return nil }
        var k = 1
        let after = Int(r.nodes[0].after)
        while k < after {
            let value = k + 1
            if r.kind(value) == .object {
                let isProcess = r.withText(k) { k in
                    k.count > 8 && k[0] == 0x70 && k[1] == 0x72 && k[2] == 0x6F && k[3] == 0x63 && k[4] == 0x65
                        && k[5] == 0x73 && k[6] == 0x73 && k[7] == 0x5F // "process_"
                }
                if isProcess { return (k, value) }
            }
            k = Int(r.nodes[value].after)
        }
        return nil
    }

    public func sniff(_ r: EventView) -> Bool {
        eventMember(r) != nil && (r.exists(Self.nodeName) || r.exists(Self.time))
    }

    public func decode(_ r: EventView, into out: inout [UInt8]) -> DecodeResult {
        guard let (keyNode, ev) = eventMember(r) else {
            return .invalid("not a Tetragon event (no process_* member first)")
        }
        let isExec = r.equals(keyNode, "process_exec")
        let isKprobe = r.equals(keyNode, "process_kprobe")
        let isLegacyConnect = r.equals(keyNode, "process_connect")
        let process = r.child(ev, "process")
        let parent = r.child(ev, "parent")

        // Network socket details: kprobe sock_arg / skb_arg, or the old process_connect.
        var sock: Int?
        let function = isKprobe ? r.child(ev, "function_name") : nil
        if isKprobe, r.contains(function, "connect") || r.contains(function, "sendmsg") || r.contains(function, "accept") {
            if let args = r.child(ev, "args"), r.kind(args) == .array {
                var a = args + 1
                while a < Int(r.nodes[args].after) {
                    if let s = r.child(a, "sock_arg") ?? r.child(a, "skb_arg") { sock = s; break }
                    a = Int(r.nodes[a].after)
                }
            }
        }
        let kind = isExec ? Kind.processCreation : (sock != nil || isLegacyConnect) ? Kind.networkConnection : Kind.event

        var w = RecordRewriter(copying: r, reusing: &out)
        addProcess(&w, r, process, parent)

        if isKprobe || r.equals(keyNode, "process_tracepoint") || r.equals(keyNode, "process_lsm") || r.equals(keyNode, "process_uprobe") {
            w.addText("FunctionName", r, r.child(ev, "function_name") ?? r.child(ev, "event") ?? r.child(ev, "symbol"))
            var args: [String] = []
            if let list = r.child(ev, "args"), r.kind(list) == .array {
                var a = list + 1
                while a < Int(r.nodes[list].after) {
                    for k in ["string_arg", "file_arg", "path_arg", "linux_binprm_arg", "int_arg", "size_arg", "uint_arg", "long_arg"] as [StaticString] {
                        guard let v = r.child(a, k) else { continue }
                        if let s = r.text(v) { args.append(s) } else if let p = r.text(r.child(v, "path")) { args.append(p) }
                    }
                    a = Int(r.nodes[a].after)
                }
            }
            w.add("Arguments", strings: args)
        }

        if let sock {
            w.addText("SourceIp", r, r.child(sock, "saddr"))
            w.addText("SourcePort", r, r.child(sock, "sport"))
            w.addText("DestinationIp", r, r.child(sock, "daddr"))
            w.addText("DestinationPort", r, r.child(sock, "dport"))
            w.add("Protocol", Self.protocolName(r.text(r.child(sock, "protocol") ?? r.child(sock, "proto"))))
            w.add("Initiated", "true")
        } else if isLegacyConnect {
            w.addText("SourceIp", r, r.child(ev, "source_ip"))
            w.addText("SourcePort", r, r.child(ev, "source_port"))
            w.addText("DestinationIp", r, r.child(ev, "destination_ip"))
            w.addText("DestinationPort", r, r.child(ev, "destination_port"))
            w.add("Protocol", Self.protocolName(r.text(r.child(ev, "protocol"))))
            w.add("Initiated", "true")
        }

        let pod = r.child(process, "pod")
        let container = r.child(pod, "container")
        w.openObject("entity")
        w.add("container_id", EnrichText.stripRuntime(r.text(r.child(container, "id")) ?? r.text(r.child(process, "docker"))))
        w.addText("container_name", r, r.child(container, "name"))
        w.addText("image", r, r.child(r.child(container, "image"), "name"))
        w.addText("pod", r, r.child(pod, "name"))
        w.addText("namespace", r, r.child(pod, "namespace"))
        w.addText("node", r, Self.nodeName)
        w.addText("workload", r, r.child(pod, "workload"))
        w.closeObject()
        w.finish(into: &out)
        return .rewritten(kind: kind)
    }

    func addProcess(_ w: inout RecordRewriter, _ r: EventView, _ process: Int?, _ parent: Int?) {
        let image = r.text(r.child(process, "binary"))
        w.add("Image", image)
        w.add("CommandLine", Self.commandLine(image, r.text(r.child(process, "arguments"))))
        let parentImage = r.text(r.child(parent, "binary"))
        w.add("ParentImage", parentImage)
        w.add("ParentCommandLine", Self.commandLine(parentImage, r.text(r.child(parent, "arguments"))))
        if let name = r.child(r.child(process, "user"), "name") { w.addText("User", r, name) } else { w.addText("User", r, r.child(process, "uid")) }
        w.addText("ProcessId", r, r.child(process, "pid"))
        w.addText("ParentProcessId", r, r.child(parent, "pid"))
        w.addText("CurrentDirectory", r, r.child(process, "cwd"))
    }

    static func commandLine(_ binary: String?, _ arguments: String?) -> String? {
        guard let binary else { return arguments }
        guard let arguments, !arguments.isEmpty else { return binary }
        return binary + " " + arguments
    }

    /// `IPPROTO_TCP` / `TCP` → `tcp`.
    static func protocolName(_ p: String?) -> String? {
        guard var p else { return nil }
        if p.hasPrefix("IPPROTO_") { p.removeFirst(8) }
        return p.lowercased()
    }
}
