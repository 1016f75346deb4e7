import BulkheadScaleOut
import Foundation
import Testing

/// The built `bulkhead` binary run as a child process (workers are killed with SIGKILL, as a
/// node failure would), its output in a log file.
final class BulkheadProcess {
    let process = Process()
    let log: URL

    /// Next to the test bundle in the build folder (`swift test` builds it: the test target
    /// depends on the executable), or $BULKHEAD_BIN.
    static var binary: String? {
        if let b = ProcessInfo.processInfo.environment["BULKHEAD_BIN"] { return b }
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for candidate in [dir, dir.deletingLastPathComponent(), dir.deletingLastPathComponent().deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("bulkhead").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    init(_ arguments: [String], log: URL) throws {
        guard let binary = Self.binary else { throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: "bulkhead binary"]) }
        self.log = log
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    /// Runs to completion; stdout returned, stderr into `log`.
    static func run(_ arguments: [String], log: URL) throws -> (status: Int32, stdout: Data) {
        guard let binary else { throw CocoaError(.fileNoSuchFile) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = arguments
        let out = Pipe()
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        p.standardOutput = out
        p.standardError = try FileHandle(forWritingTo: log)
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, data)
    }

    var isRunning: Bool { process.isRunning }

    func kill() {
        guard process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM, then SIGKILL if it has not exited within `seconds`.
    func terminate(seconds: Double = 20) {
        guard process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        kill()
    }

    var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
}

/// Waits for `condition` (polled) until `seconds` pass; false on timeout. Never a fixed sleep
/// that a loaded machine can outrun.
func eventually(_ what: String, seconds: Double, every: Duration = .milliseconds(250), _ condition: () async throws -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if (try? await condition()) == true { return true }
        try? await Task.sleep(for: every)
    }
    Issue.record("timed out after \(Int(seconds)) s waiting for: \(what)")
    return false
}
