import ArgumentParser
import BulkheadServe
import Foundation
import Logging

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the detection service: webhook ingest, alert store, API, web UI and metrics.",
        discussion: "Settings come from --config (YAML), then BULKHEAD_* environment variables, then these flags. See docs/serve.md.")

    @Option(help: "YAML configuration file.") var config: String?
    @Option(help: "Address to listen on (host:port).") var listen: String?
    @Option(help: "Directory for the SQLite store, the ingest queue and sink spools.") var dataDir: String?
    @Option(help: "File of bearer tokens (`name:token` per line).") var tokensFile: String?
    @Option(help: "PostgreSQL URL for a shared alert store (default: SQLite in the data directory).") var postgresUrl: String?
    @Option(help: "Rule files or folders (repeatable). Default: the bundled Detections/ pack.") var rules: [String] = []
    @Option(help: "Log level: trace, debug, info, notice, warning, error.") var logLevel: String?
    @Option(help: "Log format: text (key=value) or json (one object per line).") var logFormat: String?

    func run() async throws {
        var c: ServeConfig
        do { c = try ServeConfig.load(file: config) } catch {
            FileHandle.standardError.write(Data("bulkhead: error: \(error)\n".utf8))
            throw ExitCode(2)
        }
        if let listen { c.listen = listen }
        if let dataDir { c.dataDir = dataDir }
        if let tokensFile { c.tokensFile = tokensFile }
        if let postgresUrl { c.postgresURL = postgresUrl }
        if !rules.isEmpty { c.rules = rules }
        if let logLevel { c.logLevel = logLevel }
        if let logFormat { c.logFormat = logFormat }
        let logger = try LogSetup.bootstrap(level: c.logLevel, format: c.logFormat)
        do {
            try await ServeRunner.run(config: c, logger: logger)
        } catch {
            logger.critical("bulkhead serve failed", metadata: ["error": "\(error)"])
            throw ExitCode(2)
        }
    }
}
