import ArgumentParser
import BulkheadDetections
import BulkheadEngine
import BulkheadRules
import BulkheadScan
import BulkheadSinks
import BulkheadSources
import Foundation

struct Scan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Scan telemetry files, directories or stdin (-) and print alerts.",
        discussion: "Formats are recognised per file (gzip is transparent); --format forces one. Exit status: 0 done, 1 an alert at or above --fail-on fired, 2 operational error.")

    @Argument(help: "Files, directories (recursive) or - for stdin.") var inputs: [String] = ["-"]
    @Option(name: .shortAndLong, help: "Rule files or folders (repeatable). Default: the bundled Detections/ pack.") var rules: [String] = []
    @Option(help: "Force the input format (\(Formats.all.map(\.id).joined(separator: ", "))).") var format: String?
    @Option(name: .shortAndLong, help: "Alert output: text, jsonl or ocsf.") var output: String = "text"
    @Option(help: "Write alerts to this file instead of stdout.") var out: String?
    @Option(help: "Exit 1 when an alert at or above this level fired (informational, low, medium, high, critical).") var failOn: String?
    @Flag(help: "Any rule problem is fatal.") var strict = false
    @Option(help: "Longest accepted line in bytes.") var maxLineBytes = 16 << 20
    @Option(help: "Deepest accepted JSON nesting.") var maxDepth = 256
    @Option(help: "YAML file mapping placeholder names to value lists, for the expand modifier.") var placeholders: String?
    @Option(help: "Inventory for entity resolution (repeatable): `kubectl get pods -A -o json` or `docker inspect` output. Pod IPs and container ids in records are attributed to their pods.") var inventory: [String] = []
    @Flag(help: "Include the matching record in text output.") var showEvent = false
    @Flag(help: "No colour even on a terminal.") var noColor = false
    @Flag(name: .shortAndLong, help: "No summary on stderr.") var quiet = false
    @Flag(help: "Print every response step and the containment artefacts (NetworkPolicy, kubectl/docker/cloud commands; never executed) under each alert.") var respond = false
    @Option(help: "Tuning file of exceptions (replaces the pack's Detections/exceptions.yml).") var exceptions: String?
    @Flag(help: "Apply no exceptions, not even the pack's defaults.") var noExceptions = false
    @Flag(help: "Print each input's detected format, records and bad records (tab-separated) to stderr.") var fileReport = false
    @Option(help: "Correlation and incident windows accept records this late in event time (30s, 5m, 1h); correlation alerts wait this long.") var lateness = "5m"
    @Flag(help: "Group alerts sharing an entity (pod, container, node, user, cloud instance, public source IP) into incidents, printed after the alerts.") var incidents = false
    @Option(help: "Alerts sharing an entity join one incident when at most this far apart.") var incidentWindow = "30m"
    @Option(help: "Correlation groups kept in memory (least recently active evicted past it).") var maxGroups = 100_000
    @Option(help: "Threads that parse and match JSON-lines input (default: one per core; 1 = no extra threads). Output is the same whatever the number.") var workers: Int?
    @Option(help: "Keep learned state (baselines, new-terms sets, telemetry-gap rates) in SQLite in this directory: a later scan continues where this one stopped.") var state: String?

    func run() throws {
        guard let alertFormat = AlertFormat(rawValue: output) else { throw ValidationError("--output must be text, jsonl or ocsf") }
        var failLevel: Level?
        if let failOn {
            guard let l = Level(name: failOn) else { throw ValidationError("--fail-on must be a level") }
            failLevel = l
        }
        var options = ScanOptions()
        options.maxLineBytes = maxLineBytes
        options.maxDepth = maxDepth
        if let workers, workers < 1 { throw ValidationError("--workers must be at least 1") }
        options.workers = min(workers ?? ProcessInfo.processInfo.activeProcessorCount, 64)
        if let format {
            guard let i = Formats.index(of: format) else { throw ValidationError("unknown format \(format); known: \(Formats.all.map(\.id).joined(separator: ", "))") }
            options.forcedFormat = i
        }
        guard let latenessNanos = Durations.nanos(lateness) else { throw ValidationError("--lateness must be a duration like 30s, 5m, 1h") }
        guard let windowNanos = Durations.nanos(incidentWindow) else { throw ValidationError("--incident-window must be a duration like 10m, 30m, 1h") }
        let ruleSet = try CLIRules.load(paths: rules, strict: strict, placeholders: placeholders, quiet: quiet)
        let engine = Engine(ruleSet: ruleSet)
        engine.correlator?.limits.lateness = latenessNanos
        engine.correlator?.limits.maxGroups = max(1, maxGroups)
        var incidentLimits = IncidentLimits()
        incidentLimits.lateness = latenessNanos
        incidentLimits.window = windowNanos
        let incidentBuilder = incidents ? IncidentBuilder(limits: incidentLimits) : nil
        for path in inventory {
            do {
                let n = try InventoryFiles.load(path: path, into: &engine.inventory)
                if !quiet { StandardError.write("bulkhead: inventory \(path): \(n.pods) pods, \(n.containers) containers\n") }
            } catch {
                StandardError.write("bulkhead: error: inventory: \(error)\n")
                throw ExitCode(2)
            }
        }
        let stateStore = try StateCLI.open(state, engine: engine, quiet: quiet)
        engine.exceptions = try ScanTuning.load(file: exceptions, disabled: noExceptions, ruleSet: ruleSet, strict: strict, quiet: quiet)
        let playbook = ResponsePlaybook(ruleSet: ruleSet)
        let resume = try ScanResume(state: state, out: out, inputs: inputs, quiet: quiet)
        let sink = try OutputStream(path: out, resumeAt: resume?.resumeBytes)
        let renderer = AlertRenderer(format: alertFormat, color: !noColor && out == nil && isatty(1) == 1, showEvent: showEvent, respond: respond)
        let stderrTTY = isatty(2) == 1
        let start = Date()
        var maxLevel: Level?
        // Response steps, containment artefacts, rendering and writing: on a thread of their own
        // when the scan has workers (alert-heavy input is otherwise bound by this work), in order.
        let writer = AlertWriter(threaded: options.workers > 1, flushOutput: { sink.flush() }) { (alert: inout Alert) in
            playbook.apply(&alert)
            // On resume the alerts the interrupted run made durable are not written again.
            if resume?.shouldWrite() ?? true {
                sink.append { renderer.render(alert, to: &$0) }
                resume?.afterWrite(sink)
            }
        }
        let pipeline = ScanPipeline(engine: engine, options: options, onAlert: { alert in
            writer.add(alert)
            incidentBuilder?.add(alert)
            if maxLevel == nil || alert.rule.level > maxLevel! { maxLevel = alert.rule.level }
        }, onProblem: { message in
            StandardError.write("bulkhead: \(Terminal.sanitize(message))\n")
        }, onProgress: stderrTTY && !quiet ? { s in
            let secs = max(Date().timeIntervalSince(start), 0.001)
            StandardError.write(String(format: "\r\u{1B}[K%d records, %.0f records/s, %.1f MB/s", s.records, Double(s.records) / secs, Double(s.bytes) / secs / 1e6))
        } : nil)
        pipeline.onChunkDone = { inputWaiting in writer.handOverBatched(flush: inputWaiting) }
        if let incidentBuilder { pipeline.onInputStart = { incidentBuilder.beginInput(remaining: $0) } }
        pipeline.scan(paths: inputs)
        writer.finish()
        let found = incidentBuilder?.finish() ?? []
        for i in found { sink.write((alertFormat == .text ? "\n" : "") + renderer.render(i)) }
        sink.flush()
        // The output is whole before the journal goes and the learned state is saved: a kill in
        // between makes the next run a fresh one (see ScanJournal).
        resume?.finish(sink)
        try StateCLI.save(stateStore, engine: engine)
        if stderrTTY && !quiet { StandardError.write("\r\u{1B}[K") }
        let elapsed = Date().timeIntervalSince(start)
        if !quiet {
            StandardError.write(Summary.render(pipeline.stats, elapsed: elapsed, rules: ruleSet.ruleCount) + ScanTuning.summary(engine) + StateCLI.summary(engine, stateStore)
                                + Summary.stateful(engine.correlator, incidentBuilder))
        }
        if fileReport {
            for f in pipeline.stats.inputs { StandardError.write("file\t\(f.file)\t\(f.sources.joined(separator: ",").isEmpty ? "-" : f.sources.joined(separator: ","))\t\(f.records)\t\(f.bad)\t\(f.format)\n") }
        }
        if !pipeline.stats.operationalErrors.isEmpty { throw ExitCode(2) }
        if let failLevel, let maxLevel, maxLevel >= failLevel { throw ExitCode(1) }
    }
}

enum CLIRules {
    /// `keep`: which documents to compile (a worker leaves out analytics that need every record).
    static func load(paths: [String], strict: Bool, placeholders: String?, quiet: Bool, keep: (SigmaDocument) -> Bool = { _ in true }) throws -> RuleSet {
        var rulePaths = paths
        if rulePaths.isEmpty {
            guard let pack = RuleFiles.defaultPack() else {
                throw ValidationError("no --rules given and the Detections/ pack was not found (set BULKHEAD_DETECTIONS)")
            }
            rulePaths = [pack]
        }
        let loaded = RuleFiles.load(rulePaths)
        var options = RuleCompiler.Options()
        if let placeholders { options.placeholders = try Placeholders.load(placeholders) }
        let ruleSet = RuleSet(documents: loaded.documents.filter(keep), options: options)
        let diagnostics = loaded.diagnostics + ruleSet.diagnostics
        let errors = diagnostics.filter { $0.severity == .error }
        if !quiet || strict {
            for d in diagnostics.prefix(20) { StandardError.write("bulkhead: \(d)\n") }
            if diagnostics.count > 20 { StandardError.write("bulkhead: ... \(diagnostics.count - 20) more rule problems (see `bulkhead rules check`)\n") }
        }
        if strict && !diagnostics.isEmpty { throw ExitCode(2) }
        if ruleSet.ruleCount == 0 && !errors.isEmpty { throw ExitCode(2) }
        return ruleSet
    }
}

enum Placeholders {
    /// A YAML or JSON mapping `name: [values]`.
    static func load(_ path: String) throws -> [String: [String]] {
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
        var out: [String: [String]] = [:]
        var current: String?
        for raw in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("- "), let c = current {
                out[c, default: []].append(String(line.dropFirst(2)).trimmingCharacters(in: CharacterSet(charactersIn: "'\" ")))
            } else if line.hasSuffix(":") {
                current = String(line.dropLast())
                out[current!] = out[current!] ?? []
            }
        }
        return out
    }
}

/// Buffered output to stdout or a file.
final class OutputStream {
    let handle: FileHandle
    var buffer: [UInt8] = []
    /// Bytes in the file (written and buffered), for the resume journal.
    private(set) var size: Int64 = 0
    /// For errors: the file, or standard output.
    let name: String

    /// `resumeAt`: keep the file's first bytes (an interrupted scan's durable alerts) and append.
    init(path: String?, resumeAt: Int64? = nil) throws {
        self.name = path ?? "standard output"
        if let path {
            if let keep = resumeAt, FileManager.default.fileExists(atPath: path) {
                guard truncate(path, off_t(keep)) == 0, let h = FileHandle(forWritingAtPath: path) else { throw ValidationError("cannot append to \(path)") }
                h.seekToEndOfFile()
                handle = h
                size = keep
            } else {
                guard FileManager.default.createFile(atPath: path, contents: nil), let h = FileHandle(forWritingAtPath: path) else {
                    throw ValidationError("cannot write \(path)")
                }
                handle = h
            }
        } else {
            handle = FileHandle.standardOutput
        }
    }

    func write(_ s: String) {
        append { $0.append(contentsOf: s.utf8) }
    }

    /// Lets `body` append bytes to the buffer (alerts are rendered straight into it).
    func append(_ body: (inout [UInt8]) -> Void) {
        let before = buffer.count
        body(&buffer)
        size += Int64(buffer.count - before)
        if buffer.count > 64 << 10 { flush() }
    }

    /// Writes the buffer with write(2): no copy into a `Data`, and a failed write (disk full, a
    /// device error) ends the scan with a clear error instead of a trap in FileHandle. With
    /// `--state` and `--out`, running the same command again resumes (ScanJournal).
    func flush() {
        guard !buffer.isEmpty else { return }
        let fd = handle.fileDescriptor
        let failure: Int32? = buffer.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                offset += n
            }
            return nil
        }
        if let failure {
            StandardError.write("bulkhead: error: cannot write \(name): \(String(cString: strerror(failure)))\n")
            exit(2)
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes and waits for the disk (before the journal says these bytes are there).
    func sync() {
        flush()
        fsync(handle.fileDescriptor)
    }
}

enum StandardError {
    static func write(_ s: String) { FileHandle.standardError.write(Data(s.utf8)) }
}

enum Summary {
    static func render(_ s: ScanStats, elapsed: Double, rules: Int) -> String {
        var out = "\n── bulkhead scan summary ──\n"
        let mb = Double(s.bytes) / 1e6
        out += String(format: "%d files, %.1f MB, %d records in %.2f s (%.0f records/s, %.1f MB/s), %d rules\n",
                      s.files, mb, s.records, elapsed, Double(s.records) / max(elapsed, 0.001), mb / max(elapsed, 0.001), rules)
        if !s.recordsBySource.isEmpty {
            out += "records by source:\n"
            for (k, v) in s.recordsBySource.sorted(by: { $0.value > $1.value }) { out += "  \(pad(k, 20)) \(v)\n" }
        }
        out += "bad records: \(s.badRecords)"
        if !s.badBySource.isEmpty { out += " (" + s.badBySource.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + ")" }
        out += "\n"
        out += "alerts: \(s.alerts)"
        if s.alerts > 0 {
            out += " (" + Level.allCases.reversed().compactMap { l in s.alertsByLevel[l].map { "\(l): \($0)" } }.joined(separator: ", ") + ")"
        }
        out += "\n"
        if !s.alertsByRule.isEmpty {
            out += "alerts by rule:\n"
            for (_, v) in s.alertsByRule.sorted(by: { ($0.value.level, $0.value.count) > ($1.value.level, $1.value.count) }) {
                out += "  \(pad(String(v.count), 5)) \(pad(v.level.description, 13)) \(v.title)\n"
            }
        }
        if !s.operationalErrors.isEmpty { out += "operational errors: \(s.operationalErrors.count)\n" }
        return out
    }

    /// Correlation and incident state: what fired, what was late, what the caps evicted.
    static func stateful(_ c: Correlator?, _ b: IncidentBuilder?) -> String {
        var out = ""
        if let c {
            let s = c.stats
            out += "correlations: \(c.plan.correlations.count) rules, \(s.observations) matches fed, \(s.fired) fired; "
            out += "late dropped \(s.late), released early \(s.releasedEarly), untimed \(s.untimed); "
            out += "groups peak \(s.peakGroups), expired \(s.expiredGroups), evicted (cap \(c.limits.maxGroups)) \(s.evictedGroups); "
            out += "window events dropped (cap \(c.limits.maxEventsPerGroup)) \(s.droppedEvents)\n"
        }
        if let b {
            let s = b.stats
            out += "incidents: \(s.incidents) from \(s.alerts) alerts; keys expired \(s.expiredKeys), evicted (cap \(b.limits.maxKeys)) \(s.evictedKeys); "
            out += "late \(s.late), grouped early \(s.groupedEarly), dropped (cap \(b.limits.maxIncidents)) \(s.dropped), timeline entries omitted \(s.omittedEntries)\n"
        }
        return out
    }

    static func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
}

enum Durations {
    /// `30s`, `5m`, `1h`, `2d` (or plain seconds) in nanoseconds.
    static func nanos(_ text: String) -> Int64? {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        var number = Substring(text), scale = 1.0
        if let u = text.last, let m = units[u] { number = text.dropLast(); scale = m }
        guard let n = Double(number), n >= 0, n * scale < 1e9 else { return nil }
        return Int64(n * scale * 1e9)
    }
}
