import ArgumentParser
import BulkheadDetections
import BulkheadScan
import Foundation

struct CoverageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coverage",
        abstract: "ATT&CK coverage of the detection pack: a table, an ATT&CK Navigator layer, the seed map.")

    @Argument(help: "Detection pack folder (default: the bundled Detections/).") var path: String?
    @Option(help: "Write an ATT&CK Navigator layer (format 4.5) to this file.") var navigator: String?
    @Option(help: "Write the seed map (SEEDS.md) to this file.") var seeds: String?
    @Flag(help: "Do not print the table.") var quiet = false

    func run() throws {
        guard let root = path ?? RuleFiles.defaultPack() else { throw ValidationError("Detections/ not found") }
        let pack = DetectionPack.load(root: root)
        let coverage = Coverage(pack: pack)
        if !quiet { print(coverage.table(), terminator: "") }
        if let navigator {
            try coverage.navigatorJSON().write(to: URL(fileURLWithPath: navigator))
            print("ATT&CK Navigator layer written to \(navigator)")
        }
        if let seeds { try SeedMapWriter.write(root: root, to: seeds) }
    }
}
