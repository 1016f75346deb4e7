import ArgumentParser
import BulkheadEngine
import BulkheadRules
import BulkheadScan
import Foundation

struct RulesCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Load and compile Sigma rules; report every problem with its code, file:line and rule id.")

    @Argument(help: "Rule files or folders.") var paths: [String]
    @Flag(help: "Exit non-zero on any problem (warnings too).") var strict = false
    @Flag(help: "Print only the summary.") var summary = false
    @Flag(help: "Print how each source's rules are evaluated: rules, rules the literal prefilter indexes, the fields it reads from every record, searches shared between rules.") var routes = false
    @Option(help: "YAML file with placeholder values for the expand modifier.") var placeholders: String?

    func run() throws {
        let loaded = RuleFiles.load(paths)
        var options = RuleCompiler.Options()
        if let placeholders { options.placeholders = try Placeholders.load(placeholders) }
        let ruleSet = RuleSet(documents: loaded.documents, options: options)
        let diagnostics = loaded.diagnostics + ruleSet.diagnostics
        if !summary {
            for d in diagnostics.sorted(by: { ($0.location.file, $0.location.line) < ($1.location.file, $1.location.line) }) {
                print(d)
            }
        }
        var byCode: [String: Int] = [:]
        for d in diagnostics where d.severity == .error { byCode[d.code.rawValue, default: 0] += 1 }
        let failedFiles = Set(diagnostics.filter { $0.severity == .error }.map(\.location.file))
        let rules = loaded.documents.filter { if case .rule = $0 { return true } else { return false } }.count
        print("""

        files: \(loaded.files)  documents: \(loaded.documents.count) (rules \(rules), correlations \(ruleSet.correlations.count), filters \(loaded.documents.count - rules - ruleSet.correlations.count))
        compiled: \(ruleSet.ruleCount)  routed to a known source: \(ruleSet.ruleCount - ruleSet.unrouted.count)  no known source yet: \(ruleSet.unrouted.count)
        files with errors: \(failedFiles.count)  errors: \(diagnostics.filter { $0.severity == .error }.count)  warnings: \(diagnostics.filter { $0.severity == .warning }.count)
        """)
        for (code, n) in byCode.sorted(by: { $0.value > $1.value }) {
            let name = Diagnostic.Code(rawValue: code).map { "\($0)" } ?? ""
            print("  \(code) \(name): \(n)")
        }
        if routes {
            print("\nroutes (source, logsource: rules, indexed by the prefilter, searches distinct/total; fields read for every record):")
            for r in ruleSet.routeStats {
                let ls = [r.logsource.product, r.logsource.service, r.logsource.category].compactMap { $0 }.joined(separator: "/")
                print("  \(r.source) \(ls): \(r.rules) rules, \(r.indexed) indexed, searches \(r.distinctSearches)/\(r.searches); \(r.indexedFields.joined(separator: ", "))")
            }
        }
        if (strict && !diagnostics.isEmpty) || (!failedFiles.isEmpty && strict) { throw ExitCode(1) }
    }
}
