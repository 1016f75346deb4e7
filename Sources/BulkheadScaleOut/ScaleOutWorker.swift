import BulkheadDetections
import BulkheadEngine
import BulkheadNATS
import Foundation
import Logging
import Synchronization

/// Counters of one worker process, logged every `statsInterval` and at exit.
public final class WorkerStats: Sendable {
    public struct Counts: Sendable, Equatable {
        public var records = 0
        public var bad = 0
        public var alerts = 0
        /// Alerts JetStream already had (a replay after a takeover, within the duplicate window).
        public var duplicateAlerts = 0
        /// Deliveries of records already in the state (skipped).
        public var redelivered = 0
        public var checkpoints = 0
        public var resyncs = 0
        public var takeovers = 0
    }
    private let counts = Mutex(Counts())
    public init() {}
    public var snapshot: Counts { counts.withLock { $0 } }
    func add(_ field: WritableKeyPath<Counts, Int>, _ n: Int) {
        guard n != 0 else { return }
        counts.withLock { $0[keyPath: field] += n }
    }
}

/// `bulkhead worker`: claims partitions through leases, runs one `PartitionRunner` per owned
/// partition, hands partitions over when the share changes, and on `stop()` checkpoints and
/// releases everything it owns.
public final class ScaleOutWorker: Sendable {
    public let config: WorkerConfig
    let ruleSet: RuleSet
    let exceptions: CompiledExceptions
    let logger: Logger
    public let stats = WorkerStats()
    private let stopping = StopSignal()

    public init(config: WorkerConfig, ruleSet: RuleSet, exceptions: CompiledExceptions, logger: Logger) {
        self.config = config
        self.ruleSet = ruleSet
        self.exceptions = exceptions
        self.logger = logger
    }

    /// Asks `run` to finish: runners complete their batch and checkpoint, leases are released.
    public func stop() { stopping.set() }

    struct Running {
        let stop: StopSignal
        let task: Task<PartitionRunner.Outcome, Never>
        /// Set by the task as it ends (the main loop polls it without waiting).
        let ended: OutcomeBox
    }

    final class OutcomeBox: Sendable {
        private let value = Mutex<PartitionRunner.Outcome?>(nil)
        func set(_ o: PartitionRunner.Outcome) { value.withLock { $0 = o } }
        var outcome: PartitionRunner.Outcome? { value.withLock { $0 } }
    }

    public func run() async throws {
        if let problem = config.validate() { throw NATSError.invalid(problem) }
        let connection = try await NATSConnection.connect(config.nats.natsOptions)
        defer { Task { await connection.close() } }
        var js = JetStream(connection)
        js.timeout = .seconds(10)
        try await config.nats.ensureStreams(js)
        let stateKV = try await JetStream.retryingTransient { try await KeyValue.bucket(config.nats.stateBucket, js: js, history: 1, replicas: config.nats.replicas) }
        let leaseKV = try await JetStream.retryingTransient { try await KeyValue.bucket(config.nats.leaseBucket, js: js, history: 1, replicas: config.nats.replicas) }
        let leases = LeaseManager(kv: leaseKV, worker: config.workerID, partitions: config.nats.partitions, eligible: config.eligible, ttl: config.leaseTTL)
        let ctx = WorkerContext(config: config, js: js, checkpoints: CheckpointStore(kv: stateKV, chunkBytes: connection.maxPayload - 4096), leases: leases,
                                ruleSet: ruleSet, exceptions: exceptions, playbook: ResponsePlaybook(ruleSet: ruleSet), logger: logger, stats: stats)
        logger.info("bulkhead worker started", metadata: [
            "worker": "\(config.workerID)", "partitions": "\(config.nats.partitions)", "eligible": "\(config.eligible.map { "\($0.count)" } ?? "all")",
            "rules": "\(ruleSet.ruleCount)", "servers": "\(config.nats.servers.count)"])
        var running: [Int: Running] = [:]
        // Hand-overs finish in the background: the loop must keep renewing leases meanwhile, or
        // the others would think this worker dead while it checkpoints.
        var handingOver: [Int: Task<Void, Never>] = [:]
        let tick = config.leaseTTL / 3
        var lastStats = ContinuousClock.now
        while !stopping.isSet {
            let plan = await leases.tick()
            for p in plan.lost {
                running.removeValue(forKey: p)?.task.cancel()
                logger.warning("partition lost", metadata: ["partition": "\(p)"])
            }
            for p in plan.release {
                let r = running.removeValue(forKey: p)
                r?.stop.set()
                handingOver[p] = Task { [logger] in
                    _ = await r?.task.value
                    await leases.release(p)
                    logger.info("partition handed back", metadata: ["partition": "\(p)", "live_workers": "\(plan.liveWorkers)"])
                }
            }
            for (p, previous) in plan.acquired {
                running[p] = start(p, previousOwner: previous, ctx: ctx)
                logger.info("partition acquired", metadata: ["partition": "\(p)", "from": "\(previous ?? "-")", "live_workers": "\(plan.liveWorkers)"])
            }
            await reap(&running, leases: leases, ctx: ctx)
            if ContinuousClock.now - lastStats >= config.statsInterval {
                lastStats = ContinuousClock.now
                log(owned: running.keys.sorted())
            }
            try? await Task.sleep(for: tick)
        }
        for r in running.values { r.stop.set() }
        for (p, r) in running {
            _ = await r.task.value
            await leases.release(p)
        }
        for t in handingOver.values { await t.value }
        await leases.leave()
        log(owned: [])
        logger.info("bulkhead worker stopped", metadata: ["worker": "\(config.workerID)"])
    }

    private func start(_ p: Int, previousOwner: String?, ctx: WorkerContext) -> Running {
        let stop = StopSignal()
        let ended = OutcomeBox()
        let task = Task {
            let runner = PartitionRunner(partition: p, ctx: ctx)
            let outcome = await runner.run(previousOwner: previousOwner, stop: stop)
            ended.set(outcome)
            return outcome
        }
        return Running(stop: stop, task: task, ended: ended)
    }

    /// Runners that ended on their own: fenced ones are forgotten, failed ones start again
    /// from their checkpoint.
    private func reap(_ running: inout [Int: Running], leases: LeaseManager, ctx: WorkerContext) async {
        for (p, r) in running {
            guard let outcome = r.ended.outcome else { continue }
            running[p] = nil
            switch outcome {
            case .fenced:
                await leases.forget(p)
                logger.warning("partition taken by another worker", metadata: ["partition": "\(p)"])
            case .failed(let why):
                logger.error("partition failed; restarting from its checkpoint", metadata: ["partition": "\(p)", "error": "\(why)"])
                if await leases.owns(p) { running[p] = start(p, previousOwner: nil, ctx: ctx) }
            case .stopped:
                if await leases.owns(p) { running[p] = start(p, previousOwner: nil, ctx: ctx) }
            }
        }
    }

    private func log(owned: [Int]) {
        let s = stats.snapshot
        logger.info("worker stats", metadata: [
            "records": "\(s.records)", "bad": "\(s.bad)", "alerts": "\(s.alerts)", "duplicate_alerts": "\(s.duplicateAlerts)",
            "redelivered": "\(s.redelivered)", "checkpoints": "\(s.checkpoints)", "resyncs": "\(s.resyncs)", "takeovers": "\(s.takeovers)",
            "owned": "\(owned.map(String.init).joined(separator: ","))"])
    }
}
