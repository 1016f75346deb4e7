import BulkheadEngine
import BulkheadEvent
import BulkheadRules
import BulkheadSources

/// Compiles one rule (logsource `product: json`) and evaluates JSON records against it.
struct RuleHarness {
    let engine: Engine
    let diagnostics: [Diagnostic]
    let format = Formats.genericJSON

    init(_ yaml: String, placeholders: [String: [String]] = [:]) {
        let loaded = RuleLoader().load(yaml: yaml, file: "test.yml")
        var options = RuleCompiler.Options()
        options.placeholders = placeholders
        let set = RuleSet(documents: loaded.documents, options: options)
        engine = Engine(ruleSet: set)
        diagnostics = loaded.diagnostics + set.diagnostics
    }

    func matches(_ json: String) -> Bool {
        var tape = JSONTape()
        let bytes = Array(json.utf8)
        return (try? bytes.withUnsafeBytes { raw in
            try EventView.with(bytes: raw, tape: &tape, scratch: ScratchBuffer()) { v in
                !engine.matchingRules(v, format: format, kind: 0).isEmpty
            }
        }) ?? false
    }
}

/// A rule with one selection under `detection`, plus extra searches and a condition.
func rule(_ detection: String, condition: String = "selection") -> String {
    """
    title: test
    id: 11111111-2222-4333-8444-555555555555
    logsource:
        product: json
    detection:
    \(detection.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }.joined(separator: "\n"))
        condition: \(condition)
    level: high
    """
}
