import BulkheadEngine
import BulkheadEvent
import BulkheadSources
import Foundation

public struct ScanOptions: Sendable {
    public var maxLineBytes = 16 << 20
    public var maxDocumentBytes = 512 << 20
    public var maxDepth = 256
    /// Most (decompressed) bytes read from one input; a gzip bomb stops here.
    public var maxInputBytes = Int.max
    /// Format id forced by `--format` (index into `Formats.all`).
    public var forcedFormat: Int?
    /// Bad-record messages printed in full before only counting.
    public var maxReportedProblems = 50
    /// Learn pods and containers from the records read (audit pod events, Pod objects, docker
    /// inspect) into `engine.inventory`, for entity resolution of later records.
    public var learnInventory = true
    /// Threads that parse and match JSON-lines input; 1 scans on the calling thread only.
    /// Alerts, line numbers and stateful results are the same whatever the number.
    public var workers = 1
    /// Bytes per batch handed to a worker (parallel scans). A batch in flight also holds the
    /// parse of each record that matched (16 bytes per JSON node: on CloudTrail, where most
    /// records match, about 3.5 times the batch's bytes), so this sets the parallel scan's
    /// memory: 1 MiB batches peaked at 106 MB on two workers, 512 KiB at 83 MB, equally fast.
    public var batchBytes = 512 << 10
    public init() {}
}

/// Counters a scan reports at the end.
public struct ScanStats: Sendable {
    public var files = 0
    public var bytes = 0
    public var records = 0
    /// Records per format, indexed like `Formats.all` (an array: counted per record).
    public var recordsByFormat: [Int] = Array(repeating: 0, count: Formats.all.count)
    public var recordsBySource: [String: Int] {
        var out: [String: Int] = [:]
        for (i, n) in recordsByFormat.enumerated() where n > 0 { out[Formats.all[i].id, default: 0] += n }
        return out
    }
    /// Per input: the format detected, records read and bad records.
    public var inputs: [(file: String, format: String, records: Int, bad: Int, sources: [String])] = []
    public var formatByFile: [(file: String, format: String)] { inputs.map { ($0.file, $0.format) } }
    public var badRecords = 0
    public var badBySource: [String: Int] = [:]
    public var alerts = 0
    public var alertsByLevel: [Level: Int] = [:]
    public var alertsByRule: [String: (title: String, level: Level, count: Int)] = [:]
    public var operationalErrors: [String] = []
    public init() {}
}

/// Reads inputs, frames and sniffs them, decodes records and feeds the engine. The only
/// place that touches files; the engine stays free of I/O.
public final class ScanPipeline {
    public let engine: Engine
    public var options: ScanOptions
    public private(set) var stats = ScanStats()
    let onAlert: (Alert) -> Void
    let onProblem: (String) -> Void
    let onProgress: ((ScanStats) -> Void)?
    /// Called as each input of `scan(paths:)` starts, with the number of inputs after it
    /// (stateful consumers of alerts, such as incidents, merge inputs in event time).
    public var onInputStart: ((_ remaining: Int) -> Void)?
    /// Called after each chunk of a line-oriented input has been matched: consumers that batch
    /// alerts hand them on here, so that alerts leave within a chunk of their record.
    /// `inputWaiting`: a live input (pipe, terminal) has sent nothing more yet, so buffered
    /// output should go out now rather than when a buffer fills.
    public var onChunkDone: ((_ inputWaiting: Bool) -> Void)?
    /// Routing instead of detection (serve publishing to NATS): each decoded record goes here,
    /// after inventory learning, and not to the engine (ScanPipeline+Records.swift).
    public var onRecord: ((_ record: EventView, _ format: Int, _ kind: Int) -> Void)?

    private var tape: JSONTape
    private var elementTape: JSONTape
    private var rewriteTape: JSONTape
    let scratch = ScratchBuffer()
    private var rewriteBuffer: [UInt8] = []
    private var reportedProblems = 0
    let learningFormats = Formats.all.map { Inventory.learningSources.contains($0.id) }

    public init(engine: Engine, options: ScanOptions = ScanOptions(), onAlert: @escaping (Alert) -> Void,
                onProblem: @escaping (String) -> Void, onProgress: ((ScanStats) -> Void)? = nil) {
        self.engine = engine
        self.options = options
        self.onAlert = onAlert
        self.onProblem = onProblem
        self.onProgress = onProgress
        let limits = JSONTape.Limits(maxDepth: options.maxDepth, maxBytes: options.maxDocumentBytes)
        tape = JSONTape(limits: limits)
        elementTape = JSONTape(limits: limits)
        rewriteTape = JSONTape(limits: limits)
        rewriteBuffer.reserveCapacity(64 << 10)
    }

    // MARK: Inputs

    /// Files under the given paths (directories recursively, hidden entries skipped), sorted.
    public static func expand(_ paths: [String]) -> (files: [String], errors: [String]) {
        var files: [String] = []
        var errors: [String] = []
        let fm = FileManager.default
        for p in paths {
            if p == "-" { files.append(p); continue }
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: p, isDirectory: &isDir) else { errors.append("\(p): no such file or directory"); continue }
            if !isDir.boolValue { files.append(p); continue }
            guard let e = fm.enumerator(atPath: p) else { errors.append("\(p): cannot list directory"); continue }
            var found: [String] = []
            while let rel = e.nextObject() as? String {
                if rel.split(separator: "/").contains(where: { $0.hasPrefix(".") }) { continue }
                let full = (p as NSString).appendingPathComponent(rel)
                var d: ObjCBool = false
                if fm.fileExists(atPath: full, isDirectory: &d), !d.boolValue { found.append(full) }
            }
            files.append(contentsOf: found.sorted())
        }
        return (files, errors)
    }

    public func scan(paths: [String]) {
        let (files, errors) = Self.expand(paths)
        for e in errors { operational(e) }
        for (i, f) in files.enumerated() {
            // Correlation windows merge the inputs in event time (the watermark waits for the rest).
            engine.beginInput(remaining: files.count - i - 1)
            onInputStart?(files.count - i - 1)
            scan(file: f)
        }
        finish()
    }

    /// Starts counting afresh (a long-running service reads each batch's own figures).
    public func resetStats() {
        stats = ScanStats()
        reportedProblems = 0
    }

    /// End of input: correlation windows still open are judged and their alerts delivered.
    /// `scan(paths:)` calls it; callers of `scan(file:)` call it after their last input.
    public func finish() {
        engine.finishCorrelations { alert in deliver(alert) }
        engine.finishBaselines { alert in deliver(alert) }
    }

    func operational(_ message: String) {
        stats.operationalErrors.append(message)
        onProblem("error: \(message)")
    }

    func bad(_ name: String, _ line: Int, _ message: String, source: String?) {
        stats.badRecords += 1
        if let source { stats.badBySource[source, default: 0] += 1 }
        reportedProblems += 1
        if reportedProblems <= options.maxReportedProblems {
            onProblem("\(name):\(line): bad record: \(message)")
        } else if reportedProblems == options.maxReportedProblems + 1 {
            onProblem("(further bad records are counted, not printed)")
        }
    }

    // MARK: One input

    /// Scans one input; `name` labels its origins (default: the path).
    public func scan(file path: String, name: String? = nil) {
        let stream: ByteStream
        do {
            stream = try ByteStream(path: path, name: name, maxOutput: options.maxInputBytes)
        } catch {
            operational("\(error)")
            return
        }
        stats.files += 1
        let recordsBefore = stats.records, badBefore = stats.badRecords
        let sourcesBefore = stats.recordsBySource
        var label = "unreadable"
        defer {
            let sources = stats.recordsBySource.filter { $0.value != sourcesBefore[$0.key] }.keys.sorted()
            stats.inputs.append((stream.name, label, stats.records - recordsBefore, stats.badRecords - badBefore, sources))
        }
        do {
            let first = try stream.next()
            let detected = detect(first)
            label = detected.label
            switch detected {
            case .binary(let index, _):
                try scanBinary(stream, first: first, format: index)
            case .text(let index, _):
                try scanLines(stream, first: first) { line, number in self.textLine(line, number, stream.name) }
                textFinish(index, stream.name)
            case .jsonLines:
                if options.workers > 1 {
                    try scanLinesInParallel(stream, first: first)
                } else {
                    try scanLines(stream, first: first) { line, number in self.jsonLine(line, number, stream.name) }
                }
            case .jsonDocument:
                try scanDocument(stream, first: first)
            case .empty:
                break
            }
        } catch {
            operational("\(error)")
        }
        fileFormat = nil
        textDecoder = nil
        stats.bytes += stream.bytesRead
    }

    enum Detected {
        case binary(Int, String), text(Int, String), jsonLines, jsonDocument, empty
        var label: String {
            switch self {
            case .binary(_, let id), .text(_, let id): return id
            case .jsonLines: return "json lines"
            case .jsonDocument: return "json document"
            case .empty: return "empty"
            }
        }
    }

    /// The rules the next record matches, when a parallel scan's worker already matched it.
    var knownMatches: ArraySlice<Int>?
    /// Its telemetry-gap observation, made on that thread too (when it needs no inventory).
    var knownGap: GapObservation?
    /// The format of the current input's records (the first record's, unless forced).
    var fileFormat: Int?
    private var textDecoder: (any TextDecoder)?
    private var textFormatIndex = 0

    func detect(_ first: [UInt8]) -> Detected {
        if first.isEmpty { return .empty }
        let formats = Formats.all
        if let forced = options.forcedFormat {
            switch formats[forced] {
            case .binary(let f): return .binary(forced, f.id)
            case .text(let f):
                textDecoder = f.makeDecoder(); textFormatIndex = forced
                return .text(forced, f.id)
            case .json: fileFormat = forced
            }
        }
        if options.forcedFormat == nil {
            for (i, f) in formats.enumerated() {
                if case .binary(let b) = f, first.withUnsafeBytes({ b.sniff($0) }) { return .binary(i, b.id) }
            }
        }
        guard let start = first.firstIndex(where: { !($0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09) }) else { return .empty }
        if first[start] == UInt8(ascii: "["), let next = first[(start + 1)...].first(where: { !($0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09) }),
           "{[\"]-0123456789tfn".utf8.contains(next) {
            // A JSON array; `[INFO] ...` (CoreDNS) and other bracketed text fall through to text sniffing.
            return .jsonDocument
        }
        if first[start] == UInt8(ascii: "{") {
            // One record per line if the first line is a complete JSON value.
            let end = first[start...].firstIndex(of: 0x0A) ?? first.count
            if end < first.count || first.count < (1 << 20) {
                let ok: Bool = first[start..<end].withUnsafeBytes { raw in
                    (try? tape.parse(raw)) != nil
                }
                if ok { return .jsonLines }
            }
            return .jsonDocument
        }
        if options.forcedFormat == nil {
            let lines = String(decoding: first.prefix(64 << 10), as: UTF8.self)
                .split(separator: "\n", maxSplits: 20, omittingEmptySubsequences: true).prefix(20).map(String.init)
            for (i, f) in formats.enumerated() {
                if case .text(let t) = f, t.sniff(lines) {
                    textDecoder = t.makeDecoder(); textFormatIndex = i
                    return .text(i, t.id)
                }
            }
        }
        // Unknown text: treat as JSON lines so each bad line is reported.
        return .jsonLines
    }

    // MARK: Framing

    /// Splits the stream into lines (LF or CRLF), bounding line length.
    func scanLines(_ stream: ByteStream, first: [UInt8], _ body: (UnsafeRawBufferPointer, Int) -> Void) throws {
        var carry: [UInt8] = []
        var lineNumber = 0
        var skippingLongLine = false
        var chunk = first
        var lastProgress = 0
        while !chunk.isEmpty {
            chunk.withUnsafeBytes { buf in
                var start = 0
                while let nl = memchrIndex(buf, from: start) {
                    lineNumber += 1
                    if skippingLongLine || carry.count + (nl - start) > options.maxLineBytes {
                        skippingLongLine = false
                        carry.removeAll(keepingCapacity: true)
                        bad(stream.name, lineNumber, "line longer than \(options.maxLineBytes) bytes (skipped)", source: nil)
                    } else if carry.isEmpty {
                        body(trimCR(UnsafeRawBufferPointer(rebasing: buf[start..<nl])), lineNumber)
                    } else {
                        carry.append(contentsOf: buf[start..<nl])
                        carry.withUnsafeBytes { body(trimCR($0), lineNumber) }
                        carry.removeAll(keepingCapacity: true)
                    }
                    start = nl + 1
                }
                if start < buf.count && !skippingLongLine {
                    if carry.count + (buf.count - start) > options.maxLineBytes {
                        skippingLongLine = true
                        carry.removeAll()
                    } else {
                        carry.append(contentsOf: buf[start...])
                    }
                }
            }
            if let onProgress, stats.records - lastProgress >= 100_000 {
                lastProgress = stats.records
                var s = stats
                s.bytes += stream.bytesRead
                onProgress(s)
            }
            onChunkDone?(stream.isLive && stream.caughtUp)
            try stream.next(into: &chunk)
        }
        if skippingLongLine {
            lineNumber += 1
            bad(stream.name, lineNumber, "line longer than \(options.maxLineBytes) bytes (skipped)", source: nil)
        } else if !carry.isEmpty {
            lineNumber += 1
            carry.withUnsafeBytes { body(trimCR($0), lineNumber) }
        }
    }

    /// The rest of the stream, bounded by `maxDocumentBytes` (documents and captures are
    /// decoded whole).
    func readAll(_ stream: ByteStream, first: [UInt8]) throws -> [UInt8] {
        var all = first
        while true {
            let more = try stream.next()
            if more.isEmpty { return all }
            all.append(contentsOf: more)
            if all.count > options.maxDocumentBytes { throw ScanError.tooLarge(stream.name, options.maxDocumentBytes) }
        }
    }

    func scanDocument(_ stream: ByteStream, first: [UInt8]) throws {
        let all = try readAll(stream, first: first)
        all.withUnsafeBytes { jsonRecord($0, line: 1, name: stream.name) }
    }

    func scanBinary(_ stream: ByteStream, first: [UInt8], format: Int) throws {
        let all = try readAll(stream, first: first)
        guard case .binary(let f) = Formats.all[format] else { return }
        let name = stream.name
        all.withUnsafeBytes { raw in
            f.decode(raw, emit: { json, kind, position in
                self.decoded(json, format: format, kind: kind, name: name, line: position)
            }, problem: { position, message in
                self.bad(name, position, message, source: f.id)
            })
        }
    }

    // MARK: Records

    func jsonLine(_ line: UnsafeRawBufferPointer, _ number: Int, _ name: String) {
        // Blank lines are not records.
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
        jsonRecord(line, line: number, name: name)
    }

    func textLine(_ line: UnsafeRawBufferPointer, _ number: Int, _ name: String) {
        guard var decoder = textDecoder else { return }
        let index = textFormatIndex
        let error = line.withMemoryRebound(to: UInt8.self) { bytes in
            decoder.feed(bytes, lineNumber: number) { json, kind, at in
                self.decoded(json, format: index, kind: kind, name: name, line: at)
            }
        }
        textDecoder = decoder
        if let error { bad(name, number, error, source: Formats.all[index].id) }
    }

    func textFinish(_ index: Int, _ name: String) {
        guard var decoder = textDecoder else { return }
        decoder.finish { json, kind, at in self.decoded(json, format: index, kind: kind, name: name, line: at) }
        textDecoder = nil
    }

    /// A complete JSON record produced by a text or binary decoder.
    func decoded(_ json: [UInt8], format: Int, kind: Int, name: String, line: Int) {
        json.withUnsafeBytes { raw in
            do {
                try EventView.with(bytes: raw, tape: &rewriteTape, scratch: scratch) { view in
                    evaluate(view, format: format, kind: kind, name: name, line: line)
                }
            } catch {
                bad(name, line, "decoder produced invalid JSON: \(error)", source: Formats.all[format].id)
            }
        }
    }

    /// Parses one JSON value; wrappers and arrays are split into their records.
    func jsonRecord(_ bytes: UnsafeRawBufferPointer, line: Int, name: String) {
        do {
            try tape.parse(bytes)
        } catch {
            // Point at the line inside a multi-line document where parsing stopped.
            let lineOfError = line + newlines(bytes, upTo: min(error.offset, bytes.count))
            bad(name, lineOfError, error.description, source: nil)
            // A damaged array or wrapper document: keep every complete record before and after
            // the damage rather than losing the whole file.
            recoverElements(bytes, line: line, name: name, damagedAt: error.offset)
            return
        }
        tape.nodes.withUnsafeBufferPointer { nodes in
            let base = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
            let view = EventView(base: base, count: bytes.count, nodes: nodes, scratch: scratch)
            if let elements = Self.wrapperElements(view) {
                var lineCursor = line, offsetCursor = 0
                for el in elements {
                    let node = nodes[el]
                    lineCursor += newlines(bytes, from: offsetCursor, upTo: Int(node.start))
                    offsetCursor = Int(node.start)
                    let slice = UnsafeRawBufferPointer(rebasing: bytes[Int(node.start)..<Int(node.end)])
                    element(slice, line: lineCursor, name: name)
                }
            } else {
                record(view, name: name, line: line)
            }
        }
    }

    /// Splits a document that failed to parse into the objects of its record array (a top-level
    /// array, or the array after `"Records"`, `"records"` or `"items"`) by bracket depth, and
    /// reads each complete one. The element containing the damage is already reported.
    func recoverElements(_ bytes: UnsafeRawBufferPointer, line: Int, name: String, damagedAt: Int) {
        guard let first = bytes.firstIndex(where: { !($0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09) }) else { return }
        var start: Int?
        if bytes[first] == UInt8(ascii: "[") {
            start = first + 1
        } else {
            for key in ["\"Records\"", "\"records\"", "\"items\""] {
                let k = Array(key.utf8)
                guard let at = find(k, in: bytes) else { continue }
                if let open = bytes[(at + k.count)...].firstIndex(of: UInt8(ascii: "[")) { start = open + 1; break }
            }
        }
        guard var i = start else { return }
        var lineCursor = line + newlines(bytes, upTo: i), offsetCursor = i
        while i < bytes.count {
            // Next object at array depth.
            guard let open = bytes[i...].firstIndex(of: UInt8(ascii: "{")) else { return }
            var depth = 0, inString = false, escaped = false, end: Int?
            var j = open
            while j < bytes.count {
                let c = bytes[j]
                if inString {
                    if escaped { escaped = false } else if c == 0x5C { escaped = true } else if c == 0x22 { inString = false }
                } else if c == 0x22 { inString = true }
                else if c == 0x7B || c == 0x5B { depth += 1 }
                else if c == 0x7D || c == 0x5D {
                    depth -= 1
                    if depth == 0 { end = j + 1; break }
                }
                j += 1
            }
            guard let e = end else { return }  // truncated: the damage was reported
            lineCursor += newlines(bytes, from: offsetCursor, upTo: open)
            offsetCursor = open
            if !(open...e).contains(damagedAt) {
                element(UnsafeRawBufferPointer(rebasing: bytes[open..<e]), line: lineCursor, name: name)
            }
            i = e
        }
    }

    func find(_ needle: [UInt8], in hay: UnsafeRawBufferPointer) -> Int? {
        guard needle.count <= hay.count else { return nil }
        var i = 0
        while i + needle.count <= hay.count {
            if hay[i] == needle[0], (0..<needle.count).allSatisfy({ hay[i + $0] == needle[$0] }) { return i }
            i += 1
        }
        return nil
    }

    /// Elements of a top-level array, `{"Records":[...]}`, `{"kind":"EventList","items":[...]}`
    /// or `{"records":[...]}`; nil for an ordinary record.
    static func wrapperElements(_ v: EventView) -> [Int]? {
        let root = v.nodes[0]
        var array: Int?
        if root.kind == .array {
            array = 0
        } else if root.kind == .object {
            var key = 1
            var keys = 0
            let after = Int(root.after)
            var candidate: Int?
            var isEventList = false
            while key < after {
                keys += 1
                let value = key + 1
                let k = v.rawBytes(key)
                if v.nodes[value].kind == .array, Self.equals(k, "Records") || Self.equals(k, "records") || Self.equals(k, "items") {
                    candidate = value
                }
                if Self.equals(k, "kind"), v.nodes[value].kind == .string,
                   Self.equals(v.rawBytes(value), "EventList") || Self.equals(v.rawBytes(value), "List") || Self.equals(v.rawBytes(value), "PodList") {
                    isEventList = true
                }
                key = Int(v.nodes[value].after)
            }
            if let c = candidate {
                // `items` only for EventList and v1 List / PodList (`kubectl get pods -A -o json`);
                // Records/records wrappers carry few other keys.
                let k = v.rawBytes(c - 1)
                if Self.equals(k, "items") ? isEventList : keys <= 4 { array = c }
            }
        }
        guard let a = array else { return nil }
        var out: [Int] = []
        var child = a + 1
        let end = Int(v.nodes[a].after)
        while child < end {
            out.append(child)
            child = Int(v.nodes[child].after)
        }
        return out
    }

    static func equals(_ b: UnsafeBufferPointer<UInt8>, _ s: StaticString) -> Bool {
        guard b.count == s.utf8CodeUnitCount else { return false }
        for i in 0..<b.count where b[i] != s.utf8Start[i] { return false }
        return true
    }

    func element(_ bytes: UnsafeRawBufferPointer, line: Int, name: String) {
        do {
            try elementTape.parse(bytes)
        } catch {
            bad(name, line, error.description, source: nil)
            return
        }
        elementTape.nodes.withUnsafeBufferPointer { nodes in
            let base = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
            record(EventView(base: base, count: bytes.count, nodes: nodes, scratch: scratch), name: name, line: line)
        }
    }

    /// One JSON record: pick its format, decode, evaluate.
    func record(_ view: EventView, name: String, line: Int) {
        guard view.kind(0) == .object else {
            bad(name, line, "record is a JSON \(view.kind(0)), not an object", source: nil)
            return
        }
        let formats = Formats.all
        var index = fileFormat ?? sniff(view)
        if fileFormat == nil { fileFormat = index }
        for attempt in 0..<2 {
            guard case .json(let f) = formats[index] else { return }
            switch f.decode(view, into: &rewriteBuffer) {
            case .record(let kind):
                evaluate(view, format: index, kind: kind, name: name, line: line)
                return
            case .rewritten(let kind):
                rewriteBuffer.withUnsafeBytes { raw in
                    do {
                        try EventView.with(bytes: raw, tape: &rewriteTape, scratch: scratch) { v in
                            evaluate(v, format: index, kind: kind, name: name, line: line)
                        }
                    } catch {
                        bad(name, line, "\(f.id): embedded record: \(error)", source: f.id)
                    }
                }
                return
            case .skip:
                return
            case .invalid(let why):
                // Mixed input: the record may be of another format than the file's first.
                let other = sniff(view)
                if attempt == 0 && other != index && options.forcedFormat == nil {
                    index = other
                    continue
                }
                bad(name, line, "\(f.id): \(why)", source: f.id)
                return
            }
        }
    }

    func sniff(_ view: EventView) -> Int {
        if let forced = options.forcedFormat { return forced }
        for (i, f) in Formats.all.enumerated() {
            if case .json(let j) = f, j.sniff(view) { return i }
        }
        return Formats.genericJSON
    }

    func evaluate(_ view: EventView, format: Int, kind: Int, name: String, line: Int) {
        count(format: format)
        if options.learnInventory, learningFormats[format] {
            engine.inventory.learn(view, source: Formats.all[format].id, time: engine.time(view, format: format))
        }
        if let onRecord {
            onRecord(view, format, kind)
            return
        }
        if let known = knownMatches {
            // Matched on a worker thread (ParallelLines.swift): one record, once.
            knownMatches = nil
            let gap = knownGap
            knownGap = nil
            engine.evaluate(view, format: format, kind: kind, matched: known, gap: gap, origin: { Origin(name: name, line: line) }) { deliver($0) }
        } else {
            engine.evaluate(view, format: format, kind: kind, origin: { Origin(name: name, line: line) }) { deliver($0) }
        }
    }

    func count(format: Int) {
        stats.records += 1
        stats.recordsByFormat[format] += 1
    }

    func deliver(_ alert: Alert) {
        stats.alerts += 1
        stats.alertsByLevel[alert.rule.level, default: 0] += 1
        let prev = stats.alertsByRule[alert.rule.id]
        stats.alertsByRule[alert.rule.id] = (alert.rule.title, alert.rule.level, (prev?.count ?? 0) + 1)
        onAlert(alert)
    }

    // MARK: Byte helpers

    func newlines(_ b: UnsafeRawBufferPointer, from: Int = 0, upTo: Int) -> Int {
        var n = 0
        var i = from
        while i < upTo { if b[i] == 0x0A { n += 1 }; i += 1 }
        return n
    }
}

@inline(__always) func memchrIndex(_ buf: UnsafeRawBufferPointer, from: Int) -> Int? {
    guard from < buf.count, let base = buf.baseAddress else { return nil }
    guard let p = memchr(base + from, 0x0A, buf.count - from) else { return nil }
    return base.distance(to: UnsafeRawPointer(p))
}

@inline(__always) func trimCR(_ b: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
    if let last = b.last, last == 0x0D { return UnsafeRawBufferPointer(rebasing: b[0..<(b.count - 1)]) }
    return b
}
