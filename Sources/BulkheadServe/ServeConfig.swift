import BulkheadEngine
import BulkheadScaleOut
import Foundation
import Yams

/// `bulkhead serve` settings: one YAML file, then environment variables, then flags.
public struct ServeConfig: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var dataDir = "./bulkhead-data"
    public var tokensFile: String?
    /// Extra tokens from BULKHEAD_TOKENS (`name:token,name:token`).
    public var envTokens: String?
    public var tlsCert: String?
    public var tlsKey: String?
    /// When set, clients must present a certificate signed by this CA (mutual TLS).
    public var tlsClientCA: String?
    public var maxBodyBytes = 16 << 20
    /// A gzip body may expand to at most this many bytes.
    public var maxDecompressedBytes = 256 << 20
    /// Ingest batches waiting for the engine; beyond it requests get 429.
    public var maxQueue = 64
    /// Ingest requests per second each sender (token or session) may make, with bursts up to
    /// `ingestBurst`; past it that sender gets 429 while the others go on. 0: no limit.
    public var ingestRequestsPerSecond = 500.0
    public var ingestBurst = 1000.0
    public var postgresURL: String?
    public var retentionDays = 30
    /// Longest a batch waits for the alert store before the sender gets 503 (a database outage
    /// must not hold collectors for minutes).
    public var storeTimeoutSeconds = 10.0
    /// Same rule, same entity within this period: one alert with a count.
    public var dedupSeconds: Int64 = 600
    public var rules: [String] = []
    public var exceptions: String?
    public var silenceAfterSeconds: Int64 = 600
    public var lateness: Int64 = 300 * 1_000_000_000
    public var sinks: [SinkConfig] = []
    public var logLevel = "info"
    /// `text` (swift-log's key=value lines) or `json` (one object per line, for log pipelines).
    public var logFormat = "text"
    /// How long a UI session lasts.
    public var sessionSeconds: Int64 = 12 * 3600
    /// NATS mode: records are published to JetStream for workers instead of evaluated here.
    public var nats: ScaleOutConfig?

    public init() {}

    public struct SinkConfig: Sendable, Equatable {
        public enum Kind: String, Sendable { case webhook, slack, file, stdout }
        public var kind: Kind
        public var url: String?
        public var headers: [String: String] = [:]
        public var minLevel: Level = .informational
        public var spoolMaxBytes = 64 << 20
        public var path: String?
        public var maxBytes = 100 << 20
        public var keep = 5
        /// Whether payloads carry the triggering record (`event`); off keeps evidence out of
        /// the receiver (and, for stdout, out of the cluster's log pipeline).
        public var includeEvent = true
        public var name: String { kind.rawValue + (url.map { ":" + (URL(string: $0)?.host ?? "?") } ?? path.map { ":" + $0 } ?? "") }
        public init(kind: Kind) { self.kind = kind }
    }

    public var listen: String {
        get { "\(host):\(port)" }
        set {
            guard let colon = newValue.lastIndex(of: ":") else { host = newValue; return }
            host = String(newValue[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            port = Int(newValue[newValue.index(after: colon)...]) ?? port
        }
    }

    public var sqlitePath: String { (dataDir as NSString).appendingPathComponent("bulkhead.sqlite") }
    public var queueDir: String { (dataDir as NSString).appendingPathComponent("queue") }
    public var spoolDir: String { (dataDir as NSString).appendingPathComponent("spool") }
    public var stateDir: String { (dataDir as NSString).appendingPathComponent("state") }

    // MARK: Loading

    public struct Problem: Error, CustomStringConvertible {
        public var description: String
        init(_ d: String) { description = d }
    }

    /// Reads the YAML file (if any), then applies the environment.
    public static func load(file: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ServeConfig {
        var c = ServeConfig()
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else { throw Problem("\(file): cannot read") }
            try c.apply(yaml: String(decoding: data, as: UTF8.self), file: file)
        }
        c.apply(environment: environment)
        return c
    }

    mutating func apply(environment env: [String: String]) {
        if let v = env["BULKHEAD_LISTEN"] { listen = v }
        if let v = env["BULKHEAD_DATA_DIR"] { dataDir = v }
        if let v = env["BULKHEAD_TOKENS_FILE"] { tokensFile = v }
        if let v = env["BULKHEAD_TOKENS"] { envTokens = v }
        if let v = env["BULKHEAD_POSTGRES_URL"], !v.isEmpty { postgresURL = v }
        if let v = env["BULKHEAD_LOG_LEVEL"] { logLevel = v }
        if let v = env["BULKHEAD_LOG_FORMAT"] { logFormat = v }
        applyNATS(environment: env)
    }

    mutating func apply(yaml text: String, file: String) throws {
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch { throw Problem("\(file): not YAML: \(error)") }
        guard let root = node?.mapping else {
            if node == nil { return }
            throw Problem("\(file): the top level must be a mapping")
        }
        func fail(_ key: String, _ what: String, _ n: Node) -> Problem {
            Problem("\(file):\(n.mark?.line ?? 0): \(key): \(what)")
        }
        func string(_ key: String, _ n: Node) throws -> String {
            guard let s = n.scalar?.string else { throw fail(key, "expected a string", n) }
            return s
        }
        func int(_ key: String, _ n: Node) throws -> Int {
            guard let s = n.scalar?.string, let i = Int(s), i >= 0 else { throw fail(key, "expected a non-negative integer", n) }
            return i
        }
        func duration(_ key: String, _ n: Node) throws -> Int64 {
            guard let s = n.scalar?.string, let ns = ServeDurations.nanos(s) else { throw fail(key, "expected a duration like 30s, 10m, 1h", n) }
            return ns
        }
        for (k, v) in root {
            let key = k.scalar?.string ?? ""
            switch key {
            case "listen": listen = try string(key, v)
            case "data_dir": dataDir = try string(key, v)
            case "auth":
                for (k2, v2) in v.mapping ?? [:] {
                    switch k2.scalar?.string {
                    case "tokens_file": tokensFile = try string("auth.tokens_file", v2)
                    default: throw fail("auth.\(k2.scalar?.string ?? "?")", "unknown setting", k2)
                    }
                }
            case "tls":
                for (k2, v2) in v.mapping ?? [:] {
                    switch k2.scalar?.string {
                    case "cert": tlsCert = try string("tls.cert", v2)
                    case "key": tlsKey = try string("tls.key", v2)
                    case "client_ca": tlsClientCA = try string("tls.client_ca", v2)
                    default: throw fail("tls.\(k2.scalar?.string ?? "?")", "unknown setting", k2)
                    }
                }
            case "limits":
                for (k2, v2) in v.mapping ?? [:] {
                    switch k2.scalar?.string {
                    case "max_body_bytes": maxBodyBytes = max(1024, try int("limits.max_body_bytes", v2))
                    case "max_decompressed_bytes": maxDecompressedBytes = max(1024, try int("limits.max_decompressed_bytes", v2))
                    case "max_queue": maxQueue = max(1, try int("limits.max_queue", v2))
                    case "ingest_requests_per_second": ingestRequestsPerSecond = Double(max(0, try int("limits.ingest_requests_per_second", v2)))
                    case "ingest_burst": ingestBurst = Double(max(1, try int("limits.ingest_burst", v2)))
                    default: throw fail("limits.\(k2.scalar?.string ?? "?")", "unknown setting", k2)
                    }
                }
            case "store":
                for (k2, v2) in v.mapping ?? [:] {
                    switch k2.scalar?.string {
                    case "postgres_url": if case .scalar(let s) = v2, !s.string.isEmpty, s.string != "null" { postgresURL = s.string }
                    case "retention_days": retentionDays = max(1, try int("store.retention_days", v2))
                    case "timeout_seconds": storeTimeoutSeconds = Double(max(1, try int("store.timeout_seconds", v2)))
                    default: throw fail("store.\(k2.scalar?.string ?? "?")", "unknown setting", k2)
                    }
                }
            case "dedup_period": dedupSeconds = try duration(key, v) / 1_000_000_000
            case "lateness": lateness = try duration(key, v)
            case "rules":
                guard let seq = v.sequence else { throw fail(key, "expected a list of paths", v) }
                rules = try seq.map { try string(key, $0) }
            case "exceptions": if let s = v.scalar?.string, s != "null", !s.isEmpty { exceptions = s }
            case "sources":
                for (k2, v2) in v.mapping ?? [:] {
                    switch k2.scalar?.string {
                    case "silence_after": silenceAfterSeconds = try duration("sources.silence_after", v2) / 1_000_000_000
                    default: throw fail("sources.\(k2.scalar?.string ?? "?")", "unknown setting", k2)
                    }
                }
            case "sinks":
                guard let seq = v.sequence else { throw fail(key, "expected a list", v) }
                sinks = try seq.map { try Self.sink($0, file: file) }
            case "log_level": logLevel = try string(key, v)
            case "log_format":
                logFormat = try string(key, v)
                guard ["text", "json"].contains(logFormat) else { throw fail(key, "must be text or json", v) }
            case "session_period": sessionSeconds = try duration(key, v) / 1_000_000_000
            case "nats": nats = try Self.nats(v, file: file)
            default: throw fail(key, "unknown setting", k)
            }
        }
    }

    static func sink(_ n: Node, file: String) throws -> SinkConfig {
        let line = n.mark?.line ?? 0
        guard let m = n.mapping, let type = m["type"]?.scalar?.string else { throw Problem("\(file):\(line): sinks: each sink needs a type (webhook, slack, file, stdout)") }
        guard let kind = SinkConfig.Kind(rawValue: type) else { throw Problem("\(file):\(line): sinks: unknown type \(type)") }
        var s = SinkConfig(kind: kind)
        for (k, v) in m {
            switch k.scalar?.string {
            case "type": break
            case "url": s.url = v.scalar?.string
            case "headers": for (hk, hv) in v.mapping ?? [:] { s.headers[hk.scalar?.string ?? ""] = hv.scalar?.string ?? "" }
            case "min_level":
                guard let l = v.scalar.flatMap({ Level(name: $0.string) }) else { throw Problem("\(file):\(line): sinks: min_level must be a level") }
                s.minLevel = l
            case "spool_max_bytes": s.spoolMaxBytes = Int(v.scalar?.string ?? "") ?? s.spoolMaxBytes
            case "path": s.path = v.scalar?.string
            case "max_bytes": s.maxBytes = max(4096, Int(v.scalar?.string ?? "") ?? s.maxBytes)
            case "keep": s.keep = max(1, Int(v.scalar?.string ?? "") ?? s.keep)
            case "include_event":
                guard let b = v.scalar.flatMap({ Bool($0.string) }) else { throw Problem("\(file):\(line): sinks: include_event must be true or false") }
                s.includeEvent = b
            default: throw Problem("\(file):\(line): sinks: unknown setting \(k.scalar?.string ?? "?")")
            }
        }
        if (kind == .webhook || kind == .slack), s.url.flatMap(URL.init(string:))?.host == nil {
            throw Problem("\(file):\(line): sinks: \(type) needs an http(s) url")
        }
        if kind == .file, s.path == nil { throw Problem("\(file):\(line): sinks: file needs a path") }
        return s
    }
}

/// `30s`, `10m`, `1h`, `2d` → nanoseconds.
enum ServeDurations {
    static func nanos(_ s: String) -> Int64? {
        let t = s.trimmingCharacters(in: .whitespaces)
        guard let unit = t.last, let n = Int64(t.dropLast()), n >= 0 else { return nil }
        let mult: Int64
        switch unit {
        case "s": mult = 1
        case "m": mult = 60
        case "h": mult = 3600
        case "d": mult = 86400
        default: return nil
        }
        return n * mult * 1_000_000_000
    }
}
