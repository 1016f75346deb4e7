import Foundation
import NIOCore
import NIOPosix
import Synchronization

public struct NATSOptions: Sendable {
    /// `nats://host:port` (or `host:port`); tried in order, and again after a disconnect.
    public var servers: [String]
    public var token: String?
    public var user: String?
    public var password: String?
    public var name = "bulkhead"
    /// Backoff between reconnect attempts: doubles from `reconnectWait` up to `maxReconnectWait`.
    public var reconnectWait: Duration = .milliseconds(100)
    public var maxReconnectWait: Duration = .seconds(2)
    /// How long a publish or request waits for a lost connection to come back.
    public var reconnectTimeout: Duration = .seconds(30)
    public var connectTimeout: Duration = .seconds(5)

    public init(servers: [String], token: String? = nil, user: String? = nil, password: String? = nil) {
        self.servers = servers
        self.token = token
        self.user = user
        self.password = password
    }
}

public enum NATSError: Error, CustomStringConvertible {
    case server(String), notConnected, timeout(String), closed, protocolError(String), invalid(String), noResponders(String)
    public var description: String {
        switch self {
        case .server(let m): return "nats server: \(m)"
        case .notConnected: return "not connected to any NATS server"
        case .timeout(let what): return "timed out: \(what)"
        case .closed: return "the connection is closed"
        case .protocolError(let m): return "NATS protocol error: \(m)"
        case .invalid(let m): return m
        case .noResponders(let s): return "no responders on \(s)"
        }
    }
}

/// A NATS client connection over SwiftNIO: publish (with headers), subscribe, request/reply,
/// PING/PONG both ways, and reconnection with backoff across the server list, re-subscribing
/// what was subscribed. State is guarded by one mutex; NIO callbacks and callers both go
/// through it.
public final class NATSConnection: @unchecked Sendable {
    public let options: NATSOptions
    struct Subscription {
        var subject: String
        var queue: String?
        var continuation: AsyncStream<NATSMessage>.Continuation
    }
    struct State {
        var channel: Channel?
        var generation = 0
        var closed = false
        var subscriptions: [UInt64: Subscription] = [:]
        var nextSID: UInt64 = 1
        /// Callers waiting for a PONG, in PING order (ids let a timed-out caller withdraw).
        var pongWaiters: [(id: Int, k: CheckedContinuation<Void, any Error>)] = []
        var nextWaiter = 0
        var infoWaiter: CheckedContinuation<String, any Error>?
        /// An INFO that arrived before anyone waited for it.
        var earlyInfo: String?
        var lastError: String?
        /// The generation whose handshake completed; only its loss starts a reconnection.
        var established = 0
        var reconnecting = false
        var maxPayload = 1 << 20
        var discovered: [String] = []
        var reconnects = 0
    }
    let state = Mutex(State())
    let inboxPrefix = "_INBOX." + NATSConnection.randomToken()
    private let replies = Mutex<(sid: UInt64?, waiting: [String: PendingReply], next: Int)>((nil, [:], 0))

    private init(options: NATSOptions) { self.options = options }

    /// Connects to the first server that answers; throws when none does.
    public static func connect(_ options: NATSOptions) async throws -> NATSConnection {
        let c = NATSConnection(options: options)
        var lastError: any Error = NATSError.notConnected
        for server in options.servers {
            do {
                try await c.establish(server)
                return c
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    /// Reconnects performed since the first connection.
    public var reconnects: Int { state.withLock { $0.reconnects } }
    public var isConnected: Bool { state.withLock { $0.channel != nil } }
    public var maxPayload: Int { state.withLock { $0.maxPayload } }

    /// NATS connections get an event loop of their own: an HTTP server's busy loops in the same
    /// process must not delay PONGs and acks (seen: a 5 s handshake timeout under test load).
    static let eventLoops = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    static func randomToken() -> String {
        var g = SystemRandomNumberGenerator()
        return (0..<22).map { _ in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".randomElement(using: &g)! }.map(String.init).joined()
    }

    static func hostPort(_ url: String) -> (String, Int)? {
        var s = Substring(url)
        if let r = s.range(of: "://") { s = s[r.upperBound...] }
        if let at = s.lastIndex(of: "@") { s = s[s.index(after: at)...] }
        let parts = s.split(separator: ":")
        guard let host = parts.first, !host.isEmpty else { return nil }
        let port = parts.count > 1 ? Int(parts[1].prefix { $0.isNumber }) ?? 4222 : 4222
        return (String(host), port)
    }

    // MARK: Connection life

    private func establish(_ server: String) async throws {
        guard let (host, port) = Self.hostPort(server) else { throw NATSError.invalid("bad server address \(server)") }
        let generation = state.withLock { s -> Int in s.generation += 1; return s.generation }
        let handler = NATSChannelHandler(connection: self, generation: generation)
        let channel = try await ClientBootstrap(group: Self.eventLoops)
            .connectTimeout(.nanoseconds(Int64(options.connectTimeout.components.seconds) * 1_000_000_000 + options.connectTimeout.components.attoseconds / 1_000_000_000))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { ch in ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(handler) } }
            .connect(host: host, port: port).get()
        do {
            let info = try await withTimeout(options.connectTimeout, "INFO from \(server)") {
                try await withTaskCancellationHandler {
                    try await withCheckedThrowingContinuation { (k: CheckedContinuation<String, any Error>) in
                        let early = self.state.withLock { s -> String? in
                            guard s.generation == generation else { return nil }
                            if let e = s.earlyInfo { s.earlyInfo = nil; return e }
                            s.infoWaiter = k
                            return nil
                        }
                        if let early { k.resume(returning: early) }
                    }
                } onCancel: {
                    self.state.withLock { s -> CheckedContinuation<String, any Error>? in defer { s.infoWaiter = nil }; return s.infoWaiter }?
                        .resume(throwing: CancellationError())
                }
            }
            applyInfo(info)
            var connect: [String: Any] = ["verbose": false, "pedantic": false, "headers": true, "no_responders": true,
                                          "protocol": 1, "lang": "swift", "version": "bulkhead", "name": options.name]
            if let t = options.token { connect["auth_token"] = t }
            if let u = options.user { connect["user"] = u }
            if let p = options.password { connect["pass"] = p }
            let json = String(decoding: try JSONSerialization.data(withJSONObject: connect, options: [.sortedKeys]), as: UTF8.self)
            var out = channel.allocator.buffer(capacity: json.utf8.count + 32)
            out.writeString("CONNECT \(json)\r\nPING\r\n")
            // Resubscribe before anything else is sent on the new connection.
            let subs = state.withLock { s -> [(UInt64, Subscription)] in s.subscriptions.map { ($0.key, $0.value) } }
            for (sid, sub) in subs { NATSEncoder.subscribe(&out, subject: sub.subject, queue: sub.queue, sid: sid) }
            let handshake = out
            try await withTimeout(options.connectTimeout, "CONNECT to \(server)") {
                try await self.waitForPong { channel.writeAndFlush(handshake, promise: nil) }
            }
            state.withLock { $0.channel = channel; $0.established = generation }
        } catch {
            channel.close(promise: nil)
            throw error
        }
    }

    private func applyInfo(_ json: String) {
        guard let o = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] else { return }
        state.withLock { s in
            if let m = o["max_payload"] as? Int, m > 0 { s.maxPayload = min(m, 64 << 20) }
            if let urls = o["connect_urls"] as? [String] { s.discovered = urls.prefix(32).map { "nats://" + $0 } }
        }
    }

    /// From the channel handler: one event of the current connection.
    func received(_ event: NATSParser.Event, generation: Int, channel: Channel) {
        switch event {
        case .info(let json):
            let (waiter, first) = state.withLock { s -> (CheckedContinuation<String, any Error>?, Bool) in
                guard s.generation == generation else { return (nil, false) }
                defer { s.infoWaiter = nil }
                if s.infoWaiter == nil && s.channel == nil { s.earlyInfo = json; return (nil, true) }
                return (s.infoWaiter, s.infoWaiter != nil)
            }
            if let waiter { waiter.resume(returning: json) } else if !first { applyInfo(json) }
        case .ping:
            var b = channel.allocator.buffer(capacity: 6)
            b.writeString("PONG\r\n")
            channel.writeAndFlush(b, promise: nil)
        case .pong:
            let waiter = state.withLock { s -> CheckedContinuation<Void, any Error>? in
                s.pongWaiters.isEmpty ? nil : s.pongWaiters.removeFirst().k
            }
            waiter?.resume()
        case .ok:
            break
        case .err(let message):
            let waiters = state.withLock { s -> [CheckedContinuation<Void, any Error>] in
                s.lastError = message
                defer { s.pongWaiters.removeAll() }
                return s.pongWaiters.map(\.k)
            }
            for w in waiters { w.resume(throwing: NATSError.server(message)) }
        case .msg(let m):
            if m.subject.hasPrefix(inboxPrefix + ".r."), m.sid == replies.withLock({ $0.sid }) {
                let token = String(m.subject.dropFirst(inboxPrefix.count + 3))
                let waiter = replies.withLock { $0.waiting.removeValue(forKey: token) }
                waiter?.complete(m.status == 503 ? .failure(NATSError.noResponders(m.subject)) : .success(m))
                return
            }
            let k = state.withLock { $0.subscriptions[m.sid]?.continuation }
            k?.yield(m)
        }
    }

    /// From the channel handler: the connection went away.
    func lost(generation: Int, reason: String?) {
        let (reconnect, waiters, info, lastError) = state.withLock { s -> (Bool, [CheckedContinuation<Void, any Error>], CheckedContinuation<String, any Error>?, String?) in
            guard s.generation == generation else { return (false, [], nil, nil) }
            s.channel = nil
            if let reason { s.lastError = reason }
            defer { s.pongWaiters.removeAll(); s.infoWaiter = nil }
            // A handshake that failed is the caller's error to handle, not a reason to reconnect;
            // one reconnection loop at a time.
            let start = !s.closed && !s.reconnecting && s.established == generation
            if start { s.reconnecting = true }
            return (start, s.pongWaiters.map(\.k), s.infoWaiter, s.lastError)
        }
        // A server that refuses the CONNECT says why (-ERR) before it closes.
        for w in waiters { w.resume(throwing: lastError.map { NATSError.server($0) } ?? NATSError.notConnected) }
        info?.resume(throwing: NATSError.notConnected)
        guard reconnect else { return }
        Task { await self.reconnect() }
    }

    private func reconnect() async {
        defer { state.withLock { $0.reconnecting = false } }
        var wait = options.reconnectWait
        while !state.withLock({ $0.closed }) {
            let servers = options.servers + state.withLock { $0.discovered }.filter { !options.servers.contains($0) }
            for server in servers {
                if state.withLock({ $0.closed || $0.channel != nil }) { return }
                if (try? await establish(server)) != nil {
                    state.withLock { $0.reconnects += 1 }
                    return
                }
            }
            // Jittered exponential backoff.
            let jitter = Double.random(in: 0.8...1.2)
            try? await Task.sleep(for: wait * jitter)
            wait = min(wait * 2, options.maxReconnectWait)
        }
    }

    /// The live channel, waiting up to `reconnectTimeout` for one while reconnecting.
    func liveChannel() async throws -> Channel {
        let deadline = ContinuousClock.now + options.reconnectTimeout
        while true {
            let (ch, closed) = state.withLock { ($0.channel, $0.closed) }
            if closed { throw NATSError.closed }
            if let ch { return ch }
            if ContinuousClock.now >= deadline { throw NATSError.notConnected }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    public func close() async {
        let (ch, subs, waiters) = state.withLock { s -> (Channel?, [Subscription], [CheckedContinuation<Void, any Error>]) in
            s.closed = true
            defer { s.channel = nil; s.subscriptions.removeAll(); s.pongWaiters.removeAll() }
            return (s.channel, Array(s.subscriptions.values), s.pongWaiters.map(\.k))
        }
        for sub in subs { sub.continuation.finish() }
        for w in waiters { w.resume(throwing: NATSError.closed) }
        let pending = replies.withLock { r -> [PendingReply] in defer { r.waiting.removeAll() }; return Array(r.waiting.values) }
        for p in pending { p.complete(.failure(NATSError.closed)) }
        try? await ch?.close()
    }

    // MARK: Messages

    public func publish(_ subject: String, payload: [UInt8], headers: [(String, String)] = [], reply: String? = nil) async throws {
        guard NATSEncoder.validSubject(subject), reply.map(NATSEncoder.validSubject) ?? true else { throw NATSError.invalid("invalid subject \(subject.prefix(100))") }
        // Bytes, not Characters: "\r\n" is one Character and would slip past a Character test.
        for (k, v) in headers where k.isEmpty || k.utf8.contains(0x3A) || (k + v).utf8.contains(where: { $0 == 0x0D || $0 == 0x0A }) {
            throw NATSError.invalid("invalid header \(k.prefix(50))")
        }
        guard payload.count <= maxPayload else { throw NATSError.invalid("payload of \(payload.count) bytes is over the server's max_payload \(maxPayload)") }
        let ch = try await liveChannel()
        var out = ch.allocator.buffer(capacity: payload.count + subject.utf8.count + 64)
        NATSEncoder.publish(&out, subject: subject, reply: reply, headers: headers, payload: payload)
        try await ch.writeAndFlush(out)
    }

    /// A subscription: messages arrive on `messages` until `unsubscribe` or `close`.
    public func subscribe(_ subject: String, queue: String? = nil) async throws -> NATSSubscription {
        guard NATSEncoder.validSubject(subject) else { throw NATSError.invalid("invalid subject \(subject.prefix(100))") }
        let (stream, continuation) = AsyncStream<NATSMessage>.makeStream(bufferingPolicy: .bufferingNewest(65_536))
        let sid = state.withLock { s -> UInt64 in
            let sid = s.nextSID
            s.nextSID += 1
            s.subscriptions[sid] = Subscription(subject: subject, queue: queue, continuation: continuation)
            return sid
        }
        let ch = try await liveChannel()
        var out = ch.allocator.buffer(capacity: subject.utf8.count + 32)
        NATSEncoder.subscribe(&out, subject: subject, queue: queue, sid: sid)
        try await ch.writeAndFlush(out)
        return NATSSubscription(connection: self, sid: sid, subject: subject, messages: stream)
    }

    func unsubscribe(_ sid: UInt64) async {
        let sub = state.withLock { $0.subscriptions.removeValue(forKey: sid) }
        sub?.continuation.finish()
        guard let ch = state.withLock({ $0.channel }) else { return }
        var out = ch.allocator.buffer(capacity: 32)
        NATSEncoder.unsubscribe(&out, sid: sid)
        try? await ch.writeAndFlush(out)
    }

    /// A round trip to the server: everything written before has been processed.
    public func flush(timeout: Duration = .seconds(5)) async throws {
        let ch = try await liveChannel()
        try await withTimeout(timeout, "PONG") {
            try await self.waitForPong {
                var b = ch.allocator.buffer(capacity: 6)
                b.writeString("PING\r\n")
                ch.writeAndFlush(b, promise: nil)
            }
        }
    }

    /// Registers for the next PONG, then runs `send` (which writes the PING); a cancelled
    /// caller (timeout) withdraws.
    private func waitForPong(_ send: @escaping @Sendable () -> Void) async throws {
        let id = state.withLock { s -> Int in s.nextWaiter += 1; return s.nextWaiter }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (k: CheckedContinuation<Void, any Error>) in
                state.withLock { $0.pongWaiters.append((id, k)) }
                send()
            }
        } onCancel: {
            let k = self.state.withLock { s -> CheckedContinuation<Void, any Error>? in
                guard let i = s.pongWaiters.firstIndex(where: { $0.id == id }) else { return nil }
                // Keep the slot order for PINGs still in flight: a later PONG answers the next one.
                let k = s.pongWaiters[i].k
                s.pongWaiters.remove(at: i)
                return k
            }
            k?.resume(throwing: CancellationError())
        }
    }

    /// Publishes with a reply subject and waits for the first reply.
    public func request(_ subject: String, payload: [UInt8], headers: [(String, String)] = [], timeout: Duration = .seconds(5)) async throws -> NATSMessage {
        try await withTimeout(timeout, "reply on \(subject)") {
            let pending = try await self.send(request: subject, payload: payload, headers: headers)
            return try await pending.reply(timeout: timeout)
        }
    }

    /// Publishes with a reply subject and returns once the request is written, with the reply
    /// still to come: requests sent one after another leave in that order.
    public func send(request subject: String, payload: [UInt8], headers: [(String, String)] = []) async throws -> PendingReply {
        try await ensureReplySubscription()
        let token = replies.withLock { r -> String in r.next += 1; return String(r.next) }
        let pending = PendingReply(token: token) { [weak self] t in _ = self?.replies.withLock { $0.waiting.removeValue(forKey: t) } }
        replies.withLock { $0.waiting[token] = pending }
        do {
            try await publish(subject, payload: payload, headers: headers, reply: inboxPrefix + ".r." + token)
        } catch {
            replies.withLock { _ = $0.waiting.removeValue(forKey: token) }
            throw error
        }
        return pending
    }

    /// A fresh inbox subject for a caller's own subscription (JetStream fetch).
    public func newInbox() -> String { inboxPrefix + "." + Self.randomToken() }

    private func ensureReplySubscription() async throws {
        if replies.withLock({ $0.sid }) != nil { return }
        let sub = try await subscribe(inboxPrefix + ".r.*")
        let kept = replies.withLock { r -> Bool in
            if r.sid != nil { return false }
            r.sid = sub.sid
            return true
        }
        if !kept { await sub.unsubscribe() }
    }
}

/// One subscription's messages.
public struct NATSSubscription: Sendable {
    let connection: NATSConnection
    public let sid: UInt64
    public let subject: String
    public let messages: AsyncStream<NATSMessage>
    public func unsubscribe() async { await connection.unsubscribe(sid) }
}

/// Runs `body`, failing with `NATSError.timeout` after `limit`.
/// The body must end when cancelled (the waits above withdraw their continuations).
func withTimeout<T: Sendable>(_ limit: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        do {
            guard let first = try await group.next(), let value = first else { throw NATSError.timeout(what) }
            return value
        } catch is CancellationError {
            throw NATSError.timeout(what)
        }
    }
}

/// Feeds the channel's bytes to the parser and the events to the connection.
final class NATSChannelHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    // Touched on the channel's event loop only.
    private var parser = NATSParser()
    private weak var connection: NATSConnection?
    private let generation: Int
    private var failure: String?

    init(connection: NATSConnection, generation: Int) {
        self.connection = connection
        self.generation = generation
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        guard let connection else { return }
        let channel = context.channel
        do {
            try parser.feed(&bytes) { event in connection.received(event, generation: generation, channel: channel) }
        } catch {
            failure = "\(error)"
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection?.lost(generation: generation, reason: failure)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failure = "\(error)"
        context.close(promise: nil)
    }
}
