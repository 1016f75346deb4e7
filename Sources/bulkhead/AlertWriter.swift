import BulkheadEngine
import Foundation

/// Runs `body` over the alerts in the order they were added: on the calling thread, or on one
/// writer thread fed in batches (the body's state, the output stream above all, is then that
/// thread's until `finish`).
final class AlertWriter: @unchecked Sendable {
    // `pending`, `closed` and `busy` are guarded by `condition`; `body` runs on one thread at a time.
    private let condition = NSCondition()
    private var pending: [Alert] = []
    private var closed = false
    private var busy = false
    private var local: [Alert] = []
    private let body: (inout Alert) -> Void
    private let threaded: Bool
    private var thread: Thread?
    /// Alerts handed over per wake-up, and the most waiting before `add` blocks (memory bound).
    private let batch = 256
    private let maxPending = 2048

    init(threaded: Bool, body: @escaping (inout Alert) -> Void) {
        self.threaded = threaded
        self.body = body
        guard threaded else { return }
        let t = Thread { [self] in self.loop() }
        t.stackSize = 8 << 20
        thread = t
        t.start()
    }

    func add(_ alert: Alert) {
        guard threaded else {
            var a = alert
            body(&a)
            return
        }
        local.append(alert)
        if local.count >= batch { handOver() }
    }

    private func handOver() {
        condition.lock()
        while pending.count >= maxPending { condition.wait() }
        pending.append(contentsOf: local)
        condition.broadcast()
        condition.unlock()
        local.removeAll(keepingCapacity: true)
    }

    private func loop() {
        var work: [Alert] = []
        while true {
            condition.lock()
            while pending.isEmpty && !closed { condition.wait() }
            if pending.isEmpty {
                condition.unlock()
                return
            }
            swap(&work, &pending)
            busy = true
            condition.broadcast()
            condition.unlock()
            for i in work.indices { body(&work[i]) }
            work.removeAll(keepingCapacity: true)
            condition.lock()
            busy = false
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Every alert added has been through `body`; the writer thread has stopped.
    func finish() {
        guard threaded else { return }
        handOver()
        condition.lock()
        closed = true
        condition.broadcast()
        while !pending.isEmpty || busy { condition.wait() }
        condition.unlock()
        // Joining: the thread returns once it sees `closed` with nothing pending.
        while thread?.isFinished == false { usleep(100) }
    }
}
