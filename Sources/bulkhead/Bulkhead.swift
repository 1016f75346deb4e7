import ArgumentParser

@main
struct Bulkhead: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bulkhead",
        abstract: "Detect container attacks in Kubernetes, runtime, network and cloud telemetry with Sigma rules.",
        subcommands: [Scan.self, Serve.self, Worker.self, Publish.self, Validate.self, Rules.self, Ads.self, CoverageCommand.self, BaselineCommand.self])
}

struct Rules: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Work with Sigma rule files.", subcommands: [RulesCheck.self])
}
