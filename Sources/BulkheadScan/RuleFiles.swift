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
        for f in files {
            out.files += 1
            guard let data = FileManager.default.contents(atPath: f) else {
                out.diagnostics.append(Diagnostic(.ioError, "cannot read file", at: SourceLocation(file: f, line: 0)))
                out.failedFiles.insert(f)
                continue
            }
            let text = String(decoding: data, as: UTF8.self)
            let r = loader.load(yaml: text, file: f)
            out.documents.append(contentsOf: r.documents)
            out.diagnostics.append(contentsOf: r.diagnostics)
            if r.diagnostics.contains(where: { $0.severity == .error }) { out.failedFiles.insert(f) }
        }
        return out
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
