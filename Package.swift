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
    ],
    targets: [
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // Byte-level JSON scanner, reusable tape, field paths. No dependencies, no I/O.
        .target(name: "BulkheadEvent"),
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
        .executableTarget(name: "bulkhead", dependencies: [
            "BulkheadDetections", "BulkheadState",
            "BulkheadEngine", "BulkheadSinks", "BulkheadSources", "BulkheadScan", "BulkheadRules",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "BulkheadEventTests", dependencies: ["BulkheadEvent"]),
        .testTarget(name: "BulkheadSourcesTests", dependencies: ["BulkheadSources", "BulkheadEvent"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "BulkheadEngineTests", dependencies: ["BulkheadEngine", "BulkheadSinks", "BulkheadScan", "BulkheadRules", "CZlib"]),
        .testTarget(name: "BulkheadStateTests", dependencies: ["BulkheadState", "BulkheadEngine", "BulkheadScan", "BulkheadRules"]),
        .testTarget(name: "DetectionPackTests", dependencies: ["BulkheadDetections", "BulkheadEngine", "BulkheadScan", "BulkheadRules", .product(name: "Yams", package: "Yams")],
                    resources: [.copy("Fixtures")]),
    ],
    swiftLanguageModes: [.v6]
)
