import ArgumentParser
import BulkheadEngine
import BulkheadEvent
import BulkheadScan
import BulkheadSinks
import BulkheadSources
import BulkheadState
import Foundation

struct BaselineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baseline",
        abstract: "Learned baselines: new terms, numeric baselines, telemetry rates (docs/baselines.md).",
        subcommands: [BaselineLearn.self, BaselineShow.self])
}

struct BaselineLearn: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "learn",
        abstract: "Build baselines from history without alerting, into --state DIR.",
        discussion: "Every baseline rule records its terms and values; nothing alerts. Without --learning the history read is the whole learning period (the next scan alerts on anything new); with it, each rule's learning ends that long after its first record.")

    @Argument(help: "Files, directories (recursive) or - for stdin.") var inputs: [String] = ["-"]
    @Option(help: "State directory (created if missing).") var state: String
    @Option(help: "Learning period from each rule's first record (7d, 12h); default: the end of the history read.") var learning: String?
    @Option(name: .shortAndLong, help: "Rule files or folders (repeatable). Default: the bundled Detections/ pack.") var rules: [String] = []
    @Option(help: "Force the input format.") var format: String?
    @Option(help: "Inventory for entity resolution (repeatable).") var inventory: [String] = []
    @Flag(name: .shortAndLong, help: "No summary on stderr.") var quiet = false

    func run() throws {
        var learningNanos: Int64?
        if let learning {
            guard let n = try? BaselineSpec.duration("--learning", learning, allowZero: true) else { throw ValidationError("--learning must be a duration like 7d, 12h") }
            learningNanos = n
        }
        var options = ScanOptions()
        if let format {
            guard let i = Formats.index(of: format) else { throw ValidationError("unknown format \(format)") }
            options.forcedFormat = i
        }
        let ruleSet = try CLIRules.load(paths: rules, strict: false, placeholders: nil, quiet: quiet)
        let engine = Engine(ruleSet: ruleSet)
        guard !engine.baselines.isEmpty else { throw ValidationError("no baseline rule loaded (x-bulkhead-new-terms, x-bulkhead-numeric-baseline or x-bulkhead-analytic: telemetry_gap)") }
        for path in inventory { _ = try InventoryFiles.load(path: path, into: &engine.inventory) }
        let store = try StateCLI.open(state, engine: engine, quiet: quiet)
        engine.baselines.learnOnly = true
        let start = Date()
        let pipeline = ScanPipeline(engine: engine, options: options, onAlert: { _ in }, onProblem: { message in
            StandardError.write("bulkhead: \(Terminal.sanitize(message))\n")
        })
        pipeline.scan(paths: inputs)
        engine.baselines.completeLearning(learning: learningNanos)
        try StateCLI.save(store, engine: engine)
        if !quiet {
            var out = String(format: "── bulkhead baseline learn ──\n%d records in %.2f s from %d files\n", pipeline.stats.records, Date().timeIntervalSince(start), pipeline.stats.files)
            for r in engine.baselines.rules {
                let end = r.learningEnd.map { Timestamps.format(epochNanos: $0) } ?? "-"
                let complete = r.learningEnd.map { $0 <= r.lastTime } ?? false
                out += "  \(r.rule.title): \(r.stats.observations) records, \(r.spec.kind == .newTerms ? "\(r.termCount) terms in \(r.groupCount) groups" : "\(r.groupCount) groups"), learning until \(end)\(complete ? "" : " (history shorter than the learning period: keeps learning online)")\n"
            }
            if let g = engine.baselines.gap { out += "  \(g.rule.title): \(g.keys.count) source keys, \(g.mixes.count) audit mixes\n" }
            out += StateCLI.summary(engine, store)
            StandardError.write(out)
        }
        if !pipeline.stats.operationalErrors.isEmpty { throw ExitCode(2) }
    }
}

struct BaselineShow: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "What a state directory holds, per rule.")
    @Option(help: "State directory.") var state: String

    func run() throws {
        let store = try SQLiteStateStore(directory: state)
        print("rule\tkind\tterms\tgroups\tlearning_end\tlast_time")
        for r in try store.summary() {
            print("\(r.rule)\t\(r.kind)\t\(r.terms)\t\(r.groups)\t\(r.learningEnd.map { Timestamps.format(epochNanos: $0) } ?? "-")\t\(Timestamps.format(epochNanos: r.lastTime))")
        }
        print("gap_keys\t\(try store.rowCount("gap_keys"))")
    }
}

/// `--state DIR` for scan and baseline learn.
enum StateCLI {
    static func open(_ dir: String?, engine: Engine, quiet: Bool) throws -> SQLiteStateStore? {
        guard let dir else { return nil }
        do {
            let store = try SQLiteStateStore(directory: dir)
            let report = engine.baselines.restore(try store.load())
            if !quiet {
                StandardError.write("bulkhead: state \(store.path): \(report.rules) baseline rules, \(report.terms) terms, \(report.groups) numeric groups, \(report.gapKeys) telemetry keys"
                                    + (report.skipped.isEmpty ? "" : "; \(report.skipped.count) stored rules not loaded (kept)") + "\n")
            }
            return store
        } catch {
            StandardError.write("bulkhead: error: state \(dir): \(error)\n")
            throw ExitCode(2)
        }
    }

    static func save(_ store: SQLiteStateStore?, engine: Engine) throws {
        guard let store else { return }
        do {
            try store.save(engine.baselines.snapshot())
        } catch {
            StandardError.write("bulkhead: error: saving state \(store.path): \(error)\n")
            throw ExitCode(2)
        }
    }

    /// Baseline and telemetry-gap counters: what was learned, what alerted, what the caps evicted.
    static func summary(_ engine: Engine, _ store: SQLiteStateStore?) -> String {
        var out = ""
        let rules = engine.baselines.rules
        if !rules.isEmpty {
            var s = BaselineStats()
            for r in rules {
                s.observations += r.stats.observations; s.learningObservations += r.stats.learningObservations; s.learned += r.stats.learned
                s.entries += r.stats.entries; s.peakEntries += r.stats.peakEntries; s.expired += r.stats.expired
                s.evictedLRU += r.stats.evictedLRU; s.alerts += r.stats.alerts; s.youngGroup += r.stats.youngGroup
            }
            out += "baselines: \(rules.count) rules, \(s.observations) records fed (\(s.learningObservations) while learning), \(s.learned) terms/groups learned, \(s.alerts) alerts; "
            out += "entries \(s.entries) (peak \(s.peakEntries)), expired (retention) \(s.expired), evicted (caps) \(s.evictedLRU), new terms in young groups \(s.youngGroup)\n"
        }
        if let g = engine.baselines.gap {
            let s = g.stats
            out += "telemetry gaps: \(s.keys) keys (peak \(s.peakKeys), evicted (cap \(g.parameters.maxKeys)) \(s.evictedLRU)), \(s.silenceAlerts) silent, \(s.runtimeStoppedAlerts) runtime stopped, \(s.mixAlerts) audit mix shifts, \(s.resumed) resumed, \(s.untimed) untimed records\n"
        }
        if let store {
            let r = store.lastSave
            out += "state: \(store.path): saved \(r.terms) terms, \(r.groups) groups, \(r.gapKeys) telemetry keys; pruned \(r.pruned)\n"
        }
        return out
    }
}
