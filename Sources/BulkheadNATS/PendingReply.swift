import Synchronization

/// The reply to a request that has been sent: it may arrive before anyone waits for it.
/// Requests sent one after another with `NATSConnection.send(request:)` go out in that order,
/// which is what lets a publisher keep many JetStream publishes in flight without reordering
/// them.
public final class PendingReply: Sendable {
    enum State {
        case empty
        case waiting(CheckedContinuation<NATSMessage, any Error>)
        case done(Result<NATSMessage, any Error>)
    }
    private let state = Mutex(State.empty)
    let token: String
    private let onWithdraw: @Sendable (String) -> Void

    init(token: String, onWithdraw: @escaping @Sendable (String) -> Void) {
        self.token = token
        self.onWithdraw = onWithdraw
    }

    /// From the connection: the reply arrived, or the request failed.
    func complete(_ result: Result<NATSMessage, any Error>) {
        let waiter = state.withLock { s -> CheckedContinuation<NATSMessage, any Error>? in
            switch s {
            case .empty:
                s = .done(result)
                return nil
            case .waiting(let k):
                s = .done(result)
                return k
            case .done:
                return nil
            }
        }
        waiter?.resume(with: result)
    }

    /// Nobody will wait for this reply: its slot goes.
    func abandon() {
        onWithdraw(token)
        complete(.failure(CancellationError()))
    }

    /// Waits for the reply; `NATSError.timeout` after `timeout` (the slot is withdrawn then).
    public func reply(timeout: Duration) async throws -> NATSMessage {
        do {
            return try await withTimeout(timeout, "reply \(token)") { try await self.wait() }
        } catch {
            onWithdraw(token)
            throw error
        }
    }

    private func wait() async throws -> NATSMessage {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (k: CheckedContinuation<NATSMessage, any Error>) in
                let ready = state.withLock { s -> Result<NATSMessage, any Error>? in
                    if case .done(let r) = s { return r }
                    s = .waiting(k)
                    return nil
                }
                if let ready { k.resume(with: ready) }
            }
        } onCancel: {
            complete(.failure(CancellationError()))
        }
    }
}
