import ArgumentParser
import BulkheadEngine
import BulkheadScaleOut
import BulkheadScan
import BulkheadServe
import BulkheadSinks
import BulkheadSources
import Foundation
import Logging

struct Publish: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Publish telemetry files to the JetStream telemetry stream, partitioned as serve does (backfills, tests).",
        discussion: "Each file is read, framed and decoded like `scan` reads it, and its records are published to <prefix>.<format>.<partition> with message ids derived from the file's path, size and time, so publishing the same file again within the duplicate window stores nothing twice.")

    @Argument(help: "Files or directories (recursive).") var inputs: [String]
    @OptionGroup var nats: NATSFlags
    @Option(help: "Force the input format.") var format: String?
    @Option(help: "Largest (decompressed) file, in bytes: a file's records are held in memory until published.") var maxFileBytes = 512 << 20
    @Flag(name: .shortAndLong, help: "No summary on stderr.") var quiet = false

    func run() async throws {
        let c = try nats.load()
        let config = c.nats!
        var options = ScanOptions()
        options.maxInputBytes = maxFileBytes
        if let format {
            guard let i = Formats.index(of: format) else { throw ValidationError("unknown format \(format)") }
            options.forcedFormat = i
        }
        var logger = Logger(label: "bulkhead")
        logger.logLevel = quiet ? .warning : .notice
        let publisher = try await TelemetryPublisher.connect(config, instance: "publish", logger: logger)
        // Entities only: no rule is evaluated here (the router takes every record).
        let engine = Engine(ruleSet: RuleSet(documents: []))
        let router = RecordRouter(engine: engine, partitioner: config.partitioner, maxRecordBytes: publisher.maxRecordBytes)
        let pipeline = ScanPipeline(engine: engine, options: options, onAlert: { _ in }, onProblem: { message in
            StandardError.write("bulkhead: \(Terminal.sanitize(message))\n")
        })
        router.attach(to: pipeline)
        let (files, errors) = ScanPipeline.expand(inputs)
        for e in errors { StandardError.write("bulkhead: error: \(e)\n") }
        let start = Date()
        var total = 0, duplicates = 0
        for file in files {
            pipeline.scan(file: file)
            let (records, problems) = router.take()
            for p in problems { StandardError.write("bulkhead: \(file): \(p)\n") }
            let attributes = try? FileManager.default.attributesOfItem(atPath: file)
            let stamp = "\((attributes?[.size] as? NSNumber)?.intValue ?? 0):\((attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)"
            do {
                duplicates += try await publisher.publish(records, batch: "file:\(URL(fileURLWithPath: file).standardizedFileURL.path):\(stamp)")
            } catch {
                await publisher.close()
                StandardError.write("bulkhead: error: publishing \(file): \(error)\n")
                throw ExitCode(2)
            }
            total += records.count
        }
        await publisher.close()
        let seconds = Date().timeIntervalSince(start)
        if !quiet {
            StandardError.write(String(format: "published %d records from %d files in %.2f s (%.0f records/s), %d already in the stream, %d bad\n",
                                       total, files.count, seconds, Double(total) / max(seconds, 0.001), duplicates, pipeline.stats.badRecords))
        }
        if !errors.isEmpty || !pipeline.stats.operationalErrors.isEmpty { throw ExitCode(2) }
    }
}
