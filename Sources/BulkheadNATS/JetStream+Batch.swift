import Foundation

/// A message for `JetStream.publish(batch:)`.
public struct OutgoingMessage: Sendable {
    public var subject: String
    public var payload: [UInt8]
    /// `Nats-Msg-Id`: what makes a resend harmless (the stream stores it once per duplicate window).
    public var messageID: String
    public var headers: [(String, String)]

    public init(subject: String, payload: [UInt8], messageID: String, headers: [(String, String)] = []) {
        self.subject = subject
        self.payload = payload
        self.messageID = messageID
        self.headers = headers
    }
}

extension JetStream {
    /// Publishes `batch` in order with up to `window` acknowledgements outstanding, and returns
    /// once every message is stored. When one fails (a timeout, no responders during a leader
    /// election, a lost connection), it and every message after it are sent again in order;
    /// those already stored come back as duplicates of their `Nats-Msg-Id`. Gives up with the
    /// last error after `retryFor`, or at once on a JetStream error that a resend cannot fix.
    ///
    /// Order: the stream stores the batch in order unless a message fails while one behind it
    /// succeeds; then the resent message lands after it (docs/scale-out.md).
    public func publish(batch: [OutgoingMessage], window: Int = 256, retryFor: Duration = .seconds(60)) async throws -> [PubAck] {
        var acks = [PubAck?](repeating: nil, count: batch.count)
        let deadline = ContinuousClock.now + retryFor
        var backoff = Duration.milliseconds(100)
        var start = 0
        while let from = acks[start...].firstIndex(where: { $0 == nil }) {
            start = from
            do {
                try await send(batch, from: from, window: max(1, window), into: &acks)
            } catch {
                guard Self.isTransient(error), ContinuousClock.now < deadline else { throw error }
                try await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(2))
            }
        }
        return acks.map { $0! }
    }

    /// One pass from `from`: throws at the first failure, leaving later acks as they came.
    private func send(_ batch: [OutgoingMessage], from: Int, window: Int, into acks: inout [PubAck?]) async throws {
        var inflight: [(index: Int, reply: PendingReply)] = []
        defer { for p in inflight { p.reply.abandon() } }
        var next = from
        var head = 0
        while next < batch.count || head < inflight.count {
            while next < batch.count && inflight.count - head < window {
                let m = batch[next]
                let reply = try await connection.send(request: m.subject, payload: m.payload, headers: m.headers + [("Nats-Msg-Id", m.messageID)])
                inflight.append((next, reply))
                next += 1
            }
            let (index, reply) = inflight[head]
            head += 1
            acks[index] = try Self.pubAck(try await reply.reply(timeout: timeout), subject: batch[index].subject)
            if head > 1024 {
                inflight.removeFirst(head)
                head = 0
            }
        }
        inflight.removeAll()
    }

    /// Errors that a later resend can get past (timeouts, elections, lost connections).
    public static func isTransient(_ error: any Error) -> Bool {
        if let e = error as? JetStreamError { return e.code == 503 || e.code == 408 }
        if let e = error as? NATSError {
            switch e {
            case .timeout, .notConnected, .noResponders: return true
            default: return false
            }
        }
        return error is CancellationError ? false : true
    }

    /// Runs `body` again while it fails with a transient error (a cluster electing its meta
    /// leader after a node failure answers nothing for seconds), for up to `limit`.
    @discardableResult
    public static func retryingTransient<T>(for limit: Duration = .seconds(60), _ body: () async throws -> T) async throws -> T {
        let deadline = ContinuousClock.now + limit
        var wait = Duration.milliseconds(200)
        while true {
            do { return try await body() } catch {
                guard isTransient(error), ContinuousClock.now < deadline else { throw error }
                try await Task.sleep(for: wait)
                wait = min(wait * 2, .seconds(2))
            }
        }
    }
}
