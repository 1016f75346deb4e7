import BulkheadEngine
import Foundation

/// Runs `body` over the alerts in the order they were added: on the calling thread, or on one
/// writer thread fed in batches (the body's state, the output stream above all, is then that
/// thread's until `finish`). The scan hands batches on after every chunk of input
/// (`handOverBatched`), so sparse alerts are written as the scan goes, not all at its end.
final class AlertWriter: @unchecked Sendable {
    // `pending`, `closed`, `busy` and `flushRequested` are guarded by `condition`; `body` and
    // `flushOutput` run on one thread at a time.
    private let condition = NSCondition()
    private var pending: [Alert] = []
    private var closed = false
    private var busy = false
    private var flushRequested = false
    private var local: [Alert] = []
    private let body: (inout Alert) -> Void
    private let flushOutput: () -> Void
    private let threaded: Bool
    private var thread: Thread?
    /// Alerts handed over per wake-up, and the most waiting before `add` blocks (memory bound).
    private let batch = 256
    private let maxPending = 2048

    /// `flushOutput` pushes written alerts out of any buffer (see `handOverBatched`).
    init(threaded: Bool, flushOutput: @escaping () -> Void, body: @escaping (inout Alert) -> Void) {
        self.threaded = threaded
        self.flushOutput = flushOutput
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

    /// The alerts added so far go to the writer thread now; with `flush`, the output is flushed
    /// once they are written (a live input is waiting for more, so nothing else would push them).
    func handOverBatched(flush: Bool) {
        guard threaded else {
            if flush { flushOutput() }
            return
        }
        if local.isEmpty && !flush { return }
        handOver(flush: flush)
    }

    private func handOver(flush: Bool = false) {
        condition.lock()
        while pending.count >= maxPending { condition.wait() }
        pending.append(contentsOf: local)
        if flush { flushRequested = true }
        condition.broadcast()
        condition.unlock()
        local.removeAll(keepingCapacity: true)
    }

    private func loop() {
        var work: [Alert] = []
        while true {
            condition.lock()
            while pending.isEmpty && !flushRequested && !closed { condition.wait() }
            if pending.isEmpty && !flushRequested {
                condition.unlock()
                return
            }
            swap(&work, &pending)
            let flush = flushRequested
            flushRequested = false
            busy = true
            condition.broadcast()
            condition.unlock()
            for i in work.indices { body(&work[i]) }
            work.removeAll(keepingCapacity: true)
            if flush { flushOutput() }
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
