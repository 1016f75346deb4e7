import ArgumentParser
import BulkheadScan
import Foundation

/// `scan --state DIR --out FILE` keeps a journal of the alerts it made durable; the same command
/// after a kill (SIGKILL, power loss) resumes: same inputs replayed, only the missing alerts
/// written (BulkheadScan/ScanJournal.swift). Other scans keep no journal.
final class ScanResume {
    let stateDir: String
    private var journal: ScanJournal
    /// Alerts the interrupted run wrote; nil for a fresh run.
    private let alreadyWritten: Int
    private(set) var resumeBytes: Int64?
    private var seen = 0
    private var lastCheckpoint = Date()

    init?(state: String?, out: String?, inputs: [String], quiet: Bool) throws {
        guard let state, let out, let fingerprint = ScanJournal.fingerprint(inputs) else { return nil }
        stateDir = state
        let settings = Array(CommandLine.arguments.dropFirst())
        if let old = ScanJournal.load(stateDir: state), old.inputs == fingerprint, old.settings == settings, old.output == out {
            journal = old
            alreadyWritten = old.alerts
            resumeBytes = old.outputBytes
            if !quiet {
                StandardError.write("bulkhead: resuming an interrupted scan: \(old.alerts) alerts (\(old.outputBytes) bytes) already in \(out); replaying the inputs to rebuild state\n")
            }
        } else {
            if ScanJournal.load(stateDir: state) != nil, !quiet {
                StandardError.write("bulkhead: an interrupted scan's journal in \(state) is for other inputs or settings: starting afresh\n")
            }
            journal = ScanJournal(inputs: fingerprint, settings: settings, output: out)
            alreadyWritten = 0
        }
        do { try journal.save(stateDir: state) } catch { throw ValidationError("cannot write the scan journal: \(error)") }
    }

    /// Counts an alert; false while replaying alerts that are already in the output.
    func shouldWrite() -> Bool {
        seen += 1
        return seen > alreadyWritten
    }

    /// At most once a second: sync the output, then record how much of it is durable.
    func afterWrite(_ sink: OutputStream) {
        let now = Date()
        guard now.timeIntervalSince(lastCheckpoint) >= 1 else { return }
        lastCheckpoint = now
        sink.sync()
        journal.alerts = seen
        journal.outputBytes = sink.size
        try? journal.save(stateDir: stateDir)
    }

    /// The scan completed: its output is whole, the journal goes.
    func finish(_ sink: OutputStream) {
        sink.sync()
        ScanJournal.remove(stateDir: stateDir)
    }
}
