// The stateless path over an in-memory buffer of N records: tape parse, routing, prefilter,
// rule evaluation. Input: BULKHEAD_BENCH_INPUT (JSON lines, default ../.bench/k8s.jsonl),
// BULKHEAD_BENCH_RULES (colon-separated rule folders), BULKHEAD_BENCH_RECORDS (default 20000).
// `mallocCountTotal` divided by the records is the allocations per record.
import Benchmark
import BulkheadEngine
import BulkheadEvent
import BulkheadRules
import BulkheadSources
import Foundation

struct Input {
    var records: [[UInt8]] = []
    /// The records that raise no alert: the path every event takes (an alert builds its output).
    var quiet: [[UInt8]] = []
    var format = 0
    var engine: Engine

    init() {
        let env = ProcessInfo.processInfo.environment
        let path = env["BULKHEAD_BENCH_INPUT"] ?? "../.bench/k8s.jsonl"
        let limit = Int(env["BULKHEAD_BENCH_RECORDS"] ?? "") ?? 20_000
        let rulePaths = (env["BULKHEAD_BENCH_RULES"] ?? "../Detections").split(separator: ":").map(String.init)
        let data = (try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data()
        for line in data.split(separator: 0x0A).prefix(limit) where !line.isEmpty { records.append(Array(line)) }
        var docs: [SigmaDocument] = []
        let fm = FileManager.default
        for root in rulePaths {
            let files = (fm.enumerator(atPath: root)?.allObjects as? [String] ?? []).filter { $0.hasSuffix(".yml") || $0.hasSuffix(".yaml") }
            for f in files.sorted() {
                let full = root + "/" + f
                guard let text = try? String(contentsOfFile: full, encoding: .utf8) else { continue }
                for doc in RuleLoader().load(yaml: text, file: full).documents {
                    // The stateless path: no correlations, baselines or analytics (stateful by design;
                    // BULKHEAD_BENCH_STATEFUL=1 keeps them).
                    if env["BULKHEAD_BENCH_STATEFUL"] != "1" {
                        if case .correlation = doc { continue }
                        if case .rule(let r) = doc, r.extensions.keys.contains(where: { $0.hasPrefix("x-bulkhead-") }) { continue }
                    }
                    docs.append(doc)
                }
            }
        }
        engine = Engine(ruleSet: RuleSet(documents: docs))
        format = Formats.index(of: path.contains("ct") ? "cloudtrail" : "k8s_audit") ?? 0
        let probe = Engine(ruleSet: engine.ruleSet)
        var tape = JSONTape()
        let scratch = ScratchBuffer()
        for r in records {
            var alerted = false
            r.withUnsafeBytes { raw in
                _ = try? EventView.with(bytes: raw, tape: &tape, scratch: scratch) { view in
                    probe.evaluate(view, format: format, kind: 0, origin: { Origin(name: "bench", line: 0) }) { _ in alerted = true }
                }
            }
            if !alerted { quiet.append(r) }
        }
    }
}

nonisolated(unsafe) var input: Input?

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .mallocCountTotal, .throughput],
                                           maxDuration: .seconds(20), maxIterations: 5)
    for (name, quietOnly) in [("stateless path, all records", false), ("stateless path, records without alerts", true)] {
        Benchmark(name) { benchmark in
            let run = input ?? Input()
            input = run
            let records = quietOnly ? run.quiet : run.records
            var tape = JSONTape()
            let scratch = ScratchBuffer()
            var alerts = 0
            // Warm-up pass: scratch buffers and caches reach their steady size.
            for r in records.prefix(100) {
                r.withUnsafeBytes { raw in
                    _ = try? EventView.with(bytes: raw, tape: &tape, scratch: scratch) { view in
                        run.engine.evaluate(view, format: run.format, kind: 0, origin: { Origin(name: "bench", line: 0) }) { _ in alerts += 1 }
                    }
                }
            }
            if let counts = ProcessInfo.processInfo.environment["BULKHEAD_BENCH_COUNTS"] {
                // For scripts/bench: the number of records each benchmark ran over.
                let line = "stateless path, \(name.dropFirst("stateless path, ".count)): \(records.count) records\n"
                if let h = FileHandle(forWritingAtPath: counts) { h.seekToEndOfFile(); h.write(line.data(using: .utf8)!); h.closeFile() }
                else { FileManager.default.createFile(atPath: counts, contents: line.data(using: .utf8)) }
            }
            benchmark.startMeasurement()
            for r in records {
                r.withUnsafeBytes { raw in
                    _ = try? EventView.with(bytes: raw, tape: &tape, scratch: scratch) { view in
                        run.engine.evaluate(view, format: run.format, kind: 0, origin: { Origin(name: "bench", line: 0) }) { _ in alerts += 1 }
                    }
                }
            }
            benchmark.stopMeasurement()
            blackHole(alerts)
        }
    }
}
