import ArgumentParser
import BulkheadDetections
import BulkheadScan
import Foundation

struct Ads: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ads",
        abstract: "Work with Alerting and Detection Strategy (ADS) documents.",
        subcommands: [AdsLint.self, AdsRender.self, AdsSeeds.self])
}

struct AdsLint: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lint",
        abstract: "Check ADS documents: sections, ATT&CK ids, tactics and platforms against the Goal and logsource.",
        discussion: "PATH may be the pack (folders with ADS.md + rule.yml), one detection folder, or markdown ADS reports (seed reports: *.md, *.txt with a '## Goal' section).")

    @Argument(help: "Pack folders, detection folders or ADS report files (default: the bundled Detections/).") var paths: [String] = []
    @Flag(help: "Print only the summary.") var summary = false

    func run() throws {
        var paths = paths
        if paths.isEmpty {
            guard let pack = RuleFiles.defaultPack() else { throw ValidationError("Detections/ not found") }
            paths = [pack]
        }
        let (findings, documents, errors) = ADSLint().lint(paths: paths)
        for e in errors { FileHandle.standardError.write(Data("bulkhead: \(e)\n".utf8)) }
        if !summary { for f in findings { print(f) } }
        var byCode: [String: Int] = [:]
        for f in findings { byCode[f.code, default: 0] += 1 }
        let files = Set(findings.map(\.file)).count
        print("\(documents) documents checked, \(findings.count) findings in \(files) files"
              + (byCode.isEmpty ? "" : " (" + byCode.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")"))
        if !findings.isEmpty || !errors.isEmpty || documents == 0 { throw ExitCode(1) }
    }
}

struct AdsRender: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Render every detection as Markdown and self-contained HTML (ADS, ATT&CK, seeds, samples, rule), plus index pages.")

    @Argument(help: "Detection pack folder (default: the bundled Detections/).") var path: String?
    @Option(help: "Output folder.") var out: String

    func run() throws {
        guard let root = path ?? RuleFiles.defaultPack() else { throw ValidationError("Detections/ not found") }
        let pack = DetectionPack.load(root: root)
        if pack.detections.isEmpty { throw ValidationError("no detection folders (rule.yml) under \(root)") }
        let files = try ADSRender().write(pack: pack, to: out)
        print("\(pack.detections.count) detections rendered, \(files.count) files written to \(out) (index.html, index.md)")
    }
}

struct AdsSeeds: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seeds",
        abstract: "Write the seed map: every seed pattern of CONVENTIONS.md with the detections covering it (Detections/SEEDS.md).")

    @Argument(help: "Detection pack folder (default: the bundled Detections/).") var path: String?
    @Option(help: "Output file (default: SEEDS.md in the pack; '-' for stdout).") var out: String?

    func run() throws {
        guard let root = path ?? RuleFiles.defaultPack() else { throw ValidationError("Detections/ not found") }
        try SeedMapWriter.write(root: root, to: out ?? root + "/SEEDS.md")
    }
}

enum SeedMapWriter {
    static func write(root: String, to out: String) throws {
        let pack = DetectionPack.load(root: root)
        let text = Coverage.seedMap(pack: pack)
        if out == "-" { print(text, terminator: ""); return }
        try Data(text.utf8).write(to: URL(fileURLWithPath: out))
        let covered = pack.seedPatterns.filter { id in pack.detections.contains { $0.rule?.seeds.contains(id.id) == true } }.count
        print("\(out): \(pack.seedPatterns.count) seed patterns, \(covered) covered")
    }
}
