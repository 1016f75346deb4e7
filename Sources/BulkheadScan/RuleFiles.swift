import BulkheadRules
import Foundation

/// Finds and loads Sigma YAML files (the I/O half of rule loading).
public enum RuleFiles {
    public struct Loaded: Sendable {
        public var documents: [SigmaDocument] = []
        public var diagnostics: [Diagnostic] = []
        public var files = 0
        /// Files that produced at least one error.
        public var failedFiles = Set<String>()
    }

    public static func yamlFiles(_ paths: [String]) -> (files: [String], errors: [String]) {
        let (all, errors) = ScanPipeline.expand(paths)
        return (all.filter { ($0.hasSuffix(".yml") || $0.hasSuffix(".yaml")) && !isTuningFile($0) }, errors)
    }

    /// Tuning files (`exceptions.yml`) live beside the rules but are not Sigma documents.
    public static func isTuningFile(_ path: String) -> Bool {
        let name = (path as NSString).lastPathComponent
        return name == "exceptions.yml" || name == "exceptions.yaml"
    }

    /// The pack's default tuning file, when it has one.
    public static func defaultExceptions(pack: String) -> String? {
        let path = (pack as NSString).appendingPathComponent("exceptions.yml")
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    public static func load(_ paths: [String], loader: RuleLoader = RuleLoader()) -> Loaded {
        var out = Loaded()
        let (files, errors) = yamlFiles(paths)
        for e in errors {
            out.diagnostics.append(Diagnostic(.ioError, e, at: SourceLocation(file: e.components(separatedBy: ":").first ?? e, line: 0)))
        }
        // Files are parsed on every core (YAML parsing is most of a short scan's start-up), then
        // merged in file order, so the result does not depend on the number of cores.
        let results = ParsedFiles(count: files.count)
        DispatchQueue.concurrentPerform(iterations: files.count) { i in
            let f = files[i]
            guard let data = FileManager.default.contents(atPath: f) else {
                results.store(i, nil)
                return
            }
            results.store(i, loader.load(yaml: String(decoding: data, as: UTF8.self), file: f))
        }
        for (i, f) in files.enumerated() {
            out.files += 1
            guard let r = results.result(i) else {
                out.diagnostics.append(Diagnostic(.ioError, "cannot read file", at: SourceLocation(file: f, line: 0)))
                out.failedFiles.insert(f)
                continue
            }
            out.documents.append(contentsOf: r.documents)
            out.diagnostics.append(contentsOf: r.diagnostics)
            if r.diagnostics.contains(where: { $0.severity == .error }) { out.failedFiles.insert(f) }
        }
        return out
    }

    /// One slot per file, each written by one thread.
    final class ParsedFiles: @unchecked Sendable {
        private var slots: [RuleLoader.Result?]
        private let lock = NSLock()
        init(count: Int) { slots = Array(repeating: nil, count: count) }
        func store(_ i: Int, _ r: RuleLoader.Result?) { lock.lock(); slots[i] = r; lock.unlock() }
        func result(_ i: Int) -> RuleLoader.Result? { slots[i] }
    }

    /// The bundled detection pack: `$BULKHEAD_DETECTIONS`, else `Detections/` next to the
    /// executable or in one of its parent folders (a build tree inside the checkout).
    public static func defaultPack() -> String? {
        if let env = ProcessInfo.processInfo.environment["BULKHEAD_DETECTIONS"] { return env }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            let candidate = dir.appendingPathComponent("Detections")
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDir), isDir.boolValue { return candidate.path }
            dir = dir.deletingLastPathComponent()
        }
        let cwd = FileManager.default.currentDirectoryPath + "/Detections"
        return FileManager.default.fileExists(atPath: cwd) ? cwd : nil
    }
}
