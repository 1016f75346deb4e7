// swift-tools-version: 6.1
// Allocation and time benchmarks of the stateless path (package-benchmark). Separate from the
// main package so `swift build`/`swift test` never fetch it. Run: scripts/bench, or
//   swift package --package-path Benchmarks --scratch-path .build-bench-alloc benchmark --target StatelessPath
import Foundation
import PackageDescription

// A path dependency's identity is its folder name (the checkout of bulkhead one level up).
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent.lowercased()

let package = Package(
    name: "BulkheadBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(path: "../"),
        .package(url: "https://github.com/ordo-one/package-benchmark", from: "1.29.0", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "StatelessPath",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "BulkheadEngine", package: root),
            ],
            path: "Benchmarks/StatelessPath",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
    ]
)
