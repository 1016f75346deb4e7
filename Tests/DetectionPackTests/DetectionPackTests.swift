import BulkheadDetections
import BulkheadEngine
import BulkheadScan
import Foundation
import Testing

/// The detection pack in this checkout, proven by its own samples.
enum Pack {
    static let root: String = {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" {
            let d = dir.appendingPathComponent("Detections").path
            if FileManager.default.fileExists(atPath: d) { return d }
            dir = dir.deletingLastPathComponent()
        }
        return "Detections"
    }()
    static let detections = PackValidator.detections(under: root)
    static let loaded = RuleFiles.load([root])
    static let ruleSet = RuleSet(documents: loaded.documents)
}

@Suite struct DetectionPackTests {
    @Test func everyRuleLoadsWithoutProblems() {
        let problems = Pack.loaded.diagnostics + Pack.ruleSet.diagnostics
        #expect(problems.isEmpty, "\(problems.map(\.description).joined(separator: "\n"))")
        #expect(Pack.detections.count >= 60)
    }

    @Test(arguments: Pack.detections.map { String($0.folder.dropFirst(Pack.root.count + 1)) })
    func samplesProveTheDetection(_ name: String) throws {
        let d = try #require(Pack.detections.first { $0.folder.hasSuffix("/" + name) })
        for r in PackValidator(ruleSet: Pack.ruleSet).validate(d) {
            #expect(r.passed, "\((r.sample as NSString).lastPathComponent): \(r.problems.joined(separator: "; "))")
        }
    }

    @Test func everySeedPatternIsCovered() throws {
        let conventions = try String(contentsOfFile: Pack.root + "/CONVENTIONS.md", encoding: .utf8)
        let patterns = conventions.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("- 0"), let colon = line.firstIndex(of: ":") else { return nil }
            return String(line.dropFirst(2)[..<colon])
        }
        #expect(patterns.count == 27)
        let covered = Set(Pack.ruleSet.rules.flatMap(\.seeds))
        let missing = patterns.filter { !covered.contains($0) }
        #expect(missing.isEmpty, "seed patterns without a detection: \(missing)")
    }
}
