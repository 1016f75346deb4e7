import BulkheadDetections
import BulkheadEngine
import BulkheadScaleOut
import BulkheadScan
import BulkheadSources
import BulkheadState
import Foundation
import Synchronization

/// What one ingest batch produced.
public struct BatchOutcome: Sendable {
    public var records = 0
    public var bad = 0
    public var alerts: [Alert] = []
    public var problems: [String] = []
    public var operationalErrors: [String] = []
    public var sourceCounts: [(source: String, records: Int64, bad: Int64)] = []
    public var seconds = 0.0
    /// NATS mode: the batch's records with their partitions, to publish (nothing was evaluated).
    public var routed: [RoutedRecord] = []
}

/// The engine on its own thread. An Engine and its pipeline belong to one thread, and
/// correlation windows, baselines and telemetry-gap state carry across batches, so every
/// batch of every endpoint goes through this one queue, in arrival order.
final class IngestWorker: @unchecked Sendable {
    enum Job {
        case batch(path: String, name: String, format: Int?, reply: @Sendable (BatchOutcome) -> Void)
        case exceptions(CompiledExceptions)
        case finish(reply: @Sendable ([Alert]) -> Void)
        case saveState(reply: @Sendable (String?) -> Void)
    }

    struct QueueFull: Error {}

    private let condition = NSCondition()
    private var jobs: [Job] = []
    private var stopped = false
    private(set) var running = false
    let maxQueue: Int
    private let engine: Engine
    private let playbook: ResponsePlaybook
    private var options: ScanOptions
    private var thread: Thread?
    /// Learned baselines, new-terms sets and telemetry-gap rates, kept across restarts.
    private let stateStore: SQLiteStateStore?
    /// Alerts suppressed per exception name since the start (published after each batch).
    private let suppressedSnapshot = Mutex<[String: Int]>([:])
    /// NATS mode: records are routed to partitions instead of evaluated (ScaleOut's RecordRouter).
    private let router: RecordRouter?
    private var suppressedCarry: [String: Int] = [:]

    var suppressed: [String: Int] { suppressedSnapshot.withLock { $0 } }

    /// Runs on the engine thread.
    private func publishSuppressed() {
        var now = suppressedCarry
        for (i, n) in engine.suppressedCounts.enumerated() where i < engine.exceptions.active.count {
            now[engine.exceptions.active[i].name, default: 0] += n
        }
        suppressedSnapshot.withLock { $0 = now }
    }

    init(engine: Engine, playbook: ResponsePlaybook, options: ScanOptions, maxQueue: Int, stateStore: SQLiteStateStore? = nil, router: RecordRouter? = nil) {
        self.engine = engine
        self.router = router
        self.stateStore = stateStore
        self.playbook = playbook
        self.options = options
        self.maxQueue = maxQueue
    }

    var depth: Int { condition.lock(); defer { condition.unlock() }; return jobs.count }

    func start() {
        condition.lock()
        running = true
        condition.unlock()
        let t = Thread { [self] in loop() }
        t.name = "bulkhead-engine"
        t.stackSize = 8 << 20
        thread = t
        t.start()
    }

    /// Queues a spooled batch; throws QueueFull past `maxQueue` waiting batches.
    func process(path: String, name: String, format: Int?) async throws -> BatchOutcome {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<BatchOutcome, any Error>) in
            condition.lock()
            defer { condition.unlock() }
            if stopped { c.resume(throwing: QueueFull()); return }
            if jobs.count >= maxQueue { c.resume(throwing: QueueFull()); return }
            jobs.append(.batch(path: path, name: name, format: format, reply: { c.resume(returning: $0) }))
            condition.signal()
        }
    }

    /// Replaces the exceptions in force, between batches.
    func setExceptions(_ e: CompiledExceptions) {
        condition.lock()
        jobs.append(.exceptions(e))
        condition.signal()
        condition.unlock()
    }

    /// Writes what the engine learned to the state store (on the engine thread, between
    /// batches); nil when saved or when there is no store, else the error.
    func saveState() async -> String? {
        await withCheckedContinuation { (c: CheckedContinuation<String?, Never>) in
            condition.lock()
            defer { condition.unlock() }
            if stopped { c.resume(returning: nil); return }
            jobs.append(.saveState(reply: { c.resume(returning: $0) }))
            condition.signal()
        }
    }

    private func writeState() -> String? {
        guard let stateStore else { return nil }
        do { try stateStore.save(engine.baselines.snapshot()) } catch { return "\(error)" }
        return nil
    }

    /// After the queued batches: closes correlation windows and baselines (their alerts are
    /// returned) and stops the thread.
    func finish() async -> [Alert] {
        await withCheckedContinuation { (c: CheckedContinuation<[Alert], Never>) in
            condition.lock()
            if stopped { condition.unlock(); c.resume(returning: []); return }
            stopped = true
            jobs.append(.finish(reply: { c.resume(returning: $0) }))
            condition.signal()
            condition.unlock()
        }
    }

    private func loop() {
        var collected: [Alert] = []
        var problems: [String] = []
        let pipeline = ScanPipeline(engine: engine, options: options, onAlert: { [playbook] raw in
            var a = raw
            playbook.apply(&a)
            collected.append(a)
        }, onProblem: { message in
            if problems.count < 20 { problems.append(message) }
        })
        pipeline.options.maxReportedProblems = Int.max
        router?.attach(to: pipeline)
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            switch job {
            case .exceptions(let e):
                for (i, n) in engine.suppressedCounts.enumerated() where i < engine.exceptions.active.count {
                    suppressedCarry[engine.exceptions.active[i].name, default: 0] += n
                }
                engine.exceptions = e
            case .saveState(let reply):
                reply(writeState())
            case .finish(let reply):
                collected = []
                pipeline.finish()
                if let problem = writeState() { problems.append("state not saved: \(problem)") }
                condition.lock()
                running = false
                condition.unlock()
                reply(collected)
                return
            case .batch(let path, let name, let format, let reply):
                collected = []
                problems = []
                let start = Date()
                pipeline.resetStats()
                pipeline.options.forcedFormat = format
                engine.beginInput(remaining: 0)
                pipeline.scan(file: path, name: name)
                let stats = pipeline.stats
                var out = BatchOutcome()
                out.records = stats.records
                out.bad = stats.badRecords
                out.alerts = collected
                out.problems = problems
                if let router {
                    let (records, oversized) = router.take()
                    out.routed = records
                    out.bad += oversized.count
                    out.problems += oversized
                }
                out.operationalErrors = stats.operationalErrors
                for source in Set(stats.recordsBySource.keys).union(stats.badBySource.keys).sorted() {
                    out.sourceCounts.append((source, Int64(stats.recordsBySource[source] ?? 0), Int64(stats.badBySource[source] ?? 0)))
                }
                out.seconds = Date().timeIntervalSince(start)
                publishSuppressed()
                reply(out)
            }
        }
    }
}
