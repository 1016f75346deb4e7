import ArgumentParser
import BulkheadRules
import BulkheadScaleOut
import BulkheadServe
import Foundation
import Logging

struct Worker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a scale-out worker: own partitions of the JetStream telemetry stream, evaluate them, publish alerts.",
        discussion: "Partitions are claimed through leases in a key-value bucket and taken over when a worker stops renewing them; state is checkpointed there too. Alerts go to the alerts subject with deterministic ids. SIGTERM checkpoints and hands the partitions back. See docs/scale-out.md.")

    @OptionGroup var nats: NATSFlags
    @Option(help: "Partitions this worker may own, e.g. 0-7 or 0-3,8-11 (default: any, shared out through leases).") var partitions: String?
    @Option(help: "Worker id (letters, digits, - and _; default: host name and a random suffix).") var workerID: String?
    @Option(name: .shortAndLong, help: "Rule files or folders (repeatable). Default: the config's rules, else the bundled pack.") var rules: [String] = []
    @Option(help: "Tuning file of exceptions (replaces the pack's Detections/exceptions.yml).") var exceptions: String?
    @Flag(help: "Apply no exceptions, not even the pack's defaults.") var noExceptions = false
    @Option(help: "Records fetched per pull and partition (1-4096).") var batch = 256
    @Option(help: "Checkpoint a partition's state after this many records...") var checkpointRecords = 10_000
    @Option(help: "...or after this long (30s, 5m).") var checkpointInterval = "5s"
    @Option(help: "A lease not renewed this long is taken over (e.g. 10s).") var leaseTtl = "10s"
    @Option(help: "How often the counters are logged.") var statsInterval = "30s"
    @Option(help: "Log level: trace, debug, info, notice, warning, error.") var logLevel: String?
    @Option(help: "Log format: text or json.") var logFormat: String?

    func run() async throws {
        let c = try nats.load()
        var w = WorkerConfig()
        w.nats = c.nats!
        if let workerID { w.workerID = workerID }
        if let partitions {
            guard let p = WorkerConfig.parsePartitions(partitions) else { throw ValidationError("--partitions must look like 0-7 or 0-3,8-11") }
            w.eligible = p
        }
        w.batch = batch
        w.checkpointRecords = checkpointRecords
        w.lateness = c.lateness
        for (name, text, set) in [("--checkpoint-interval", checkpointInterval, \WorkerConfig.checkpointInterval), ("--lease-ttl", leaseTtl, \.leaseTTL),
                                  ("--stats-interval", statsInterval, \.statsInterval)] as [(String, String, WritableKeyPath<WorkerConfig, Duration>)] {
            guard let ns = Durations.nanos(text), ns > 0 else { throw ValidationError("\(name) must be a duration like 5s, 1m") }
            w[keyPath: set] = .nanoseconds(ns)
        }
        if let problem = w.validate() { throw ValidationError(problem) }
        let logger = try LogSetup.bootstrap(level: logLevel ?? c.logLevel, format: logFormat ?? c.logFormat)
        // The telemetry-gap analytic judges a node's or cluster's whole rate: a partition sees a
        // fraction of it, so it stays with single-process scans and serve.
        let ruleSet = try CLIRules.load(paths: rules.isEmpty ? c.rules : rules, strict: false, placeholders: nil, quiet: false) { doc in
            if case .rule(let r) = doc, r.extensions["x-bulkhead-analytic"] == "telemetry_gap" { return false }
            return true
        }
        let tuning = try ScanTuning.load(file: exceptions ?? c.exceptions, disabled: noExceptions, ruleSet: ruleSet, strict: false, quiet: true)
        let worker = ScaleOutWorker(config: w, ruleSet: ruleSet, exceptions: tuning, logger: logger)
        let signals = StopSignals { worker.stop() }
        defer { signals.cancel() }
        do { try await worker.run() } catch {
            logger.critical("bulkhead worker failed", metadata: ["error": "\(error)"])
            throw ExitCode(2)
        }
    }
}

/// SIGTERM and SIGINT call `handler` (once each) instead of ending the process.
final class StopSignals {
    private let sources: [any DispatchSourceSignal]

    init(_ handler: @escaping @Sendable () -> Void) {
        sources = [SIGTERM, SIGINT].map { sig in
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler(handler: handler)
            s.resume()
            return s
        }
    }

    func cancel() { for s in sources { s.cancel() } }
}
