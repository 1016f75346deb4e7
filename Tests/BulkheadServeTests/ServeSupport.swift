import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing
@testable import BulkheadServe

/// A service over a fresh data directory with one analyst token.
enum ServeSupport {
    static let token = "analyst-token-0123456789abcdef"
    static let ingestToken = "collector-token-0123456789abcdef"
    static var auth: HTTPFields { [.authorization: "Bearer \(token)"] }

    static var packRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Detections").path
    }
    static var examples: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Examples/attack-story").path
    }

    static func tempDir() -> String {
        let d = NSTemporaryDirectory() + "bulkhead-serve-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    static func config(dataDir: String = tempDir(), postgres: String? = nil) -> ServeConfig {
        var c = ServeConfig()
        c.dataDir = dataDir
        c.envTokens = "analyst:\(token),collector:ingest:\(ingestToken)"
        c.rules = [packRoot]
        c.postgresURL = postgres
        c.host = "127.0.0.1"
        c.port = 0
        return c
    }

    static func start(_ c: ServeConfig) async throws -> BulkheadService {
        var logger = Logger(label: "bulkhead-test")
        logger.logLevel = .warning
        return try await BulkheadService.start(config: c, logger: logger)
    }

    /// The example audit log as the API server's webhook sends it: one EventList.
    static func auditEventList() throws -> ByteBuffer {
        let lines = try String(contentsOfFile: examples + "/01-kubernetes-audit.jsonl", encoding: .utf8).split(separator: "\n")
        return ByteBuffer(string: "{\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v1\",\"metadata\":{},\"items\":[" + lines.joined(separator: ",") + "]}")
    }

    static func file(_ name: String) throws -> ByteBuffer {
        ByteBuffer(bytes: try Data(contentsOf: URL(fileURLWithPath: examples + "/" + name)))
    }

    static func json(_ r: TestResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(r.body.readableBytesView))) as? [String: Any] ?? [:]
    }

    static func gzip(_ data: Data) throws -> Data {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["gzip", "-c", "-9"]
        let input = Pipe(), output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        try p.run()
        input.fileHandleForWriting.write(data)
        try input.fileHandleForWriting.close()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return out
    }

    /// Servers the tests start (PostgreSQL, Chromium): skipped with a loud message, unless
    /// BULKHEAD_REQUIRE_SERVICES=1 (CI), where a missing one fails.
    static var servicesRequired: Bool { ProcessInfo.processInfo.environment["BULKHEAD_REQUIRE_SERVICES"] == "1" }

    static func skipLoudly(_ why: String) {
        let line = String(repeating: "!", count: 78)
        FileHandle.standardError.write(Data("\n\(line)\nSKIPPED: \(why)\n\(line)\n".utf8))
    }
}
