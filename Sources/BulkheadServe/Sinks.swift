import AsyncHTTPClient
import BulkheadEngine
import BulkheadSinks
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// Where new alerts go besides the store. A sink gets each alert once, when it is first
/// stored; repeats within the dedup period only raise the stored count.
protocol AlertSink: Sendable {
    var name: String { get }
    var minLevel: Level { get }
    var includeEvent: Bool { get }
    func send(_ payload: SinkPayload) async
    func stop() async
}

struct SinkPayload: Sendable {
    var id: Int64
    var level: Level
    var title: String
    var entityLabel: String
    var ruleID: String
    /// Bulkhead's alert JSON (as `scan -o jsonl`) with the store id.
    var json: String
}

/// One line per alert on standard output.
struct StdoutSink: AlertSink {
    let name = "stdout"
    let minLevel: Level
    let includeEvent: Bool
    func send(_ p: SinkPayload) async {
        FileHandle.standardOutput.write(Data((p.json + "\n").utf8))
    }
    func stop() async {}
}

/// JSON lines in a file that rotates past `maxBytes` (`path.1` ... `path.keep`).
actor RotatingFileSink: AlertSink {
    nonisolated let name: String
    nonisolated let minLevel: Level
    nonisolated let includeEvent: Bool
    let path: String
    let maxBytes: Int
    let keep: Int
    private var handle: FileHandle?
    private var size = 0
    private let logger: Logger

    init(path: String, maxBytes: Int, keep: Int, minLevel: Level, includeEvent: Bool = true, logger: Logger) {
        self.path = path
        self.includeEvent = includeEvent
        self.maxBytes = maxBytes
        self.keep = keep
        self.minLevel = minLevel
        self.logger = logger
        name = "file:" + path
    }

    private func open() -> FileHandle? {
        if let handle { return handle }
        let fm = FileManager.default
        try? fm.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        if !fm.fileExists(atPath: path) { _ = fm.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) }
        guard let h = FileHandle(forWritingAtPath: path) else {
            logger.error("alert file sink cannot open its file", metadata: ["path": "\(path)"])
            return nil
        }
        size = Int((try? h.seekToEnd()) ?? 0)
        handle = h
        return h
    }

    private func rotate() {
        try? handle?.close()
        handle = nil
        let fm = FileManager.default
        try? fm.removeItem(atPath: "\(path).\(keep)")
        for i in stride(from: keep - 1, through: 1, by: -1) { try? fm.moveItem(atPath: "\(path).\(i)", toPath: "\(path).\(i + 1)") }
        try? fm.moveItem(atPath: path, toPath: "\(path).1")
        size = 0
    }

    func send(_ p: SinkPayload) async {
        let line = Data((p.json + "\n").utf8)
        if size > 0 && size + line.count > maxBytes { rotate() }
        guard let h = open() else { return }
        h.write(line)
        size += line.count
    }

    func stop() async { try? handle?.synchronize(); try? handle?.close(); handle = nil }
}

/// POSTs each alert to a URL (a generic JSON webhook, or Slack's `{"text": ...}`), through
/// an on-disk spool: an alert is written to the spool first and deleted once the receiver
/// answered 2xx, so a receiver that is down, or a restart, loses nothing. The spool is
/// bounded; when full the oldest alerts are dropped, counted and logged.
actor WebhookSink: AlertSink {
    nonisolated let name: String
    nonisolated let minLevel: Level
    nonisolated let includeEvent: Bool
    let url: String
    let headers: [String: String]
    let slack: Bool
    let spoolDir: String
    let spoolMax: Int
    private let client: HTTPClient
    private let metrics: ServiceMetrics
    private let logger: Logger
    private var seq: UInt64 = 0
    private var wake: CheckedContinuation<Void, Never>?
    private var loop: Task<Void, Never>?
    private var stopping = false
    /// Backoff after a failed delivery: 1 s doubling to 60 s.
    static let backoff: (first: Double, max: Double) = (1, 60)

    init(config: ServeConfig.SinkConfig, spoolRoot: String, client: HTTPClient, metrics: ServiceMetrics, logger: Logger) throws {
        name = config.name
        minLevel = config.minLevel
        includeEvent = config.includeEvent
        url = config.url ?? ""
        headers = config.headers
        slack = config.kind == .slack
        spoolMax = config.spoolMaxBytes
        let safe = String(config.name.map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" ? $0 : "_" })
        spoolDir = (spoolRoot as NSString).appendingPathComponent(safe)
        try FileManager.default.createDirectory(atPath: spoolDir, withIntermediateDirectories: true)
        self.client = client
        self.metrics = metrics
        self.logger = logger
    }

    /// Reads what a previous run left in the spool, then delivers in the background.
    func start() {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: spoolDir)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
        spool = names.map { ($0, (try? FileManager.default.attributesOfItem(atPath: path($0))[.size] as? Int) ?? 0) }
        spoolTotal = spool.reduce(0) { $0 + $1.size }
        seq = names.last.flatMap { UInt64($0.prefix(16)) } ?? 0
        loop = Task { await self.deliverForever() }
    }

    /// The spooled files, oldest first, and their total size: kept in memory so that a send
    /// does not list and stat the whole spool directory.
    private var spool: [(name: String, size: Int)] = []
    private var spoolTotal = 0

    private func path(_ name: String) -> String { (spoolDir as NSString).appendingPathComponent(name) }

    private func removeFromSpool(_ file: String) {
        try? FileManager.default.removeItem(atPath: path(file))
        if let i = spool.firstIndex(where: { $0.name == file }) { spoolTotal -= spool.remove(at: i).size }
        metrics.set("bulkhead_sink_spool_bytes", [("sink", name)], Double(spoolTotal))
    }

    func send(_ p: SinkPayload) async {
        let body = Data((slack ? Self.slackBody(p) : p.json).utf8)
        while spoolTotal + body.count > spoolMax, let oldest = spool.first {
            removeFromSpool(oldest.name)
            metrics.add("bulkhead_sink_dropped_total", [("sink", name)])
            logger.warning("sink spool full: oldest alert dropped", metadata: ["sink": "\(name)"])
        }
        seq += 1
        let file = String(format: "%016llu.json", seq)
        _ = FileManager.default.createFile(atPath: path(file), contents: body, attributes: [.posixPermissions: 0o600])
        spool.append((file, body.count))
        spoolTotal += body.count
        metrics.set("bulkhead_sink_spool_bytes", [("sink", name)], Double(spoolTotal))
        wake?.resume()
        wake = nil
    }

    static func slackBody(_ p: SinkPayload) -> String {
        JSONWriter.object([("text", .string("[\(p.level.description.uppercased())] \(slackEscape(p.title)) — \(slackEscape(p.entityLabel)) (alert \(p.id), rule \(slackEscape(p.ruleID)))"))])
    }

    /// Slack's control characters: names from telemetry must not become `<!channel>` or links.
    static func slackEscape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    private func deliverForever() async {
        var delay = Self.backoff.first
        while !Task.isCancelled {
            guard let next = spool.first?.name else {
                if stopping { return }
                await withCheckedContinuation { wake = $0 }
                continue
            }
            guard let body = FileManager.default.contents(atPath: path(next)) else { removeFromSpool(next); continue }
            // A full spool may drop this alert while the POST is under way: removal is by name.
            let result = await post(body)
            if result != .retry {
                removeFromSpool(next)
                metrics.add(result == .delivered ? "bulkhead_sink_delivered_total" : "bulkhead_sink_dropped_total", [("sink", name)])
                delay = Self.backoff.first
            } else {
                metrics.add("bulkhead_sink_failures_total", [("sink", name)])
                if stopping { return }
                try? await Task.sleep(nanoseconds: UInt64(delay * 1e9))
                delay = min(delay * 2, Self.backoff.max)
            }
        }
    }

    enum Delivery { case delivered, retry, rejected }

    /// 2xx delivered; 408, 429, 5xx and network errors retried; other 4xx rejected for good
    /// (logged and counted as dropped) so one alert the receiver refuses cannot block the spool.
    private func post(_ body: Data) async -> Delivery {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "bulkhead")
        for (k, v) in headers { request.headers.add(name: k, value: v) }
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await client.execute(request, timeout: .seconds(10))
            _ = try? await response.body.collect(upTo: 64 << 10)
            let code = response.status.code
            if (200..<300).contains(code) { return .delivered }
            if (400..<500).contains(code) && code != 408 && code != 429 {
                logger.error("sink receiver rejected an alert; dropped", metadata: ["sink": "\(name)", "status": "\(code)"])
                return .rejected
            }
            logger.warning("sink receiver refused an alert; will retry", metadata: ["sink": "\(name)", "status": "\(code)"])
        } catch {
            logger.warning("sink delivery failed; will retry", metadata: ["sink": "\(name)", "error": "\(error)"])
        }
        return .retry
    }

    /// Stops delivering; what is still spooled stays on disk for the next start.
    func stop() async {
        stopping = true
        wake?.resume()
        wake = nil
        loop?.cancel()
        _ = await loop?.value
    }
}
