import ArgumentParser
import BulkheadServe
import Logging

/// swift-log on stderr for the long-running commands (`serve`, `worker`): text or JSON lines.
enum LogSetup {
    static func bootstrap(level name: String, format: String) throws -> Logger {
        guard let level = Logger.Level(rawValue: name) else { throw ValidationError("log level must be trace, debug, info, notice, warning or error") }
        guard ["text", "json"].contains(format) else { throw ValidationError("log format must be text or json") }
        let json = format == "json"
        LoggingSystem.bootstrap { label in
            if json {
                var h = JSONLogHandler(label: label)
                h.logLevel = level
                return h
            }
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        var logger = Logger(label: "bulkhead")
        logger.logLevel = level
        return logger
    }
}
