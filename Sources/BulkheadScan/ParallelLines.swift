import BulkheadEngine
import BulkheadEvent
import BulkheadSources
import Foundation

// A parallel scan of JSON lines in two stages. Worker threads take batches of whole lines and
// do the stateless work: parse, decode, route, match every rule. Most records match nothing
// and end there, leaving at most their telemetry-gap observation. The calling thread consumes
// the batches in input order and runs everything stateful: a record that matched a rule, may
// teach the inventory, or is unusual in any way (bad JSON, a wrapper, an undecodable record) is
// evaluated again by the ordinary sequential path, at its place in the stream. So alerts,
// their order, line numbers, bad-record reports, correlation, baselines, incidents and the
// inventory come out exactly as in a sequential scan.

/// Whole lines of one input, numbered from `firstLine`.
struct LineBatch: Sendable {
    var bytes: [UInt8]
    /// A line longer than the limit was dropped here (counts as one line, reported as bad).
    var droppedLongLine = false
}

/// What stage one found in a batch, in line order.
struct LineBatchResult: Sendable {
    enum Item: Sendable {
        /// Evaluate in order with the sequential path (bytes `start..<end` of the batch).
        case ordered(line: Int32, start: Int32, end: Int32)
        /// One record of the input's format that matched rules (or teaches the inventory): its
        /// parse is `nodes[firstNode...]` and its rules `matches[firstRule..<firstRule + rules]`,
        /// so only the stateful part runs in order.
        case matched(Matched)
        /// A record that matched nothing: counted, and its gap observation fed in order.
        case quiet(line: Int32, format: Int32, gap: GapObservation?)
        /// A line over `maxLineBytes`.
        case tooLong(line: Int32)
    }
    struct Matched: Sendable {
        var line: Int32, format: Int32, kind: Int32
        var start: Int32, end: Int32
        var firstNode: Int32, nodes: Int32
        var firstRule: Int32, rules: Int32
        /// Its telemetry-gap observation, when it needs nothing learned (else made in order).
        var gap: GapObservation?
    }
    var batch: LineBatch
    var items: [Item] = []
    var matches: [Int] = []
    var nodes: [JSONTape.Node] = []
    var lines = 0
}

/// Stage one, owned by one worker thread.
final class LineWorker {
    let matcher: RecordMatcher
    let format: Int
    let observeGap: Bool
    let learnInventory: Bool
    let maxLineBytes: Int
    var tape: JSONTape
    var rewriteTape: JSONTape
    var rewriteBuffer: [UInt8] = []
    /// Matching rules and parses of the batch's matched records (moved into the result).
    var matches: [Int] = []
    var nodes: [JSONTape.Node] = []
    let scratch = ScratchBuffer()
    let sources = Formats.all.map(\.id)
    let learning = Formats.all.map { Inventory.learningSources.contains($0.id) }

    init(ruleSet: RuleSet, format: Int, observeGap: Bool, options: ScanOptions) {
        matcher = RecordMatcher(ruleSet: ruleSet)
        self.format = format
        self.observeGap = observeGap
        learnInventory = options.learnInventory
        maxLineBytes = options.maxLineBytes
        let limits = JSONTape.Limits(maxDepth: options.maxDepth, maxBytes: options.maxDocumentBytes)
        tape = JSONTape(limits: limits)
        rewriteTape = JSONTape(limits: limits)
        rewriteBuffer.reserveCapacity(64 << 10)
    }

    func run(_ batch: LineBatch) -> LineBatchResult {
        var result = Self.split(batch, maxLineBytes: maxLineBytes) { bytes, line, start in
            classify(bytes, line: line, start: start)
        }
        swap(&result.matches, &matches)
        swap(&result.nodes, &nodes)
        return result
    }

    /// The batch's lines (LF or CRLF) with their items: overlong lines are `.tooLong`, the rest
    /// get `item` (nil: not a record).
    static func split(_ batch: LineBatch, maxLineBytes: Int,
                      item: (UnsafeRawBufferPointer, Int32, Int) -> LineBatchResult.Item?) -> LineBatchResult {
        var result = LineBatchResult(batch: batch)
        if batch.droppedLongLine {
            result.items.append(.tooLong(line: 0))
            result.lines = 1
            return result
        }
        batch.bytes.withUnsafeBytes { buf in
            var start = 0, line: Int32 = 0
            while start < buf.count {
                let nl = memchrIndex(buf, from: start) ?? buf.count
                let bytes = trimCR(UnsafeRawBufferPointer(rebasing: buf[start..<nl]))
                if bytes.count > maxLineBytes {
                    result.items.append(.tooLong(line: line))
                } else if let it = item(bytes, line, start) {
                    result.items.append(it)
                }
                line += 1
                start = nl + 1
            }
            result.lines = Int(line)
        }
        return result
    }

    /// nil: not a record (a blank line, or one the format skips).
    func classify(_ bytes: UnsafeRawBufferPointer, line: Int32, start: Int) -> LineBatchResult.Item? {
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return nil }
        let range = (start: Int32(start), end: Int32(start + bytes.count))
        let ordered = LineBatchResult.Item.ordered(line: line, start: range.start, end: range.end)
        guard (try? tape.parse(bytes)) != nil else { return ordered }
        return tape.nodes.withUnsafeBufferPointer { nodes -> LineBatchResult.Item? in
            let base = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
            let view = EventView(base: base, count: bytes.count, nodes: nodes, scratch: scratch)
            guard view.kind(0) == .object, ScanPipeline.wrapperElements(view) == nil,
                  case .json(let f) = Formats.all[format] else { return ordered }
            switch f.decode(view, into: &rewriteBuffer) {
            case .record(let kind):
                return stageOne(view, kind: kind, line: line, range, rewritten: false)
            case .rewritten(let kind):
                return rewriteBuffer.withUnsafeBytes { raw in
                    (try? EventView.with(bytes: raw, tape: &rewriteTape, scratch: scratch) { v in
                        stageOne(v, kind: kind, line: line, range, rewritten: true)
                    }) ?? ordered
                }
            case .skip:
                return nil
            case .invalid:
                return ordered
            }
        }
    }

    /// A decoded record: matched here; `.quiet` when nothing but counting and the gap analytic
    /// needs it, else `.ordered` with its matching rules.
    func stageOne(_ v: EventView, kind: Int, line: Int32, _ range: (start: Int32, end: Int32), rewritten: Bool) -> LineBatchResult.Item {
        matcher.match(v, format: format, kind: kind)
        var inOrder = !matcher.matched.isEmpty
            || (learnInventory && learning[format] && Inventory.mightLearn(v, source: sources[format]))
        var gap: GapObservation?
        if observeGap {
            // Made here for matched records too, unless it needs the (learned) inventory.
            gap = matcher.gapObservation(v, format: format)
            if gap!.needsInventory {
                inOrder = true
                gap = nil
            }
        }
        guard inOrder else { return .quiet(line: line, format: Int32(format), gap: gap) }
        // A rewritten record's parse is of another buffer: the in-order stage decodes it again.
        if rewritten { return .ordered(line: line, start: range.start, end: range.end) }
        let m = LineBatchResult.Matched(line: line, format: Int32(format), kind: Int32(kind), start: range.start, end: range.end,
                                        firstNode: Int32(nodes.count), nodes: Int32(v.nodes.count),
                                        firstRule: Int32(matches.count), rules: Int32(matcher.matched.count), gap: gap)
        matches.append(contentsOf: matcher.matched)
        nodes.append(contentsOf: v.nodes)
        return .matched(m)
    }
}

extension ScanPipeline {
    /// `scanLines` + `jsonLine` across `options.workers` threads (see the top of this file).
    func scanLinesInParallel(_ stream: ByteStream, first: [UInt8]) throws {
        let name = stream.name
        var lineBase = 0
        var lastProgress = 0
        var pool: OrderedPool<LineBatch, LineBatchResult>?
        defer { pool?.close() }

        /// Stage two: one batch's results, in order.
        func consume(_ r: LineBatchResult) {
            r.batch.bytes.withUnsafeBytes { buf in
                for item in r.items {
                    switch item {
                    case .ordered(let line, let start, let end):
                        jsonLine(UnsafeRawBufferPointer(rebasing: buf[Int(start)..<Int(end)]), lineBase + Int(line) + 1, name)
                    case .matched(let m):
                        r.nodes.withUnsafeBufferPointer { nodes in
                            let view = EventView(base: buf.baseAddress!.assumingMemoryBound(to: UInt8.self) + Int(m.start),
                                                 count: Int(m.end - m.start),
                                                 nodes: UnsafeBufferPointer(rebasing: nodes[Int(m.firstNode)..<Int(m.firstNode + m.nodes)]),
                                                 scratch: scratch)
                            knownMatches = r.matches[Int(m.firstRule)..<Int(m.firstRule + m.rules)]
                            knownGap = m.gap
                            evaluate(view, format: Int(m.format), kind: Int(m.kind), name: name, line: lineBase + Int(m.line) + 1)
                        }
                    case .quiet(let line, let format, let gap):
                        count(format: Int(format))
                        if let gap {
                            engine.observeTelemetry(gap, origin: { Origin(name: name, line: lineBase + Int(line) + 1) }) { deliver($0) }
                        }
                    case .tooLong(let line):
                        bad(name, lineBase + Int(line) + 1, "line longer than \(options.maxLineBytes) bytes (skipped)", source: nil)
                    }
                }
            }
            lineBase += r.lines
            if let onProgress, stats.records - lastProgress >= 100_000 {
                lastProgress = stats.records
                var s = stats
                s.bytes += stream.bytesRead
                onProgress(s)
            }
            onChunkDone?(false)
        }

        /// Until the first record fixes the input's format, batches run on this thread.
        func dispatch(_ batch: LineBatch) {
            if pool == nil, let format = fileFormat {
                let observeGap = engine.observesEveryRecord
                let workers = (0..<options.workers).map { _ in
                    LineWorker(ruleSet: engine.ruleSet, format: format, observeGap: observeGap, options: options)
                }
                pool = OrderedPool(workers: workers, maxInFlight: 2 * options.workers + 2) { $0.run($1) }
            }
            guard let p = pool else {
                consume(LineWorker.sequential(batch, maxLineBytes: options.maxLineBytes))
                return
            }
            while p.isFull, var r = p.next() { consume(r); recycle(&r) }
            p.submit(batch)
        }

        // Batch buffers come back after their batch is consumed and take the next batch's lines
        // (a fresh 1.25 MiB buffer per batch cost page faults and copies).
        var spare: [[UInt8]] = []
        func recycle(_ r: inout LineBatchResult) {
            var bytes: [UInt8] = []
            swap(&bytes, &r.batch.bytes)
            guard spare.count < 4, bytes.capacity >= options.batchBytes else { return }
            bytes.removeAll(keepingCapacity: true)
            spare.append(bytes)
        }
        func freshBuffer() -> [UInt8] {
            if let b = spare.popLast() { return b }
            var b: [UInt8] = []
            b.reserveCapacity(options.batchBytes + (256 << 10))
            return b
        }
        var pending = freshBuffer()
        var tail = 0          // bytes after the last newline in `pending`
        var skipping = false  // dropping the rest of an overlong line
        /// Every whole line in `pending` goes on as one batch; the unfinished last line stays.
        func dispatchWholeLines() {
            var next = freshBuffer()
            next.append(contentsOf: pending[(pending.count - tail)...])
            pending.removeLast(tail)
            swap(&next, &pending)
            dispatch(LineBatch(bytes: next))
        }
        var chunk = first
        while !chunk.isEmpty {
            var from = 0
            if skipping {
                guard let nl = chunk.firstIndex(of: 0x0A) else { try stream.next(into: &chunk); continue }
                skipping = false
                dispatch(LineBatch(bytes: [], droppedLongLine: true))
                from = nl + 1
            }
            let lastNL = chunk[from...].lastIndex(of: 0x0A)
            pending.append(contentsOf: chunk[from...])
            tail = lastNL.map { chunk.count - $0 - 1 } ?? tail + (chunk.count - from)
            if tail > options.maxLineBytes {
                // Whole lines go on; the overlong line is dropped up to its newline.
                let whole = Array(pending[..<(pending.count - tail)])
                if !whole.isEmpty { dispatch(LineBatch(bytes: whole)) }
                pending.removeAll(keepingCapacity: true)
                tail = 0
                skipping = true
            } else if pending.count - tail >= options.batchBytes {
                dispatchWholeLines()
            } else if stream.isLive && stream.caughtUp && pending.count > tail {
                // A live input has nothing more to read yet: its whole lines are matched and
                // their alerts delivered now, not when a batch has filled up.
                dispatchWholeLines()
                if let p = pool { while var r = p.next() { consume(r); recycle(&r) } }
                onChunkDone?(true)
            }
            try stream.next(into: &chunk)
        }
        if skipping { dispatch(LineBatch(bytes: [], droppedLongLine: true)) }
        if !pending.isEmpty { dispatch(LineBatch(bytes: pending)) }
        if let p = pool {
            while var r = p.next() { consume(r); recycle(&r) }
        }
    }
}

extension LineWorker {
    /// A batch for the calling thread: every line goes the ordered way (the input's format is
    /// not known yet).
    static func sequential(_ batch: LineBatch, maxLineBytes: Int) -> LineBatchResult {
        split(batch, maxLineBytes: maxLineBytes) { bytes, line, start in
            .ordered(line: line, start: Int32(start), end: Int32(start + bytes.count))
        }
    }
}

/// Worker threads that run jobs and hand results back in submission order.
final class OrderedPool<Job: Sendable, Output: Sendable>: @unchecked Sendable {
    // All mutable state below is guarded by `condition`.
    private let condition = NSCondition()
    /// Jobs not yet taken, by sequence number (taken ones are dropped at once: each holds a batch).
    private var queue: [Int: Job] = [:]
    private var nextJob = 0
    private var done: [Int: Output] = [:]
    private var submitted = 0
    private var delivered = 0
    private var closed = false
    private var running = 0
    let maxInFlight: Int

    /// `workers`: one state per thread, used by that thread only.
    init<Worker: AnyObject>(workers: [Worker], maxInFlight: Int, work: @escaping (Worker, Job) -> Output) {
        self.maxInFlight = maxInFlight
        running = workers.count
        for w in workers {
            let owned = Owned(w, work)
            let thread = Thread { [self] in self.loop(owned) }
            // Deeply nested rules recurse in the evaluator; give workers a main-thread-sized stack.
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    /// A worker's state and function, moved once into its thread.
    private final class Owned<Worker: AnyObject>: @unchecked Sendable {
        let worker: Worker
        let work: (Worker, Job) -> Output
        init(_ worker: Worker, _ work: @escaping (Worker, Job) -> Output) { self.worker = worker; self.work = work }
    }

    private func loop<Worker>(_ owned: Owned<Worker>) {
        while true {
            condition.lock()
            while nextJob == submitted && !closed { condition.wait() }
            if nextJob == submitted {
                running -= 1
                condition.broadcast()
                condition.unlock()
                return
            }
            let seq = nextJob
            let job = queue.removeValue(forKey: seq)!
            nextJob += 1
            condition.unlock()
            let out = owned.work(owned.worker, job)
            condition.lock()
            done[seq] = out
            condition.broadcast()
            condition.unlock()
        }
    }

    var isFull: Bool {
        condition.lock(); defer { condition.unlock() }
        return submitted - delivered >= maxInFlight
    }

    func submit(_ job: Job) {
        condition.lock()
        queue[submitted] = job
        submitted += 1
        condition.signal()
        condition.unlock()
    }

    /// The oldest undelivered result, waiting for it; nil when every result was delivered.
    func next() -> Output? {
        condition.lock(); defer { condition.unlock() }
        guard delivered < submitted else { return nil }
        while done[delivered] == nil { condition.wait() }
        let out = done.removeValue(forKey: delivered)
        delivered += 1
        return out
    }

    /// Stops the threads once the queue is empty and waits for them.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        while running > 0 { condition.wait() }
        condition.unlock()
    }
}
