import ArgumentParser
import BulkheadDetections
import BulkheadEngine
import BulkheadScan
import Foundation

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run every detection's samples: fires-* must fire its rule, silent-* must not, and no sample may raise an unrelated high or critical alert.")

    @Argument(help: "Detection pack folder (default: the bundled Detections/).") var path: String?
    @Flag(help: "Print every sample, not only failures.") var verbose = false

    func run() throws {
        guard let root = path ?? RuleFiles.defaultPack() else { throw ValidationError("Detections/ not found") }
        let ruleSet = try CLIRules.load(paths: [root], strict: false, placeholders: nil, quiet: true)
        // The pack's default exceptions apply, as in `scan`: none may silence a firing sample.
        let exceptions = try ScanTuning.load(file: RuleFiles.defaultExceptions(pack: root), disabled: RuleFiles.defaultExceptions(pack: root) == nil,
                                             ruleSet: ruleSet, strict: false, quiet: true)
        let validator = PackValidator(ruleSet: ruleSet, exceptions: exceptions)
        let detections = PackValidator.detections(under: root)
        var failures = 0, samples = 0, passedDetections = 0
        print("\(Summary.pad("detection", 72)) \(Summary.pad("samples", 8)) result")
        for d in detections {
            let results = validator.validate(d)
            samples += results.count
            let failed = results.filter { !$0.passed }
            failures += failed.count
            if failed.isEmpty { passedDetections += 1 }
            let name = String(d.folder.dropFirst(root.count).drop(while: { $0 == "/" }))
            print("\(Summary.pad(name, 72)) \(Summary.pad(String(d.samples.count), 8)) \(failed.isEmpty ? "ok" : "FAIL")")
            for r in results where verbose || !r.passed {
                let sample = (r.sample as NSString).lastPathComponent
                print("    \(r.passed ? "ok  " : "FAIL") \(sample)  fired=\(r.fired)" + (r.problems.isEmpty ? "" : "  " + r.problems.joined(separator: "; ")))
            }
        }
        print("\n\(detections.count) detections, \(passedDetections) passed, \(samples) samples checked, \(failures) failures")
        if failures > 0 || detections.isEmpty { throw ExitCode(1) }
    }
}
