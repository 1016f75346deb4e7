import Foundation
import NIOCore
import Synchronization

/// Bounds concurrent ingest uploads: past the limit a request is refused at once (429)
/// rather than holding another body in memory.
final class UploadGate: Sendable {
    private let inUse = Mutex(0)
    let limit: Int
    init(limit: Int) { self.limit = limit }

    func withPermit<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        let got = inUse.withLock { n -> Bool in
            guard n < limit else { return false }
            n += 1
            return true
        }
        guard got else { throw APIError(status: .tooManyRequests, code: "busy", message: "too many uploads in progress; retry later", headers: [.retryAfter: "1"]) }
        defer { inUse.withLock { $0 -= 1 } }
        return try await body()
    }
}

/// A request budget per sender (token bucket per authenticated identity): one noisy or hostile
/// collector gets 429s while the others keep their share of the queue. Senders are
/// authenticated identities, so the table is bounded by the tokens and sessions there are.
final class SenderRateLimiter: Sendable {
    private struct Bucket { var tokens: Double; var last: Double }
    private let buckets = Mutex<[String: Bucket]>([:])
    let rate: Double
    let burst: Double

    init(rate: Double, burst: Double) {
        self.rate = rate
        self.burst = max(1, burst)
    }

    /// Takes one request from `sender`'s budget; nil when allowed, else the seconds until one is.
    func take(_ sender: String, now: Double = ProcessInfo.processInfo.systemUptime) -> Double? {
        guard rate > 0 else { return nil }
        return buckets.withLock { all -> Double? in
            var b = all[sender] ?? Bucket(tokens: burst, last: now)
            b.tokens = min(burst, b.tokens + (now - b.last) * rate)
            b.last = now
            defer { all[sender] = b }
            guard b.tokens >= 1 else { return (1 - b.tokens) / rate }
            b.tokens -= 1
            return nil
        }
    }
}

/// Writes a batch durably before it is processed.
enum Spool {
    static func write(_ body: ByteBuffer, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw StoreError("\(path): \(String(cString: strerror(errno)))") }
        var complete = false
        defer {
            close(fd)
            // A half-written batch (disk full) must not be replayed as if it were whole.
            if !complete { unlink(path) }
        }
        try body.withUnsafeReadableBytes { buf in
            var off = 0
            while off < buf.count {
                let n = Glibc.write(fd, buf.baseAddress! + off, buf.count - off)
                if n < 0 { if errno == EINTR { continue }; throw StoreError("\(path): \(String(cString: strerror(errno)))") }
                off += n
            }
        }
        guard fsync(fd) == 0 else { throw StoreError("\(path): fsync: \(String(cString: strerror(errno)))") }
        complete = true
    }
}

/// Records per source in the last minute, for the rate the sources page shows.
final class SourceHealth: Sendable {
    private let samples = Mutex<[String: [(time: Int64, records: Int)]]>([:])
    static let windowMillis: Int64 = 60_000

    func add(source: String, records: Int, now: Int64) {
        samples.withLock { s in
            var list = s[source, default: []]
            list.removeAll { $0.time < now - Self.windowMillis }
            if let last = list.last, last.time / 1000 == now / 1000 { list[list.count - 1].records += records } else { list.append((now, records)) }
            s[source] = list
        }
    }

    func ratePerSecond(_ source: String, now: Int64) -> Double {
        samples.withLock { s in
            Double((s[source] ?? []).filter { $0.time >= now - Self.windowMillis }.reduce(0) { $0 + $1.records }) / Double(Self.windowMillis / 1000)
        }
    }
}
