import BulkheadEngine
import BulkheadEvent
import BulkheadRules
import BulkheadScan
@testable import BulkheadScaleOut
import BulkheadSources
import Foundation
import Testing

/// A checkpoint taken after any record and restored into a fresh engine must continue exactly
/// as the engine that was never interrupted: that is what makes a takeover's replay produce the
/// same alerts, with the same ids.
@Suite("Scale-out: checkpoints continue the state exactly")
struct CheckpointTests {
    static let rules = """
    title: failed login
    name: failed_login
    id: 0a000000-0000-4000-8000-000000000001
    logsource: {product: json}
    detection:
        selection:
            kind: fail
        condition: selection
    level: low
    ---
    title: login burst
    id: 0a000000-0000-4000-8000-000000000002
    correlation:
        type: event_count
        rules: [failed_login]
        group-by: [user]
        timespan: 60s
        condition: {gte: 4}
    level: high
    ---
    title: few hosts
    id: 0a000000-0000-4000-8000-000000000003
    correlation:
        type: value_count
        rules: [failed_login]
        group-by: [user]
        timespan: 90s
        condition: {field: host, lt: 3}
    level: medium
    ---
    title: new host for a user
    id: 0a000000-0000-4000-8000-000000000004
    logsource: {product: json}
    detection:
        selection:
            kind: login
        condition: selection
    level: medium
    x-bulkhead-new-terms:
        group-by: [user]
        terms: [host]
        learning: 2m
        min-observations: 1
    """

    /// 600 records over ten minutes: failures in bursts, logins from hosts that grow over time.
    static let records: [String] = (0..<600).map { i in
        let t = Timestamps.format(epochNanos: (1_790_000_000 + Int64(i)) * 1_000_000_000)
        let user = "u\(i % 5)"
        if i % 3 == 0 { return #"{"time":"\#(t)","kind":"fail","user":"\#(user)","host":"h\#(i % 4)"}"# }
        return #"{"time":"\#(t)","kind":"login","user":"\#(user)","host":"h\#((i * 7) % (3 + i / 60))"}"#
    }

    /// An engine fed record by record, as a partition runner feeds it.
    final class Run {
        final class Box { var ids: [String] = [] }
        let engine: Engine
        let pipeline: ScanPipeline
        let box = Box()
        init(_ ruleSet: RuleSet) {
            engine = Engine(ruleSet: ruleSet)
            // Short lateness: at most split points both the reorder buffer and open windows hold matches.
            engine.correlator?.limits.lateness = 20_000_000_000
            engine.beginInput(remaining: 0)
            pipeline = ScanPipeline(engine: engine, onAlert: { [box] in box.ids.append(AlertIdentity.id($0)) }, onProblem: { Issue.record("problem: \($0)") })
        }
        func feed(_ lines: ArraySlice<String>, from start: Int) {
            for (i, line) in zip(start..., lines) {
                #expect(pipeline.scan(record: Array(line.utf8), format: Formats.genericJSON, kind: 0, name: "p0", line: i))
            }
        }
    }

    @Test("split after any record: checkpoint, encode, compress, restore, continue; the same alerts as without the split")
    func splitAnywhere() throws {
        let loaded = RuleLoader().load(yaml: Self.rules, file: "rules.yml")
        let ruleSet = RuleSet(documents: loaded.documents)
        #expect(ruleSet.diagnostics.filter { $0.severity == .error }.isEmpty)
        let whole = Run(ruleSet)
        whole.feed(Self.records[...], from: 0)
        let expected = whole.box.ids
        // Every kind of alert is in the reference, so the comparison covers every kind of state.
        #expect(expected.count > 20)
        for split in [1, 37, 150, 299, 451, 599] {
            let first = Run(ruleSet)
            first.feed(Self.records[..<split], from: 0)
            let cp = PartitionCheckpoint.capture(first.engine, partition: 3, lastSequence: UInt64(split), records: UInt64(split))
            if split > 100 {
                #expect(cp.correlation.map { !$0.groups.isEmpty && !$0.pending.isEmpty } == true)
                #expect(!cp.baselines.baselines.isEmpty)
            }
            let json = try cp.encoded()
            let back = try PartitionCheckpoint.decode(try Deflate.decompress(try Deflate.compress(json), size: json.count))
            #expect(back.lastSequence == UInt64(split) && back.partition == 3)
            let second = Run(ruleSet)
            #expect(back.restore(into: second.engine).isEmpty)
            // The restored state snapshots to the same checkpoint.
            #expect(PartitionCheckpoint.capture(second.engine, partition: 3, lastSequence: UInt64(split), records: UInt64(split)).correlation == cp.correlation)
            second.feed(Self.records[split...], from: split)
            #expect(first.box.ids + second.box.ids == expected, "split at \(split)")
        }
    }

    @Test("correlation windows of a changed correlation are dropped on restore, the others kept")
    func changedRules() throws {
        let loaded = RuleLoader().load(yaml: Self.rules, file: "rules.yml")
        let run = Run(RuleSet(documents: loaded.documents))
        run.feed(Self.records[..<200], from: 0)
        let cp = PartitionCheckpoint.capture(run.engine, partition: 0, lastSequence: 200, records: 200)
        let changed = Self.rules.replacingOccurrences(of: "timespan: 60s", with: "timespan: 61s")
        let other = Run(RuleSet(documents: RuleLoader().load(yaml: changed, file: "rules.yml").documents))
        #expect(cp.restore(into: other.engine) == ["0a000000-0000-4000-8000-000000000002"])
        let kept = other.engine.correlator?.snapshot().groups.map(\.correlation) ?? []
        #expect(!kept.isEmpty && !kept.contains("0a000000-0000-4000-8000-000000000002"))
    }

    @Test("the learned inventory travels with the checkpoint: pod IPs still resolve")
    func inventory() throws {
        let engine = Engine(ruleSet: RuleSet(documents: []))
        let pipeline = ScanPipeline(engine: engine, onAlert: { _ in }, onProblem: { _ in })
        let story = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Examples/attack-story/01-kubernetes-audit.jsonl").path
        pipeline.scan(file: story)
        #expect(engine.inventory.pod(ip: "10.244.3.17", at: nil) != nil)
        let cp = PartitionCheckpoint.capture(engine, partition: 0, lastSequence: 1, records: 1)
        let fresh = Engine(ruleSet: RuleSet(documents: []))
        try PartitionCheckpoint.decode(try cp.encoded()).restore(into: fresh)
        #expect(fresh.inventory.pod(ip: "10.244.3.17", at: nil) == engine.inventory.pod(ip: "10.244.3.17", at: nil))
        #expect(fresh.inventory.podCount == engine.inventory.podCount && fresh.inventory.ipCount == engine.inventory.ipCount)
    }
}
