import AsyncHTTPClient
import BulkheadDetections
import BulkheadEngine
import BulkheadRules
import BulkheadScaleOut
import BulkheadScan
import BulkheadSinks
import BulkheadSources
import BulkheadState
import Foundation
import Logging
import NIOCore
import Synchronization

/// Everything `bulkhead serve` runs: rules and engine (on the ingest worker), the alert
/// store, sinks, metrics and the catalog the API reads. The HTTP layer (Routes) is thin on top.
public final class BulkheadService: Sendable {
    public let config: ServeConfig
    let auth: Authenticator
    public let store: AlertStore
    let worker: IngestWorker
    public let metrics: ServiceMetrics
    let catalog: PackCatalog
    let ruleSet: RuleSet
    let baseExceptions: [ExceptionEntry]
    let sinks: [any AlertSink]
    let httpClient: HTTPClient
    let logger: Logger
    let health: SourceHealth
    /// Request bodies being read at once (each up to max_body_bytes): bounded like the queue.
    let uploads: UploadGate
    let senderLimiter: SenderRateLimiter
    /// NATS mode (`nats:` in the config): batches go to JetStream for workers.
    let publisher: TelemetryPublisher?
    private let appliedExceptions = Mutex<[Int64]>([])
    private let batchSeq = Atomic<Int>(0)
    private let accepting = Atomic<Bool>(false)

    public struct StartupError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Loads rules, opens and migrates the store, replays batches a crash left in the queue,
    /// and starts the engine thread and the sinks.
    public static func start(config: ServeConfig, logger: Logger) async throws -> BulkheadService {
        let auth = try Authenticator.load(config: config)
        var rulePaths = config.rules
        if rulePaths.isEmpty {
            guard let pack = RuleFiles.defaultPack() else {
                throw StartupError(description: "no rules configured and the Detections/ pack was not found (set BULKHEAD_DETECTIONS)")
            }
            rulePaths = [pack]
        }
        let loaded = RuleFiles.load(rulePaths)
        let ruleSet = RuleSet(documents: loaded.documents)
        let diagnostics = loaded.diagnostics + ruleSet.diagnostics
        for d in diagnostics.prefix(20) { logger.warning("rule problem", metadata: ["problem": "\(d)"]) }
        guard ruleSet.ruleCount > 0 else { throw StartupError(description: "no rule compiled from \(rulePaths.joined(separator: ", "))") }

        var base: [ExceptionEntry] = []
        let exceptionsPath = config.exceptions ?? rulePaths.lazy.compactMap { RuleFiles.defaultExceptions(pack: $0) }.first
        if let exceptionsPath {
            guard let data = FileManager.default.contents(atPath: exceptionsPath) else {
                throw StartupError(description: "\(exceptionsPath): cannot read the exceptions file")
            }
            let r = ExceptionsFile.load(yaml: String(decoding: data, as: UTF8.self), file: exceptionsPath)
            if let bad = r.diagnostics.first(where: { $0.severity == .error }) { throw StartupError(description: "\(bad)") }
            base = r.entries
        }

        let engine = Engine(ruleSet: ruleSet)
        engine.correlator?.limits.lateness = config.lateness
        var options = ScanOptions()
        options.maxInputBytes = config.maxDecompressedBytes
        options.learnInventory = true
        // What the engine learned (baselines, new terms, telemetry-gap rates) survives restarts.
        let stateStore: SQLiteStateStore
        do {
            stateStore = try SQLiteStateStore(directory: config.stateDir)
            let r = engine.baselines.restore(try stateStore.load())
            logger.info("engine state restored", metadata: ["path": "\(stateStore.path)", "baseline_rules": "\(r.rules)", "terms": "\(r.terms)", "gap_keys": "\(r.gapKeys)"])
        } catch {
            throw StartupError(description: "engine state in \(config.stateDir): \(error)")
        }
        var publisher: TelemetryPublisher?
        var router: RecordRouter?
        if let nats = config.nats {
            do {
                let p = try await TelemetryPublisher.connect(nats, instance: try ServeInstance.id(dataDir: config.dataDir), logger: logger)
                publisher = p
                router = RecordRouter(engine: engine, partitioner: nats.partitioner, maxRecordBytes: p.maxRecordBytes)
            } catch {
                throw StartupError(description: "NATS (\(nats)): \(error)")
            }
        }
        let worker = IngestWorker(engine: engine, playbook: ResponsePlaybook(ruleSet: ruleSet), options: options, maxQueue: config.maxQueue,
                                  stateStore: stateStore, router: router)

        let store = try AlertStore.open(config: config)
        do { try await store.migrate() } catch {
            await store.close()
            throw StartupError(description: "alert store \(store.label): \(String(reflecting: error))")
        }
        let client = HTTPClient(eventLoopGroupProvider: .singleton,
                                configuration: .init(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5), read: .seconds(10))))
        let metrics = ServiceMetrics()
        var sinks: [any AlertSink] = []
        for s in config.sinks {
            switch s.kind {
            case .stdout: sinks.append(StdoutSink(minLevel: s.minLevel, includeEvent: s.includeEvent))
            case .file: sinks.append(RotatingFileSink(path: s.path ?? "", maxBytes: s.maxBytes, keep: s.keep, minLevel: s.minLevel,
                                                      includeEvent: s.includeEvent, logger: logger))
            case .webhook, .slack:
                do {
                    let w = try WebhookSink(config: s, spoolRoot: config.spoolDir, client: client, metrics: metrics, logger: logger)
                    await w.start()
                    sinks.append(w)
                } catch {
                    for s in sinks { await s.stop() }
                    try? await client.shutdown()
                    await store.close()
                    throw StartupError(description: "sink \(s.name): \(error)")
                }
            }
        }
        let service = BulkheadService(config: config, auth: auth, store: store, worker: worker,
                                      metrics: metrics, catalog: PackCatalog(rulePaths: rulePaths), ruleSet: ruleSet,
                                      baseExceptions: base, sinks: sinks, httpClient: client, logger: logger, publisher: publisher)
        try await service.applyExceptions()
        worker.start()
        try await service.replayQueue()
        service.accepting.store(true, ordering: .sequentiallyConsistent)
        logger.info("bulkhead serve ready", metadata: [
            "rules": "\(ruleSet.ruleCount)", "store": "\(store.label)", "tokens": "\(service.auth.tokenCount)", "sinks": "\(sinks.map(\.name))",
        ])
        return service
    }

    init(config: ServeConfig, auth: Authenticator, store: AlertStore, worker: IngestWorker, metrics: ServiceMetrics, catalog: PackCatalog,
         ruleSet: RuleSet, baseExceptions: [ExceptionEntry], sinks: [any AlertSink], httpClient: HTTPClient, logger: Logger,
         publisher: TelemetryPublisher? = nil) {
        self.config = config
        self.publisher = publisher
        self.auth = auth
        self.store = store
        self.worker = worker
        self.catalog = catalog
        self.ruleSet = ruleSet
        self.baseExceptions = baseExceptions
        self.sinks = sinks
        self.httpClient = httpClient
        self.logger = logger
        self.health = SourceHealth()
        self.metrics = metrics
        self.uploads = UploadGate(limit: config.maxQueue)
        self.senderLimiter = SenderRateLimiter(rate: config.ingestRequestsPerSecond, burst: config.ingestBurst)
    }

    public var isReady: Bool { accepting.load(ordering: .sequentiallyConsistent) && worker.running && (publisher?.isConnected ?? true) }

    // MARK: Ingest

    public struct IngestResult: Sendable {
        public var batch: String
        public var records: Int
        public var bad: Int
        public var alerts: Int
        public var problems: [String]
        /// NATS mode: records stored in the telemetry stream (those a replay had sent before included).
        public var published: Int?
    }

    public enum IngestError: Error {
        case notReady, queueFull, invalid(String, problems: [String]), tooLarge(String, problems: [String]), storage(String)
    }

    /// Spools the body (fsync) so a crash cannot lose it, runs it through the engine, stores
    /// the alerts and hands new ones to the sinks; only then does the caller get its 2xx.
    public func ingest(_ body: ByteBuffer, endpoint: String, format: Int?) async throws(IngestError) -> IngestResult {
        guard isReady else { throw .notReady }
        guard body.readableBytes > 0 else { throw .invalid("empty body", problems: []) }
        let n = batchSeq.wrappingAdd(1, ordering: .relaxed).newValue
        let file = (config.queueDir as NSString).appendingPathComponent(
            String(format: "%013lld-%08d-%@-%@.batch", Clock.nowMillis(), n, endpoint, format.map { Formats.all[$0].id } ?? "auto"))
        do { try Spool.write(body, to: file) } catch { throw .storage("cannot spool the batch: \(error)") }
        defer { try? FileManager.default.removeItem(atPath: file) }
        return try await run(file: file, name: "\(endpoint)/batch-\(n)", endpoint: endpoint, format: format)
    }

    private func run(file: String, name: String, endpoint: String, format: Int?) async throws(IngestError) -> IngestResult {
        let started = Date()
        let outcome: BatchOutcome
        do { outcome = try await worker.process(path: file, name: name, format: format) } catch { throw .queueFull }
        metrics.set("bulkhead_queue_depth", [], Double(worker.depth))
        metrics.observe("bulkhead_evaluation_seconds", outcome.seconds)
        for c in outcome.sourceCounts {
            metrics.add("bulkhead_records_total", [("source", c.source)], Double(c.records))
            if c.bad > 0 { metrics.add("bulkhead_bad_records_total", [("source", c.source)], Double(c.bad)) }
            health.add(source: c.source, records: Int(c.records), now: Clock.nowMillis())
        }
        if outcome.records == 0 {
            let first = outcome.operationalErrors.first ?? outcome.problems.first
            let why = (outcome.bad > 0 ? "no valid record" : "no record found") + (first.map { ": " + $0 } ?? "")
            throw .invalid(why, problems: outcome.operationalErrors + outcome.problems)
        }
        if let publisher {
            // Stored in JetStream (replicated) before the sender hears 200; a replay of this
            // batch after a crash publishes with the same message ids.
            do {
                let duplicates = try await publisher.publish(outcome.routed, batch: (file as NSString).lastPathComponent)
                metrics.add("bulkhead_published_records_total", [], Double(outcome.routed.count - duplicates))
            } catch {
                logger.error("NATS did not store a batch", metadata: ["records": "\(outcome.routed.count)", "error": "\(error)"])
                throw .storage("NATS did not store the batch; retry later")
            }
        }
        let storeStart = Date()
        let now = Clock.nowMillis()
        do {
            let fresh = try await Self.within(seconds: config.storeTimeoutSeconds) { [store, catalog, config, metrics] in
                var fresh: [(Alert, Int64)] = []
                for a in outcome.alerts {
                    metrics.add("bulkhead_alerts_total", [("rule", a.rule.id), ("level", a.rule.level.description)])
                    let detection = catalog.detectionByRule[a.rule.id]
                    let r = try await store.record(a, detection: detection, receivedAt: now, dedupMillis: config.dedupSeconds * 1000)
                    if r.isNew { fresh.append((a, r.id)) }
                }
                try await store.addSourceCounts(outcome.sourceCounts, now: now)
                return fresh
            }
            for (a, id) in fresh { await deliver(a, id: id) }
        } catch let e as StoreTimeout {
            logger.error("alert store write timed out", metadata: ["store": "\(store.label)", "seconds": "\(e.seconds)"])
            throw .storage("alert store did not answer within \(Int(e.seconds)) s")
        } catch {
            logger.error("alert store write failed", metadata: ["store": "\(store.label)", "error": "\(String(reflecting: error))"])
            throw .storage("alert store unavailable")
        }
        metrics.observe("bulkhead_store_seconds", Date().timeIntervalSince(storeStart))
        metrics.observe("bulkhead_request_seconds", Date().timeIntervalSince(started))
        // Cut short (over the decompressed limit, damaged gzip): what was read is stored, and
        // the sender hears that the rest was not.
        if let cut = outcome.operationalErrors.first {
            throw .tooLarge("\(cut); the \(outcome.records) records before it were processed and stored", problems: outcome.operationalErrors + outcome.problems)
        }
        return IngestResult(batch: name, records: outcome.records, bad: outcome.bad, alerts: outcome.alerts.count,
                            problems: outcome.operationalErrors + outcome.problems, published: publisher.map { _ in outcome.routed.count })
    }

    struct StoreTimeout: Error { var seconds: Double }

    /// Runs `body`, giving up (and cancelling it) after `seconds`.
    static func within<T: Sendable>(seconds: Double, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else { throw StoreTimeout(seconds: seconds) }
            return value
        }
    }

    private func deliver(_ a: Alert, id: Int64) async {
        guard !sinks.isEmpty else { return }
        var fields = AlertJSON.fields(a)
        fields.insert(("id", .int(id)), at: 0)
        let full = JSONWriter.object(fields)
        let withoutEvent = JSONWriter.object(fields.filter { $0.0 != "event" })
        for s in sinks where a.rule.level >= s.minLevel {
            await s.send(SinkPayload(id: id, level: a.rule.level, title: a.rule.title, entityLabel: a.entity.label, ruleID: a.rule.id,
                                     json: s.includeEvent ? full : withoutEvent))
        }
    }

    /// Batches left in the queue by a crash or kill are processed before new ones.
    func replayQueue() async throws {
        try FileManager.default.createDirectory(atPath: config.queueDir, withIntermediateDirectories: true)
        let files = (try FileManager.default.contentsOfDirectory(atPath: config.queueDir)).filter { $0.hasSuffix(".batch") }.sorted()
        for f in files {
            let path = (config.queueDir as NSString).appendingPathComponent(f)
            let parts = f.dropLast(".batch".count).split(separator: "-", maxSplits: 3)
            let endpoint = parts.count == 4 ? String(parts[2]) : "replay"
            let format = parts.count == 4 ? Formats.index(of: String(parts[3])) : nil
            do {
                let r = try await run(file: path, name: "\(endpoint)/replayed-\(f)", endpoint: endpoint, format: format)
                logger.info("replayed a queued batch", metadata: ["batch": "\(f)", "records": "\(r.records)", "alerts": "\(r.alerts)"])
            } catch {
                logger.warning("queued batch could not be replayed", metadata: ["batch": "\(f)", "error": "\(error)"])
            }
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    // MARK: Exceptions

    /// The pack's (or configured) exceptions plus those added through the API, compiled and
    /// handed to the engine thread.
    func applyExceptions() async throws {
        var entries = baseExceptions
        let stored = try await store.exceptions()
        appliedExceptions.withLock { $0 = stored.map(\.id) }
        for e in stored {
            let r = Self.loadException(e.body, name: e.name)
            for d in r.diagnostics where d.severity == .error { logger.warning("stored exception not applied", metadata: ["problem": "\(d)"]) }
            entries += r.entries
        }
        let compiled = CompiledExceptions(entries: entries, ruleSet: ruleSet, today: ExceptionsFile.today())
        worker.setExceptions(compiled)
    }

    /// Exceptions another instance added or removed in a shared store apply here too.
    func reloadExceptionsIfChanged() async {
        guard let now = try? await store.exceptions().map(\.id), now != appliedExceptions.withLock({ $0 }) else { return }
        do {
            try await applyExceptions()
            logger.info("exceptions reloaded from the store", metadata: ["count": "\(now.count)"])
        } catch {
            logger.warning("exceptions reload failed", metadata: ["error": "\(error)"])
        }
    }

    /// An exception stored as JSON, read by the tuning-file loader (JSON is YAML).
    static func loadException(_ json: String, name: String) -> ExceptionsFile.Result {
        ExceptionsFile.load(yaml: "{\"exceptions\": [\(json)]}", file: "exception \(name)")
    }

    /// Checks an exception body (JSON) the way a tuning file is checked; nil when it compiles.
    func checkException(_ json: String, name: String) -> String? {
        let r = Self.loadException(json, name: name)
        if let d = r.diagnostics.first(where: { $0.severity == .error }) { return d.description }
        guard !r.entries.isEmpty else { return "no exception in the request" }
        let compiled = CompiledExceptions(entries: r.entries, ruleSet: ruleSet, today: ExceptionsFile.today())
        if let d = compiled.diagnostics.first(where: { $0.severity == .error }) { return d.description }
        return nil
    }

    // MARK: Lifecycle

    /// Stops taking batches, lets the queued ones finish, closes correlation windows (their
    /// alerts are stored), stops the sinks and closes the store.
    public func shutdown() async {
        accepting.store(false, ordering: .sequentiallyConsistent)
        let last = await worker.finish()
        let now = Clock.nowMillis()
        for a in last {
            if let r = try? await store.record(a, detection: catalog.detectionByRule[a.rule.id], receivedAt: now, dedupMillis: config.dedupSeconds * 1000),
               r.isNew { await deliver(a, id: r.id) }
        }
        for s in sinks { await s.stop() }
        await publisher?.close()
        try? await httpClient.shutdown()
        await store.close()
        logger.info("bulkhead serve stopped", metadata: ["final_alerts": "\(last.count)"])
    }

    /// Hourly: alerts past the retention period go.
    func pruneOnce() async {
        let cutoff = Clock.nowMillis() - Int64(config.retentionDays) * 86_400_000
        do {
            let n = try await store.prune(before: cutoff)
            if n > 0 { logger.info("retention pruned alerts", metadata: ["alerts": "\(n)"]) }
        } catch {
            logger.warning("retention prune failed", metadata: ["error": "\(error)"])
        }
    }
}
