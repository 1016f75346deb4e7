import BulkheadEngine
import BulkheadEvent
import Foundation
import Synchronization

/// Containment artefacts for an alert's entity: a NetworkPolicy isolating the pod, kubectl,
/// Docker and cloud CLI commands. They are text for a responder to review and run; nothing here
/// executes anything. Every value taken from the record is attacker-influenced: Kubernetes names
/// are validated (else a placeholder and a warning), everything else is shell-quoted.
public enum Containment {
    /// The label a responder adds when the record carries no usable pod labels.
    public static let quarantineLabel = (key: "bulkhead.io/quarantine", value: "true")

    public static func artefacts(for alert: Alert) -> [Artefact] {
        let record = Record(json: alert.event)
        var out: [Artefact] = []
        let e = alert.entity
        if e["pod"] != nil {
            out += kubernetesPod(alert, record)
        } else if e["node"] != nil, e["cloud_provider"] == nil, !alert.source.hasPrefix("docker") {
            out += kubernetesNode(e["node"]!)
        }
        if alert.source.hasPrefix("docker") || (e["pod"] == nil && (e["container_id"] ?? e["container_name"]) != nil) {
            if let c = dockerContainer(e) { out.append(docker(c)) }
        }
        switch alert.source {
        case "cloudtrail": out += aws(record, alert)
        case "azure_activity": out += azure(record)
        case "gcp_audit": out += gcp(record)
        default: break
        }
        return out
    }

    // MARK: Quoting and validation

    /// A Kubernetes object name: DNS subdomain (`[a-z0-9.-]`, alphanumeric at both ends, ≤ 253),
    /// or a DNS label (no dots, ≤ 63) when `label` is set (namespaces).
    public static func isKubernetesName(_ s: String, label: Bool = false) -> Bool {
        let max = label ? 63 : 253
        guard !s.isEmpty, s.utf8.count <= max else { return false }
        let bytes = Array(s.utf8)
        func alnum(_ c: UInt8) -> Bool { (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) }
        guard alnum(bytes.first!), alnum(bytes.last!) else { return false }
        return bytes.allSatisfy { alnum($0) || $0 == 0x2D || (!label && $0 == 0x2E) }
    }

    /// A label key (`[prefix/]name`) or value, as the API server accepts them.
    static func isLabelName(_ s: String, allowEmpty: Bool) -> Bool {
        if s.isEmpty { return allowEmpty }
        guard s.utf8.count <= 63 else { return false }
        let bytes = Array(s.utf8)
        func alnum(_ c: UInt8) -> Bool { (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) }
        guard alnum(bytes.first!), alnum(bytes.last!) else { return false }
        return bytes.allSatisfy { alnum($0) || $0 == 0x2D || $0 == 0x2E || $0 == 0x5F }
    }

    static func isLabelKey(_ s: String) -> Bool {
        let parts = s.split(separator: "/", omittingEmptySubsequences: false)
        if parts.count == 1 { return isLabelName(s, allowEmpty: false) }
        guard parts.count == 2, isKubernetesName(String(parts[0])) else { return false }
        return isLabelName(String(parts[1]), allowEmpty: false)
    }

    /// POSIX shell single-quoting; plain words are left bare.
    public static func shellQuote(_ s: String) -> String {
        if !s.isEmpty, !s.hasPrefix("-"), s.utf8.allSatisfy({ shellSafe[Int($0)] }) { return s }
        // On bytes: a quote is one byte in UTF-8, everything else is copied as it is.
        var out: [UInt8] = [UInt8(ascii: "'")]
        out.reserveCapacity(s.utf8.count + 8)
        for b in s.utf8 {
            if b == UInt8(ascii: "'") { out.append(contentsOf: "'\\''".utf8) } else { out.append(b) }
        }
        out.append(UInt8(ascii: "'"))
        return String(decoding: out, as: UTF8.self)
    }

    /// Digits and `-:TZ.`: what an RFC 3339 time put into a policy may hold.
    static func isTimestampByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || b == UInt8(ascii: "-") || b == UInt8(ascii: ":") || b == UInt8(ascii: "T") || b == UInt8(ascii: "Z") || b == UInt8(ascii: ".")
    }

    /// Bytes a shell word may hold unquoted (runs per alert: a table, not a Set built per call).
    static let shellSafe: [Bool] = {
        var t = [Bool](repeating: false, count: 256)
        for b in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-".utf8 { t[Int(b)] = true }
        return t
    }()

    /// A validated Kubernetes name, or a placeholder plus a warning line.
    struct Checked {
        var value: String
        var warning: String?
    }

    static func kubeName(_ s: String?, what: String, placeholder: String, label: Bool = false) -> Checked {
        guard let s else { return Checked(value: placeholder, warning: "the record names no \(what): replace \(placeholder) by hand") }
        if isKubernetesName(s, label: label) { return Checked(value: s, warning: nil) }
        let shown = Containment.clean(String(s.prefix(80)))
        return Checked(value: placeholder, warning: "the \(what) in the record (\(shown)) is not a valid Kubernetes name; refusing to insert it, replace \(placeholder) by hand after checking the cluster")
    }

    // MARK: Kubernetes

    static func kubernetesPod(_ alert: Alert, _ record: Record) -> [Artefact] {
        let e = alert.entity
        let ns = kubeName(e["namespace"], what: "namespace", placeholder: "<NAMESPACE>", label: true)
        let pod = kubeName(e["pod"], what: "pod name", placeholder: "<POD>")
        let node = e["node"].map { kubeName($0, what: "node name", placeholder: "<NODE>") }
        let labels = podLabels(record, pod: e["pod"] ?? "")
        var out: [Artefact] = []
        let warnings = [ns.warning, pod.warning, node?.warning].compactMap { $0 }
        if !warnings.isEmpty {
            out.append(Artefact(kind: "warning", title: "Values withheld from the artefacts", text: warnings.map { "WARNING: " + $0 }.joined(separator: "\n")))
        }
        out.append(Artefact(kind: "networkpolicy", title: "NetworkPolicy isolating the pod (deny all ingress and egress)",
                            text: networkPolicy(namespace: ns.value, pod: pod.value, labels: labels)))
        let n = ns.value, p = pod.value
        let file = pod.warning == nil ? "bulkhead-\(p)" : "bulkhead-evidence"
        var cmds: [String] = ["# 1. Evidence first: the pod as the API server sees it, and every container's logs."]
        cmds.append("kubectl get pod -n \(n) \(p) -o yaml > \(file).pod.yaml")
        cmds.append("kubectl describe pod -n \(n) \(p) > \(file).describe.txt")
        cmds.append("kubectl logs -n \(n) \(p) --all-containers --timestamps > \(file).logs.txt")
        cmds.append("kubectl logs -n \(n) \(p) --all-containers --timestamps --previous > \(file).previous-logs.txt  # restarted containers")
        cmds.append("# 2. Isolate the pod with the NetworkPolicy above (needs a CNI that enforces policies).")
        if labels.isEmpty {
            cmds.append("kubectl label pod -n \(n) \(p) \(quarantineLabel.key)=\(quarantineLabel.value) --overwrite")
        }
        cmds.append("kubectl apply -f bulkhead-isolate.yaml   # the NetworkPolicy above, saved to a file")
        cmds.append("# 3. Keep new workloads off the node.")
        if let node {
            cmds.append("kubectl cordon \(node.value)")
        } else {
            cmds.append("kubectl cordon \"$(kubectl get pod -n \(n) \(p) -o jsonpath='{.spec.nodeName}')\"")
        }
        cmds.append("# 4. Only after evidence capture: remove the pod (a controller recreates it; scale the owner down first if needed).")
        cmds.append("kubectl get pod -n \(n) \(p) -o jsonpath='{.metadata.ownerReferences[*].kind}/{.metadata.ownerReferences[*].name}{\"\\n\"}'")
        cmds.append("kubectl delete pod -n \(n) \(p)")
        out.append(Artefact(kind: "kubectl", title: "kubectl: capture evidence, isolate, cordon, delete", text: cmds.joined(separator: "\n")))
        return out
    }

    static func kubernetesNode(_ name: String) -> [Artefact] {
        let node = kubeName(name, what: "node name", placeholder: "<NODE>")
        var text = ""
        if let w = node.warning { text += "# WARNING: \(w)\n" }
        text += "kubectl cordon \(node.value)\n"
        text += "kubectl get pods -A -o wide --field-selector spec.nodeName=\(node.value) > bulkhead-node-pods.txt\n"
        text += "# after evidence capture on the node: kubectl drain \(node.value) --ignore-daemonsets --delete-emptydir-data"
        return [Artefact(kind: "kubectl", title: "kubectl: cordon the node", text: text)]
    }

    /// A deny-all NetworkPolicy for the pod: selected by its labels when the record has them,
    /// else by the quarantine label (the kubectl commands add it first).
    public static func networkPolicy(namespace: String, pod: String, labels: [(String, String)]) -> String {
        let selector = labels.isEmpty ? [(quarantineLabel.key, quarantineLabel.value)] : labels
        let name = isKubernetesName(pod) ? "bulkhead-isolate-" + String(pod.prefix(200)) : "bulkhead-isolate"
        var y = ""
        if labels.isEmpty {
            y += "# Selects the pod by a quarantine label: first run\n"
            y += "#   kubectl label pod -n \(namespace) \(pod) \(quarantineLabel.key)=\(quarantineLabel.value) --overwrite\n"
        } else {
            y += "# Selects by the pod's labels from the record: every pod with these labels (other replicas\n"
            y += "# of the same workload too) is isolated. To isolate only this pod, label it with\n"
            y += "# \(quarantineLabel.key)=\(quarantineLabel.value) and select on that label instead.\n"
        }
        y += "apiVersion: networking.k8s.io/v1\n"
        y += "kind: NetworkPolicy\n"
        y += "metadata:\n"
        y += "  name: \(yamlQuote(name))\n"
        y += "  namespace: \(yamlQuote(namespace))\n"
        y += "  labels:\n"
        y += "    app.kubernetes.io/managed-by: bulkhead\n"
        y += "spec:\n"
        y += "  podSelector:\n"
        y += "    matchLabels:\n"
        for (k, v) in selector { y += "      \(yamlQuote(k)): \(yamlQuote(v))\n" }
        y += "  policyTypes:\n"
        y += "    - Ingress\n"
        y += "    - Egress\n"
        y += "  ingress: []\n"
        y += "  egress: []\n"
        return y
    }

    /// A double-quoted YAML scalar (values are validated already; this keeps `true`, numbers
    /// and placeholders strings).
    static func yamlQuote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default:
                if u.value < 0x20 || u.value == 0x7F { out += String(format: "\\x%02x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }

    /// The pod's labels as the record carries them (audit requestObject, Tetragon pod_labels,
    /// Hubble endpoint labels), keeping only syntactically valid ones.
    static func podLabels(_ record: Record, pod: String) -> [(String, String)] {
        var found: [String: String] = [:]
        if record.string("objectRef.resource") == "pods", record.string("objectRef.subresource") == nil {
            found = record.stringMembers("requestObject.metadata.labels")
        }
        if found.isEmpty { record.walk { v, object in
            let name = v.child(object, "name")
            if found.isEmpty, let labels = v.child(object, "pod_labels"), v.kind(labels) == .object,
               name.map({ v.kind($0) != .string || v.string($0) == pod }) ?? true {
                found = Record.stringMembers(v, labels)
            }
            if found.isEmpty, let podName = v.child(object, "pod_name"), v.kind(podName) == .string, v.string(podName) == pod,
               let list = v.child(object, "labels"), v.kind(list) == .array {
                var items: [String] = []
                var child = list + 1
                while child < Int(v.nodes[list].after) {
                    if v.kind(child) == .string { items.append(v.string(child)) }
                    child = Int(v.nodes[child].after)
                }
                for item in items where item.hasPrefix("k8s:") {
                    let kv = item.dropFirst(4).split(separator: "=", maxSplits: 1).map(String.init)
                    guard kv.count == 2, !kv[0].hasPrefix("io.kubernetes.pod.namespace"), !kv[0].hasPrefix("io.cilium.") else { continue }
                    found[kv[0]] = kv[1]
                }
            }
        } }
        return found.filter { isLabelKey($0.key) && isLabelName($0.value, allowEmpty: true) }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    // MARK: Docker

    static func dockerContainer(_ e: Entity) -> String? {
        var id = e["container_id"]
        if let i = id, let r = i.range(of: "://") { id = String(i[r.upperBound...]) }
        return id ?? e["container_name"]
    }

    static func docker(_ container: String) -> Artefact {
        let c = shellQuote(container)
        let file = container.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") } && !container.hasPrefix(".")
            ? "bulkhead-" + String(container.prefix(12)) : "bulkhead-container"
        let lines = [
            "# 1. Freeze the container's processes (keeps memory and filesystem for evidence).",
            "docker pause \(c)",
            "# 2. Cut its network: disconnect it from every network it is attached to.",
            "for net in $(docker inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' \(c)); do docker network disconnect \"$net\" \(c); done",
            "# 3. Evidence: configuration, filesystem changes, logs and a full filesystem export.",
            "docker inspect \(c) > \(file).inspect.json",
            "docker diff \(c) > \(file).diff.txt",
            "docker logs --timestamps \(c) > \(file).logs.txt 2>&1",
            "docker export \(c) | gzip > \(file).fs.tar.gz",
            "# 4. After evidence capture: docker rm -f \(c) and rebuild from a known-good image.",
        ]
        return Artefact(kind: "docker", title: "docker: pause, disconnect, capture evidence", text: lines.joined(separator: "\n"))
    }

    // MARK: Cloud

    static func aws(_ r: Record, _ alert: Alert) -> [Artefact] {
        let event = r.string("eventName") ?? ""
        let region = r.string("awsRegion").map { " --region " + shellQuote($0) } ?? ""
        func q(_ path: String, _ placeholder: String) -> String { r.string(path).map(shellQuote) ?? placeholder }
        var lines: [String] = []
        switch event {
        case "StopLogging":
            let trail = q("requestParameters.name", "<TRAIL>")
            lines = ["aws cloudtrail start-logging --name \(trail)\(region)", "aws cloudtrail get-trail-status --name \(trail)\(region)"]
        case "DeleteTrail":
            let trail = q("requestParameters.name", "<TRAIL>")
            lines = ["# The trail is gone: recreate it (bucket, KMS key and selectors as before) and start it.",
                     "aws cloudtrail create-trail --name \(trail) --s3-bucket-name <TRAIL_BUCKET> --is-multi-region-trail --include-global-service-events --enable-log-file-validation\(region)",
                     "aws cloudtrail start-logging --name \(trail)\(region)"]
        case "UpdateTrail":
            let trail = q("requestParameters.name", "<TRAIL>")
            lines = ["aws cloudtrail get-trail --name \(trail)\(region) > bulkhead-trail.json",
                     "aws cloudtrail update-trail --name \(trail) --is-multi-region-trail --include-global-service-events --enable-log-file-validation --s3-bucket-name <ORIGINAL_TRAIL_BUCKET>\(region)"]
        case "PutEventSelectors":
            let trail = q("requestParameters.trailName", "<TRAIL>")
            lines = ["aws cloudtrail get-event-selectors --trail-name \(trail)\(region) > bulkhead-event-selectors.json",
                     "aws cloudtrail put-event-selectors --trail-name \(trail) --event-selectors '[{\"ReadWriteType\":\"All\",\"IncludeManagementEvents\":true}]'\(region)"]
        case "DeleteFlowLogs":
            lines = ["aws ec2 describe-flow-logs\(region) > bulkhead-flow-logs.json",
                     "aws ec2 create-flow-logs --resource-type VPC --resource-ids <VPC_ID> --traffic-type ALL --log-destination-type s3 --log-destination <FLOW_LOG_BUCKET_ARN>\(region)"]
        case "DeleteDetector":
            lines = ["aws guardduty create-detector --enable\(region)"]
        case "UpdateDetector":
            lines = ["aws guardduty update-detector --detector-id \(q("requestParameters.detectorId", "<DETECTOR_ID>")) --enable\(region)"]
        case "CreateFilter", "UpdateFilter":
            lines = ["aws guardduty get-filter --detector-id \(q("requestParameters.detectorId", "<DETECTOR_ID>")) --filter-name \(q("requestParameters.name", "<FILTER>"))\(region)",
                     "aws guardduty delete-filter --detector-id \(q("requestParameters.detectorId", "<DETECTOR_ID>")) --filter-name \(q("requestParameters.name", "<FILTER>"))\(region)"]
        case "ModifyInstanceMetadataOptions":
            let id = q("requestParameters.ModifyInstanceMetadataOptionsRequest.InstanceId", "<INSTANCE_ID>")
            lines = ["aws ec2 modify-instance-metadata-options --instance-id \(id) --http-tokens required --http-put-response-hop-limit 1 --http-endpoint enabled\(region)"]
        case "ModifyInstanceMetadataDefaults":
            lines = ["aws ec2 modify-instance-metadata-defaults --http-tokens required --http-put-response-hop-limit 1\(region)"]
        case "ModifyInstanceAttribute":
            let id = q("requestParameters.instanceId", "<INSTANCE_ID>")
            lines = ["aws ec2 describe-instance-attribute --instance-id \(id) --attribute userData\(region) > bulkhead-userdata.json",
                     "aws ec2 create-snapshots --instance-specification InstanceId=\(id) --description bulkhead-evidence\(region)",
                     "# isolate: move the instance to a quarantine security group without rules",
                     "aws ec2 modify-instance-attribute --instance-id \(id) --groups <QUARANTINE_SG_ID>\(region)"]
        case "AuthorizeSecurityGroupIngress":
            let group = q("requestParameters.groupId", "<GROUP_ID>")
            let ruleIDs = r.strings("responseElements.securityGroupRuleSet.items.securityGroupRuleId").map(shellQuote)
            lines = ["aws ec2 describe-security-group-rules --filters Name=group-id,Values=\(group)\(region)",
                     "aws ec2 revoke-security-group-ingress --group-id \(group) --security-group-rule-ids \(ruleIDs.isEmpty ? "<RULE_ID>" : ruleIDs.joined(separator: " "))\(region)"]
        case "UpdateClusterConfig":
            let cluster = q("requestParameters.name", "<CLUSTER>")
            lines = ["aws eks update-cluster-config --name \(cluster) --logging '{\"clusterLogging\":[{\"types\":[\"api\",\"audit\",\"authenticator\",\"controllerManager\",\"scheduler\"],\"enabled\":true}]}'\(region)"]
        case "DeleteAddon":
            lines = ["aws eks create-addon --cluster-name \(q("requestParameters.name", "<CLUSTER>")) --addon-name \(q("requestParameters.addonName", "<ADDON>"))\(region)"]
        case "StopConfigurationRecorder":
            lines = ["aws configservice start-configuration-recorder --configuration-recorder-name \(q("requestParameters.configurationRecorderName", "<RECORDER>"))\(region)"]
        case "DeleteResolverQueryLogConfig", "DisassociateResolverQueryLogConfig":
            lines = ["aws route53resolver list-resolver-query-log-configs\(region)",
                     "aws route53resolver associate-resolver-query-log-config --resolver-query-log-config-id \(q("requestParameters.resolverQueryLogConfigId", "<QUERY_LOG_CONFIG_ID>")) --resource-id \(q("requestParameters.resourceId", "<VPC_ID>"))\(region)"]
        case "DeleteLogGroup":
            lines = ["aws logs create-log-group --log-group-name \(q("requestParameters.logGroupName", "<LOG_GROUP>"))\(region)"]
        case "PutRetentionPolicy":
            lines = ["aws logs put-retention-policy --log-group-name \(q("requestParameters.logGroupName", "<LOG_GROUP>")) --retention-in-days 365\(region)"]
        case "PutBucketLifecycle", "PutBucketLifecycleConfiguration":
            let bucket = q("requestParameters.bucketName", "<BUCKET>")
            lines = ["aws s3api get-bucket-lifecycle-configuration --bucket \(bucket) > bulkhead-lifecycle.json",
                     "aws s3api delete-bucket-lifecycle --bucket \(bucket)"]
        case "DeleteAssociation":
            lines = ["aws ssm list-associations\(region) > bulkhead-ssm-associations.json",
                     "# recreate the association from infrastructure code (aws ssm create-association --name <DOCUMENT> --targets ...)"]
        default: break
        }
        var out: [Artefact] = []
        if !lines.isEmpty {
            out.append(Artefact(kind: "aws", title: "aws: undo \(Containment.clean(event))", text: lines.joined(separator: "\n")))
        }
        // The principal: what else it did, and how to cut it off.
        var who: [String] = []
        if let key = r.string("userIdentity.accessKeyId") {
            who.append("aws cloudtrail lookup-events --lookup-attributes AttributeKey=AccessKeyId,AttributeValue=\(shellQuote(key))\(region) > bulkhead-principal-events.json")
        }
        if r.string("userIdentity.type") == "IAMUser", let user = r.string("userIdentity.userName"), let key = r.string("userIdentity.accessKeyId"), key.hasPrefix("AKIA") {
            who.append("aws iam update-access-key --user-name \(shellQuote(user)) --access-key-id \(shellQuote(key)) --status Inactive")
        }
        if r.string("userIdentity.type") == "AssumedRole", let role = r.string("userIdentity.sessionContext.sessionIssuer.userName") {
            let time = r.string("eventTime").flatMap { t in t.utf8.allSatisfy(Self.isTimestampByte) ? t : nil } ?? "<EVENT_TIME>"
            // Deny every session of the role issued up to now (the console's "revoke active sessions").
            let policy = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Action\":\"*\",\"Resource\":\"*\",\"Condition\":{\"DateLessThan\":{\"aws:TokenIssueTime\":\"\(time)\"}}}]}"
            who.append("# revoke the role's sessions issued before the event (set the time to now to cut the current session too)")
            who.append("aws iam put-role-policy --role-name \(shellQuote(role)) --policy-name bulkhead-revoke-older-sessions --policy-document \(shellQuote(policy))")
        }
        if !who.isEmpty { out.append(Artefact(kind: "aws", title: "aws: scope and cut off the principal", text: who.joined(separator: "\n"))) }
        return out
    }

    static func azure(_ r: Record) -> [Artefact] {
        let op = (r.string("operationName") ?? r.string("operationName.value") ?? "").uppercased()
        guard let resource = r.string("resourceId") ?? r.string("properties.entity") else { return [] }
        let id = shellQuote(resource)
        var lines: [String] = []
        if op.hasSuffix("MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/DELETE") {
            let parts = resource.components(separatedBy: "/")
            let name = parts.last.map(shellQuote) ?? "<SETTING>"
            var target = "<RESOURCE_ID>"
            if let r = resource.range(of: "/providers/microsoft.insights/diagnosticSettings/", options: .caseInsensitive) {
                target = shellQuote(String(resource[..<r.lowerBound]))
            }
            lines = ["az monitor diagnostic-settings create --name \(name) --resource \(target) --workspace <LOG_ANALYTICS_WORKSPACE_ID> --logs '[{\"categoryGroup\":\"allLogs\",\"enabled\":true}]'"]
        } else if op == "MICROSOFT.SECURITY/PRICINGS/WRITE" {
            lines = ["az security pricing show --name Containers", "az security pricing create --name Containers --tier standard"]
        } else if op == "MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/WRITE" {
            let p = resource.components(separatedBy: "/")
            let rg = p.firstIndex { $0.uppercased() == "RESOURCEGROUPS" }.flatMap { $0 + 1 < p.count ? shellQuote(p[$0 + 1]) : nil } ?? "<RESOURCE_GROUP>"
            let name = p.firstIndex { $0.uppercased() == "MANAGEDCLUSTERS" }.flatMap { $0 + 1 < p.count ? shellQuote(p[$0 + 1]) : nil } ?? "<CLUSTER>"
            lines = ["az aks show --ids \(id) > bulkhead-aks.json",
                     "az aks enable-addons --addons monitoring --resource-group \(rg) --name \(name)"]
        } else if op == "MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/SECURITYRULES/WRITE" {
            lines = ["az network nsg rule show --ids \(id) > bulkhead-nsg-rule.json", "az network nsg rule delete --ids \(id)"]
        }
        return lines.isEmpty ? [] : [Artefact(kind: "azure", title: "az: undo \(Containment.clean(op.lowercased()))", text: lines.joined(separator: "\n"))]
    }

    static func gcp(_ r: Record) -> [Artefact] {
        let method = r.string("protoPayload.methodName") ?? ""
        let project = r.string("resource.labels.project_id").map { " --project " + shellQuote($0) } ?? ""
        let resourceName = r.string("protoPayload.resourceName") ?? ""
        let last = resourceName.split(separator: "/").last.map { shellQuote(String($0)) }
        var lines: [String] = []
        if method.hasSuffix("ConfigServiceV2.DeleteSink") {
            let name = r.string("resource.labels.name").map(shellQuote) ?? last ?? "<SINK>"
            let dest = r.string("resource.labels.destination").map(shellQuote) ?? "<DESTINATION>"
            lines = ["gcloud logging sinks create \(name) \(dest)\(project)", "# then grant the sink's writer identity access to the destination"]
        } else if method.hasSuffix("ConfigServiceV2.UpdateSink") || method.hasSuffix("ConfigServiceV2.CreateExclusion") || method.hasSuffix("ConfigServiceV2.UpdateExclusion") {
            lines = ["gcloud logging sinks list\(project) --format=yaml > bulkhead-sinks.yaml",
                     "# restore the sink's destination and filter from infrastructure code, and delete the added exclusion:",
                     "gcloud logging sinks describe \(r.string("resource.labels.name").map(shellQuote) ?? last ?? "<SINK>")\(project)"]
        } else if method.hasSuffix("ClusterManager.UpdateCluster") || method.hasSuffix("ClusterManager.SetLoggingService") {
            let cluster = r.string("resource.labels.cluster_name").map(shellQuote) ?? "<CLUSTER>"
            let location = r.string("resource.labels.location").map(shellQuote) ?? "<LOCATION>"
            lines = ["gcloud container clusters update \(cluster) --location \(location) --logging=SYSTEM,WORKLOAD,API_SERVER\(project)"]
        } else if method.contains("compute.firewalls.") {
            let name = last ?? "<FIREWALL_RULE>"
            lines = ["gcloud compute firewall-rules describe \(name)\(project) > bulkhead-firewall.yaml",
                     "gcloud compute firewall-rules update \(name) --disabled\(project)"]
        }
        return lines.isEmpty ? [] : [Artefact(kind: "gcp", title: "gcloud: undo \(Containment.clean(method))", text: lines.joined(separator: "\n"))]
    }
}

extension Containment {
    /// Attacker text shown inside a comment or title: control characters escaped.
    static func clean(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            if u.value < 0x20 || u.value == 0x7F || (u.value >= 0x80 && u.value < 0xA0) {
                out += "\\x" + String(format: "%02x", u.value)
            } else {
                out.unicodeScalars.append(u)
            }
        }
        return out
    }
}

/// The matching record, parsed once with the engine's own JSON tape.
final class Record {
    private let bytes: [UInt8]
    private var tape = JSONTape()
    private let parsed: Bool
    private let scratch = ScratchBuffer()

    init(json: String) {
        bytes = Array(json.utf8)
        var tape = JSONTape()
        parsed = bytes.withUnsafeBytes { raw in (try? tape.parse(raw)) != nil }
        self.tape = tape
    }

    private func view<R>(_ body: (EventView) -> R?) -> R? {
        guard parsed else { return nil }
        return bytes.withUnsafeBufferPointer { b in
            tape.nodes.withUnsafeBufferPointer { n in
                body(EventView(base: b.baseAddress!, count: b.count, nodes: n, scratch: scratch))
            }
        }
    }

    /// Parsed paths by text: the same few paths are read for every alert.
    private static let paths = Mutex<[String: FieldPath]>([:])

    static func path(_ text: String) -> FieldPath {
        paths.withLock { cache in
            if let known = cache[text] { return known }
            let p = FieldPath(text)
            if cache.count < 1024 { cache[text] = p }
            return p
        }
    }

    /// The first non-empty string at a dotted path (arrays are looked into).
    func string(_ path: String) -> String? {
        view { v in
            var out: String?
            v.forEachValue(Self.path(path)) { n in
                guard v.kind(n) == .string else { return false }
                out = v.string(n)
                return true
            }
            return out?.isEmpty == false ? out : nil
        }
    }

    func strings(_ path: String) -> [String] {
        view { v in
            var out: [String] = []
            v.forEachValue(Self.path(path)) { n in
                if v.kind(n) == .string { out.append(v.string(n)) }
                return false
            }
            return out
        } ?? []
    }

    /// String members of the object at a dotted path.
    func stringMembers(_ path: String) -> [String: String] {
        view { v in
            guard let o = v.first(Self.path(path)) else { return [:] }
            return Self.stringMembers(v, o)
        } ?? [:]
    }

    static func stringMembers(_ v: EventView, _ object: Int) -> [String: String] {
        var out: [String: String] = [:]
        v.forEachMember(object) { k, value in
            if v.kind(value) == .string { out[v.string(k)] = v.string(value) }
        }
        return out
    }

    /// Calls `body` with every JSON object in the record.
    func walk(_ body: (EventView, Int) -> Void) {
        _ = view { v -> Bool? in
            for i in 0..<v.nodes.count where v.kind(i) == .object { body(v, i) }
            return nil
        }
    }
}
