import ArgumentParser
import BulkheadScaleOut
import BulkheadServe
import Foundation

/// Where `worker` and `publish` find NATS: the `nats:` section of the serve config file, the
/// BULKHEAD_NATS_* environment (token and password only there or in the file, never as
/// flags, so they stay out of process listings), then these flags.
struct NATSFlags: ParsableArguments {
    @Option(help: "YAML configuration: the file `serve` reads (its nats section, rules, exceptions, lateness, logging).") var config: String?
    @Option(name: .customLong("nats-server"), help: "NATS server URL (repeatable; default from the config or BULKHEAD_NATS_SERVERS).") var servers: [String] = []
    @Option(help: "Partitions of the telemetry stream; every publisher and worker must use the same number (default 16).") var partitionCount: Int?
    @Option(help: "Entity key of namespaced records: namespace (default) or pod.") var partitionBy: String?
    @Option(help: "Replicas of the streams and buckets created (3 on a three-node cluster).") var replicas: Int?

    func load() throws -> ServeConfig {
        var c: ServeConfig
        do { c = try ServeConfig.load(file: config) } catch { throw ValidationError("\(error)") }
        if !servers.isEmpty {
            if c.nats == nil { c.nats = ScaleOutConfig() }
            c.nats?.servers = servers
        }
        guard c.nats != nil else { throw ValidationError("no NATS configured: give --nats-server, BULKHEAD_NATS_SERVERS or a config with a nats section") }
        if let partitionCount { c.nats?.partitions = partitionCount }
        if let partitionBy {
            guard let g = Partitioner.Granularity(rawValue: partitionBy) else { throw ValidationError("--partition-by must be namespace or pod") }
            c.nats?.granularity = g
        }
        if let replicas { c.nats?.replicas = replicas }
        if let problem = c.nats?.validate() { throw ValidationError(problem) }
        return c
    }
}
