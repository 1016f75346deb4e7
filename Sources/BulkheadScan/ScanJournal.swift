import Foundation

/// What an interrupted `scan --state DIR --out FILE` had made durable, so that running the same
/// command again finishes the job without losing or repeating an alert.
///
/// Resume works by replay, not by seeking: the scan is deterministic, so the second run reads
/// the same inputs from the start against the same starting state (`--state` is written only
/// when a scan completes), rebuilds every window and baseline on the way, and writes only the
/// alerts after the `alerts` the first run had made durable. The output file is cut back to
/// `outputBytes` first: anything written after the last journal entry is written again.
public struct ScanJournal: Codable, Equatable, Sendable {
    public struct Input: Codable, Equatable, Sendable {
        public var path: String
        public var size: Int64
        public var modified: Double
    }

    public var version = 1
    /// The inputs as the scan found them; a resume needs the same files unchanged.
    public var inputs: [Input]
    /// Everything else that decides the alerts (the command line).
    public var settings: [String]
    public var output: String
    /// Alerts durably written to `output`, and its length at that point.
    public var alerts = 0
    public var outputBytes: Int64 = 0

    public init(inputs: [Input], settings: [String], output: String) {
        self.inputs = inputs
        self.settings = settings
        self.output = output
    }

    public static func file(in stateDir: String) -> String { (stateDir as NSString).appendingPathComponent("scan-journal.json") }

    /// The inputs of `paths` (expanded like `ScanPipeline.expand`); stdin cannot be resumed.
    public static func fingerprint(_ paths: [String]) -> [Input]? {
        let (files, _) = ScanPipeline.expand(paths)
        var out: [Input] = []
        for f in files {
            guard f != "-", let a = try? FileManager.default.attributesOfItem(atPath: f) else { return nil }
            out.append(Input(path: f, size: (a[.size] as? NSNumber)?.int64Value ?? -1,
                             modified: (a[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0))
        }
        return out
    }

    public static func load(stateDir: String) -> ScanJournal? {
        guard let data = FileManager.default.contents(atPath: file(in: stateDir)) else { return nil }
        return try? JSONDecoder().decode(ScanJournal.self, from: data)
    }

    /// Written to a temporary file, synced and renamed: a kill leaves the old journal or the new.
    public func save(stateDir: String) throws {
        let path = Self.file(in: stateDir)
        let temp = path + ".tmp"
        let data = try JSONEncoder().encode(self)
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw ScanError.io(temp, String(cString: strerror(errno))) }
        let ok = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) == $0.count } && fsync(fd) == 0
        close(fd)
        guard ok, rename(temp, path) == 0 else { throw ScanError.io(path, String(cString: strerror(errno))) }
    }

    public static func remove(stateDir: String) {
        unlink(file(in: stateDir))
    }
}
