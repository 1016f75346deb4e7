import BulkheadDetections
import BulkheadEngine
import BulkheadNATS
import BulkheadScan
import BulkheadSinks
import Foundation
import Logging
import Synchronization

/// What every partition of a worker shares.
struct WorkerContext: Sendable {
    let config: WorkerConfig
    let js: JetStream
    let checkpoints: CheckpointStore
    let leases: LeaseManager
    let ruleSet: RuleSet
    let exceptions: CompiledExceptions
    let playbook: ResponsePlaybook
    let logger: Logger
    let stats: WorkerStats
}

/// The partition is another worker's now: our checkpoint was refused.
struct Fenced: Error {}

/// One owned partition: its own engine (so its state can be checkpointed and handed over
/// alone), fed in stream order from this owner's durable pull consumer.
///
/// Per batch: evaluate every new record, publish the alerts and wait until JetStream stored
/// them, then acknowledge the batch. Every `checkpointRecords` records or `checkpointInterval`
/// the engine state and the last sequence go to the key-value bucket. On takeover the new owner
/// restores that checkpoint and reads from the sequence after it, so the records processed since
/// are processed again, from the same state, in the same order: the same alerts, with the same
/// ids. The consumer's ack position is never used to resume, only this checkpoint.
final class PartitionRunner {
    let partition: Int
    let ctx: WorkerContext
    let engine: Engine
    let pipeline: ScanPipeline
    private let sink = AlertSink()
    private var head = CheckpointStore.Current(head: nil, revision: 0)
    /// Last stream sequence whose record is in the engine state (and whose alerts are out).
    private var last: UInt64 = 0
    private var records: UInt64 = 0
    private var sinceCheckpoint = 0
    private var lastCheckpoint = ContinuousClock.now
    private var me: String { ctx.config.workerID }
    private var consumer: String { ScaleOutSubjects.consumer(partition: partition, owner: me) }
    private var stream: String { ctx.config.nats.telemetryStream }

    init(partition: Int, ctx: WorkerContext) {
        self.partition = partition
        self.ctx = ctx
        engine = Engine(ruleSet: ctx.ruleSet)
        engine.correlator?.limits.lateness = ctx.config.lateness
        engine.correlator?.limits.maxGroups = ctx.config.maxGroups
        engine.exceptions = ctx.exceptions
        engine.beginInput(remaining: 0)
        var options = ScanOptions()
        options.maxReportedProblems = Int.max
        let sink = self.sink
        let logger = ctx.logger
        let p = partition
        pipeline = ScanPipeline(engine: engine, options: options, onAlert: { [playbook = ctx.playbook] raw in
            var a = raw
            playbook.apply(&a)
            sink.alerts.append(a)
        }, onProblem: { message in
            logger.warning("bad record on the stream (terminated, not redelivered)", metadata: ["partition": "\(p)", "problem": "\(message.prefix(300))"])
        })
    }

    enum Outcome: Sendable { case stopped, fenced, failed(String) }

    /// Runs until `stop` is set (then checkpoints), the partition is taken (fenced), or the task
    /// is cancelled (lost lease: no checkpoint, the new owner has its own).
    func run(previousOwner: String?, stop: StopSignal) async -> Outcome {
        do {
            try await start(previousOwner: previousOwner, stop: stop)
            while !stop.isSet {
                try Task.checkCancellation()
                let r: JetStream.FetchResult
                do {
                    r = try await ctx.js.fetchBatch(stream: stream, durable: consumer, batch: ctx.config.batch, expires: ctx.config.fetchWait)
                } catch is CancellationError {
                    throw CancellationError()
                } catch {
                    ctx.logger.debug("fetch failed", metadata: ["partition": "\(partition)", "error": "\(error)"])
                    try await resync(stop: stop)
                    continue
                }
                if !r.complete {
                    // Deliveries may have been lost in flight: newer ones could overtake them. Start
                    // the consumer again right after what the state holds.
                    try await resync(stop: stop)
                    continue
                }
                if !r.messages.isEmpty { try await process(r.messages) }
                if sinceCheckpoint >= ctx.config.checkpointRecords || (sinceCheckpoint > 0 && ContinuousClock.now - lastCheckpoint >= ctx.config.checkpointInterval) {
                    try await checkpoint()
                }
            }
            if sinceCheckpoint > 0 { try await checkpoint() }
            try? await ctx.js.deleteConsumer(stream: stream, durable: consumer)
            return .stopped
        } catch is Fenced {
            return .fenced
        } catch is CancellationError {
            return .stopped
        } catch {
            return .failed("\(error)")
        }
    }

    // MARK: Start

    private func start(previousOwner: String?, stop: StopSignal) async throws {
        head = try await retrying("read checkpoint", stop: stop) { try await self.ctx.checkpoints.current(self.partition) }
        let previousHead = head.head
        if let h = previousHead {
            let cp = try await retrying("load checkpoint", stop: stop) { try await self.ctx.checkpoints.load(h, partition: self.partition) }
            let skipped = cp.restore(into: engine)
            last = cp.lastSequence
            records = cp.records
            ctx.logger.info("partition state restored", metadata: [
                "partition": "\(partition)", "sequence": "\(last)", "records": "\(records)", "from": "\(h.owner)",
                "skipped_state": "\(skipped.count)"])
        }
        // Our checkpoint over the head we read fences the previous owner's writes.
        try await checkpoint(force: true)
        for old in Set([previousOwner, previousHead?.owner].compactMap { $0 }) where old != me {
            try? await ctx.js.deleteConsumer(stream: stream, durable: ScaleOutSubjects.consumer(partition: partition, owner: old))
            await ctx.checkpoints.purge(partition: partition, owner: old)
        }
        try await resync(stop: stop)
        ctx.stats.add(\.takeovers, 1)
    }

    /// (Re)creates our consumer to deliver from the sequence after `last`.
    private func resync(stop: StopSignal) async throws {
        ctx.stats.add(\.resyncs, 1)
        var c = JetStream.ConsumerConfig(durable: consumer, filterSubject: ScaleOutSubjects.telemetryFilter(prefix: ctx.config.nats.telemetryPrefix, partition: partition))
        c.ackPolicy = .all
        c.startSequence = last + 1
        c.ackWait = ctx.config.ackWait
        c.maxAckPending = ctx.config.batch * 2
        _ = try await retrying("create consumer", stop: stop) {
            guard await self.ctx.leases.owns(self.partition) else { throw Fenced() }
            try await self.ctx.js.deleteConsumer(stream: self.stream, durable: self.consumer)
            return try await self.ctx.js.createConsumer(stream: self.stream, c)
        }
    }

    // MARK: Records

    private func process(_ batch: [JetStreamMessage]) async throws {
        var bad: [JetStreamMessage] = []
        var processed = 0
        for m in batch {
            // Delivered again (ack_wait passed while we worked): already in the state.
            if m.streamSequence <= last {
                ctx.stats.add(\.redelivered, 1)
                continue
            }
            switch TelemetryMessage.decode(m.message) {
            case .failure(let why):
                ctx.logger.warning("malformed message on the stream (terminated)", metadata: [
                    "partition": "\(partition)", "sequence": "\(m.streamSequence)", "problem": "\(why)"])
                bad.append(m)
            case .success(let (format, kind)):
                if !pipeline.scan(record: m.message.payload, format: format, kind: kind, name: m.message.subject, line: Int(m.streamSequence)) {
                    bad.append(m)
                }
            }
            last = m.streamSequence
            records += 1
            processed += 1
            sinceCheckpoint += 1
        }
        ctx.stats.add(\.records, processed - bad.count)
        ctx.stats.add(\.bad, bad.count)
        try await publishAlerts()
        for m in bad { try? await ctx.js.term(m) }
        if let final = batch.last { try? await ctx.js.ack(final) }
    }

    /// Publishes what the batch raised; returns once JetStream stored all of it.
    private func publishAlerts() async throws {
        let alerts = sink.alerts
        guard !alerts.isEmpty else { return }
        sink.alerts.removeAll(keepingCapacity: true)
        let messages = alerts.map { a -> OutgoingMessage in
            let id = AlertIdentity.id(a)
            var fields = AlertJSON.fields(a)
            fields.insert(contentsOf: [("id", .string(id)), ("partition", .int(Int64(partition)))], at: 0)
            return OutgoingMessage(subject: ctx.config.nats.alertsSubject, payload: Array(JSONWriter.object(fields).utf8), messageID: id,
                                   headers: [("Bulkhead-Rule", a.rule.id), ("Bulkhead-Level", a.rule.level.description)])
        }
        let acks = try await ctx.js.publish(batch: messages, window: 128, retryFor: ctx.config.publishRetry)
        ctx.stats.add(\.alerts, acks.count)
        ctx.stats.add(\.duplicateAlerts, acks.filter(\.duplicate).count)
    }

    // MARK: Checkpoints

    private func checkpoint(force: Bool = false) async throws {
        let cp = PartitionCheckpoint.capture(engine, partition: partition, lastSequence: last, records: records)
        do {
            head = try await ctx.checkpoints.save(cp, owner: me, over: head)
            sinceCheckpoint = 0
            lastCheckpoint = ContinuousClock.now
            ctx.stats.add(\.checkpoints, 1)
        } catch let e as JetStreamError where e.isWrongRevision {
            throw Fenced()
        } catch {
            // The next checkpoint tries again; a takeover meanwhile replays a little more.
            if force { throw error }
            ctx.logger.warning("checkpoint not written", metadata: ["partition": "\(partition)", "error": "\(error)"])
            lastCheckpoint = ContinuousClock.now
        }
    }

    /// Retries `body` with backoff while the cluster recovers (elections, a restarting server).
    private func retrying<T>(_ what: String, stop: StopSignal, _ body: () async throws -> T) async throws -> T {
        var wait = Duration.milliseconds(100)
        while true {
            do { return try await body() } catch let e where e is Fenced || e is CancellationError || e is CheckpointStore.Corrupt {
                throw e
            } catch let e as JetStreamError where e.isWrongRevision {
                throw Fenced()
            } catch {
                if stop.isSet { throw error }
                try Task.checkCancellation()
                ctx.logger.debug("retrying", metadata: ["partition": "\(partition)", "what": "\(what)", "error": "\(error)"])
                try await Task.sleep(for: wait)
                wait = min(wait * 2, .seconds(2))
            }
        }
    }
}

/// Alerts raised while the current batch is evaluated (the pipeline's callback fills it).
final class AlertSink {
    var alerts: [Alert] = []
}

/// Set once, read by the runner between batches.
final class StopSignal: Sendable {
    private let flag = Atomic<Bool>(false)
    func set() { flag.store(true, ordering: .releasing) }
    var isSet: Bool { flag.load(ordering: .acquiring) }
}
