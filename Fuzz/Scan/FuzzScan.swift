import BulkheadEngine
import BulkheadScan
import Foundation
import FuzzSupport

/// The whole scan path on one input: gzip, sniffing, framing, every reader, routing and the
/// bundled pack's rules (regexes on attacker-controlled values included), alerts and their
/// entities. Run from the repository root (or set BULKHEAD_DETECTIONS).
nonisolated(unsafe) let pipeline: ScanPipeline = {  // libFuzzer calls in from one thread
    guard let pack = RuleFiles.defaultPack() else { fatalError("Detections/ not found: run from the repository root") }
    let engine = Engine(ruleSet: RuleSet(documents: RuleFiles.load([pack]).documents))
    var options = ScanOptions()
    options.maxInputBytes = 8 << 20
    options.maxDocumentBytes = 8 << 20
    return ScanPipeline(engine: engine, options: options, onAlert: { _ in }, onProblem: { _ in })
}()
let inputPath = NSTemporaryDirectory() + "bulkhead-fuzz-scan-\(getpid())"

func fuzzOne(_ bytes: UnsafeRawBufferPointer) {
    guard FileManager.default.createFile(atPath: inputPath, contents: Data(bytes)) else { return }
    pipeline.resetStats()
    pipeline.scan(file: inputPath, name: "fuzz")
}

@main struct Target {
    static func main() {
        FuzzMain.run { data, size in
            fuzzOne(UnsafeRawBufferPointer(start: data, count: size))
            return 0
        }
    }
}
