// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "bulkhead",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "bulkhead", targets: ["bulkhead"]),
        .library(name: "BulkheadEngine", targets: ["BulkheadEngine"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.9.0"..<"6.0.0"),
    ],
    targets: [
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // Byte-level JSON scanner, reusable tape, field paths. No dependencies, no I/O.
        // Its scratch objects (root key index, unescape buffers) belong to one thread: release
        // builds skip the runtime exclusivity bookkeeping on them, as in BulkheadEngine.
        .target(name: "BulkheadEvent",
                swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]),
        // Sigma YAML -> rule AST with source locations and diagnostics.
        .target(name: "BulkheadRules", dependencies: ["BulkheadEvent", .product(name: "Yams", package: "Yams")]),
        // Telemetry formats: framing, sniffing, decoding, field mappings, entities.
        .target(name: "BulkheadSources", dependencies: ["BulkheadEvent", "CZlib"],
                resources: [.copy("Mappings")]),
        // Compiler (rules -> evaluation plan), router, evaluator, alerts. No I/O.
        .target(name: "BulkheadEngine", dependencies: ["BulkheadEvent", "BulkheadRules", "BulkheadSources"],
                // The Public Suffix List (bundled copy, MPL-2.0) for the DNS tunnelling analytic.
                resources: [.copy("Resources")],
                // An Evaluator is owned by one thread; release builds skip the runtime
                // exclusivity bookkeeping on its scratch state (debug builds and tests keep it).
                swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]),
        // Alert renderers: terminal, JSON lines, OCSF.
        .target(name: "BulkheadSinks", dependencies: ["BulkheadEngine"]),
        // File and stdin reading, gzip, framing: the I/O around the engine for `scan`.
        .target(name: "BulkheadScan", dependencies: ["BulkheadEngine", "BulkheadSources", "CZlib"]),
        // Learned state between scans (`--state DIR`): SQLite through GRDB, behind the engine's BaselineStateStore.
        .target(name: "BulkheadState", dependencies: ["BulkheadEngine", .product(name: "GRDB", package: "GRDB.swift")]),
        // The detection pack as a product: validation, ADS lint, ATT&CK catalog, coverage.
        .target(name: "BulkheadDetections", dependencies: ["BulkheadEvent", "BulkheadEngine", "BulkheadScan", "BulkheadRules"],
                resources: [.copy("Resources")]),
        // NATS and JetStream client over SwiftNIO (for scale-out workers).
        .target(name: "BulkheadNATS", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        // Scale-out over JetStream: records partitioned by entity, `bulkhead worker` (leases,
        // checkpoints, deterministic alert ids), the publisher `serve` uses in NATS mode.
        .target(name: "BulkheadScaleOut", dependencies: [
            "BulkheadNATS", "BulkheadEngine", "BulkheadScan", "BulkheadSources", "BulkheadRules", "BulkheadSinks", "BulkheadDetections", "CZlib",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // `bulkhead serve`: webhook ingest, alert store (SQLite or PostgreSQL), API, web UI, sinks, metrics.
        .target(name: "BulkheadServe", dependencies: [
            "BulkheadDetections", "BulkheadState", "BulkheadEngine", "BulkheadScan", "BulkheadSinks", "BulkheadSources", "BulkheadRules",
            "BulkheadScaleOut",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Yams", package: "Yams"),
        ], resources: [.copy("Web")]),
        .executableTarget(name: "bulkhead", dependencies: [
            "BulkheadDetections", "BulkheadState", "BulkheadServe", "BulkheadScaleOut",
            "BulkheadEngine", "BulkheadSinks", "BulkheadSources", "BulkheadScan", "BulkheadRules",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Fuzz targets (scripts/fuzz builds them with libFuzzer; a plain build makes them replay
        // files, which keeps the corpus and past crashes as regression tests).
        .target(name: "FuzzSupport", path: "Fuzz/Support"),
        .executableTarget(name: "fuzz-json", dependencies: ["BulkheadEvent", "FuzzSupport"], path: "Fuzz/JSON"),
        .executableTarget(name: "fuzz-text", dependencies: ["BulkheadEvent", "BulkheadSources", "FuzzSupport"], path: "Fuzz/Text"),
        .executableTarget(name: "fuzz-capture", dependencies: ["BulkheadEvent", "BulkheadSources", "FuzzSupport"], path: "Fuzz/Capture"),
        .executableTarget(name: "fuzz-sigma", dependencies: ["BulkheadRules", "BulkheadEngine", "BulkheadEvent", "BulkheadSources", "FuzzSupport"], path: "Fuzz/Sigma"),
        .executableTarget(name: "fuzz-scan", dependencies: ["BulkheadEngine", "BulkheadScan", "FuzzSupport"], path: "Fuzz/Scan"),
        .testTarget(name: "BulkheadEventTests", dependencies: ["BulkheadEvent"]),
        .testTarget(name: "BulkheadSourcesTests", dependencies: ["BulkheadSources", "BulkheadEvent"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "BulkheadEngineTests", dependencies: ["BulkheadEngine", "BulkheadSinks", "BulkheadScan", "BulkheadRules", "CZlib"]),
        .testTarget(name: "BulkheadStateTests", dependencies: ["BulkheadState", "BulkheadEngine", "BulkheadScan", "BulkheadRules"]),
        .testTarget(name: "BulkheadServeTests", dependencies: [
            "BulkheadServe", "BulkheadEngine", "BulkheadDetections", "BulkheadScan", "BulkheadRules", "BulkheadState",
            "BulkheadScaleOut", "BulkheadNATS", "NATSTestSupport",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
        ]),
        // Real nats-server processes for tests (one server, or a three-node cluster).
        .target(name: "NATSTestSupport", path: "Tests/NATSTestSupport"),
        .testTarget(name: "BulkheadNATSTests", dependencies: ["BulkheadNATS", "NATSTestSupport"]),
        // Unit tests, and end-to-end runs of real `bulkhead worker` processes against a
        // three-node nats-server cluster (the NATS test helpers are shared from BulkheadNATSTests).
        .testTarget(name: "BulkheadScaleOutTests", dependencies: ["BulkheadScaleOut", "BulkheadNATS", "NATSTestSupport", "BulkheadEngine", "BulkheadEvent", "BulkheadScan", "BulkheadRules", "BulkheadSources", "bulkhead"]),
        .testTarget(name: "DetectionPackTests", dependencies: ["BulkheadDetections", "BulkheadEngine", "BulkheadScan", "BulkheadRules", "BulkheadSinks", .product(name: "Yams", package: "Yams")],
                    resources: [.copy("Fixtures")]),
    ],
    swiftLanguageModes: [.v6]
)
