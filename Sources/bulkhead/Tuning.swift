import ArgumentParser
import BulkheadEngine
import BulkheadRules
import BulkheadScan
import BulkheadSinks
import Foundation

/// Loading tuning exceptions for `scan` and reporting what they did.
enum ScanTuning {
    /// The exceptions in force: `--exceptions FILE`, else the pack's `exceptions.yml`; none with
    /// `--no-exceptions`. Expired entries and file problems are reported on stderr.
    static func load(file: String?, disabled: Bool, ruleSet: RuleSet, strict: Bool, quiet: Bool,
                     today: String = ExceptionsFile.today()) throws -> CompiledExceptions {
        if disabled { return .none }
        let path: String
        let explicit = file != nil
        if let file {
            path = file
        } else if let pack = RuleFiles.defaultPack(), let p = RuleFiles.defaultExceptions(pack: pack) {
            path = p
        } else {
            return .none
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read exceptions file \(path)") }
        let loaded = ExceptionsFile.load(yaml: String(decoding: data, as: UTF8.self), file: path)
        let compiled = CompiledExceptions(entries: loaded.entries, ruleSet: ruleSet, today: today)
        // The default file names pack rules; with other --rules its unknown ids are expected.
        let diagnostics = loaded.diagnostics + compiled.diagnostics.filter { explicit || $0.code != .correlationUnknownRule }
        for d in diagnostics where !quiet || strict || d.severity == .error { StandardError.write("bulkhead: \(d)\n") }
        if strict && !diagnostics.isEmpty { throw ExitCode(2) }
        if explicit && loaded.diagnostics.contains(where: { $0.severity == .error }) { throw ExitCode(2) }
        if !compiled.expired.isEmpty {
            StandardError.write(expiredReport(compiled.expired))
        }
        return compiled
    }

    static func expiredReport(_ expired: [ExceptionEntry]) -> String {
        var s = "bulkhead: warning: \(expired.count) expired exception\(expired.count == 1 ? "" : "s") no longer applied (renew or remove):\n"
        for e in expired {
            s += "bulkhead:   \(Terminal.sanitize(e.name)) expired \(e.expires ?? "-"), owner \(Terminal.sanitize(e.owner)), rules \(Terminal.sanitize(e.rules.joined(separator: ","))) (\(e.location))\n"
        }
        return s
    }

    /// Summary lines: alerts suppressed per exception.
    static func summary(_ engine: Engine) -> String {
        let counts = engine.suppressedCounts
        let total = counts.reduce(0, +)
        let active = engine.exceptions.active
        guard !active.isEmpty || !engine.exceptions.expired.isEmpty else { return "" }
        var out = "suppressed by exceptions: \(total) (\(active.count) in force"
        if !engine.exceptions.expired.isEmpty { out += ", \(engine.exceptions.expired.count) expired" }
        out += ")\n"
        for (i, n) in counts.enumerated() where n > 0 {
            let e = active[i]
            out += "  \(Summary.pad(String(n), 5)) \(Summary.pad(Terminal.sanitize(e.name), 40)) owner \(Terminal.sanitize(e.owner))\n"
        }
        return out
    }
}
