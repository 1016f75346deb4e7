import BulkheadEngine
@testable import BulkheadNATS
@testable import BulkheadScaleOut
import Testing

@Suite("Scale-out: partitions, alert ids, messages, settings")
struct ScaleOutUnitTests {
    @Test("the entity key is the most specific thing a record names; one namespace is one partition")
    func entityKeys() {
        let p = Partitioner(count: 16)
        let pod = Entity(values: ["cluster": "prod", "namespace": "payments", "pod": "api-1", "node": "n1"])
        #expect(p.key(pod, source: "k8s_audit") == "k8s/prod/payments")
        #expect(Partitioner(count: 16, granularity: .pod).key(pod, source: "k8s_audit") == "k8s/prod/payments/api-1")
        #expect(p.key(Entity(values: ["node": "n1"]), source: "tetragon") == "node//n1")
        #expect(p.key(Entity(values: ["cloud_provider": "aws", "cloud_account": "1234", "user": "x"]), source: "cloudtrail") == "cloud/aws/1234")
        #expect(p.key(Entity(values: ["source_ip": "10.0.0.1"]), source: "zeek_dns") == "ip/10.0.0.1")
        #expect(p.key(Entity(), source: "falco") == "source/falco")
        // Every pod of a namespace lands together, whatever else the record says.
        let other = Entity(values: ["cluster": "prod", "namespace": "payments", "pod": "worker-9", "user": "bob"])
        #expect(p.partition(pod, source: "k8s_audit") == p.partition(other, source: "tetragon"))
    }

    @Test("the hash is FNV-1a 64, the same in every process and version")
    func stableHash() {
        #expect(Partitioner.fnv1a("k8s//payments") == 14_746_966_845_979_130_174)
        #expect(Partitioner(count: 16).partition(ofKey: "k8s//payments") == 14)
        // 1,000 namespaces spread over 16 partitions: none empty, none with three times its share.
        var counts = [Int](repeating: 0, count: 16)
        for i in 0..<1000 { counts[Partitioner(count: 16).partition(ofKey: "k8s/prod/ns-\(i)")] += 1 }
        #expect(counts.allSatisfy { $0 > 0 && $0 < 3 * 1000 / 16 })
    }

    @Test("alert ids: SHA-256 of rule, source and evidence; equal evidence, equal id")
    func alertIDs() {
        #expect(AlertIdentity.id(ruleID: "rule-1", source: "k8s_audit", event: #"{"a":1}"#) == "a52d2009901b77d7bf003564143057425fbc9358df2ad3d18f499c231bb8d5c7")
        let a = AlertIdentity.id(ruleID: "r", source: "s", event: "e")
        #expect(a == AlertIdentity.id(ruleID: "r", source: "s", event: "e"))
        #expect(a != AlertIdentity.id(ruleID: "r2", source: "s", event: "e"))
        #expect(a != AlertIdentity.id(ruleID: "r", source: "s", event: "e "))
        // The separator keeps fields apart: ("ab", "c") is not ("a", "bc").
        #expect(AlertIdentity.id(ruleID: "ab", source: "c", event: "") != AlertIdentity.id(ruleID: "a", source: "bc", event: ""))
        // A baseline's id is its record's: the explanation around it varies with what a partition learned.
        let record = #"{"verb":"create","n":[1,{"x":"}"}]}"#
        let one = #"{"analytic":"new_terms","learning_end":"2026-01-01T00:10:00Z","record":"# + record + "}"
        let other = #"{"analytic":"new_terms","learning_end":"2026-01-01T00:12:48Z","record":"# + record + "}"
        #expect(AlertIdentity.id(ruleID: "r", source: "k8s_audit", event: one) == AlertIdentity.id(ruleID: "r", source: "k8s_audit", event: record))
        #expect(AlertIdentity.id(ruleID: "r", source: "k8s_audit", event: one) == AlertIdentity.id(ruleID: "r", source: "k8s_audit", event: other))
    }

    @Test("raw JSON members: the exact text of a top-level member, strings and nesting respected")
    func rawMembers() {
        let line = #"{"rule":{"event":"no"},"note":"a "event": here","event":{"a":[1,2,{"b":"}"}]},"z":1}"#
        #expect(JSONMember.raw("event", in: line) == #"{"a":[1,2,{"b":"}"}]}"#)
        #expect(JSONMember.raw("z", in: line) == "1")
        #expect(JSONMember.raw("missing", in: line) == nil)
    }

    @Test("a telemetry message carries format and kind; malformed ones say why")
    func telemetryMessages() {
        let r = RoutedRecord(partition: 3, source: "k8s_audit", kind: 0, bytes: Array(#"{"kind":"Event"}"#.utf8))
        let out = TelemetryMessage.make(r, prefix: "bulkhead.telemetry", messageID: "m-1")
        #expect(out.subject == "bulkhead.telemetry.k8s_audit.3")
        func message(_ headers: [(String, String)], _ payload: String = "{}") -> NATSMessage {
            NATSMessage(subject: out.subject, sid: 1, reply: nil, headers: headers, status: nil, statusDescription: "", payload: Array(payload.utf8))
        }
        guard case .success(let fk) = TelemetryMessage.decode(message(out.headers, #"{"kind":"Event"}"#)) else { Issue.record("a valid message was refused"); return }
        #expect(fk.kind == 0)
        for (headers, payload, why) in [([], "{}", "no Bulkhead-Format"), ([("Bulkhead-Format", "no_such")], "{}", "unknown format"),
                                        ([("Bulkhead-Format", "k8s_audit")], "{}", "Bulkhead-Kind"),
                                        ([("Bulkhead-Format", "k8s_audit"), ("Bulkhead-Kind", "0")], "", "empty")] {
            guard case .failure(let e) = TelemetryMessage.decode(message(headers, payload)) else { Issue.record("accepted: \(headers)"); continue }
            #expect(e.description.contains(why))
        }
    }

    @Test("partition ranges, settings checks, and no secret in a printed config")
    func settings() {
        #expect(WorkerConfig.parsePartitions("0-3,8,10-11") == [0, 1, 2, 3, 8, 10, 11])
        for bad in ["", "3-1", "a", "1-2-3", "-1"] { #expect(WorkerConfig.parsePartitions(bad) == nil) }
        var c = ScaleOutConfig()
        c.token = "s3cret-token-value"
        #expect(c.validate() == nil)
        for text in ["\(c)", String(reflecting: c), "\([c])"] { #expect(!text.contains("s3cret")) }
        c.partitions = 0
        #expect(c.validate() != nil)
        c = ScaleOutConfig()
        c.user = "bulkhead"
        #expect(c.validate()?.contains("password") == true)
        c = ScaleOutConfig()
        c.telemetryPrefix = "bulkhead.*"
        #expect(c.validate() != nil)
        var w = WorkerConfig()
        w.eligible = [16]
        #expect(w.validate()?.contains("0-15") == true)
        w.eligible = nil
        w.workerID = "bad id"
        #expect(w.validate() != nil)
    }
}
