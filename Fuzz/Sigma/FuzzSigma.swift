import Foundation
import BulkheadEngine
import BulkheadRules
import FuzzSupport

/// Sigma YAML: the loader (documents, modifiers, correlation and filter rules, alias budget),
/// the condition parser, and the compiler (regexes, globs, CIDRs, encodings).
func fuzzOne(_ bytes: UnsafeRawBufferPointer) {
    guard bytes.count < 64 << 10 else { return }
    let text = String(decoding: bytes, as: UTF8.self)
    let loaded = RuleLoader().load(yaml: text, file: "fuzz.yml")
    _ = RuleSet(documents: loaded.documents)
    _ = try? ConditionParser.parse(text, identifiers: ["selection", "filter", "keywords", "sel1", "sel2"])
}

@main struct Target {
    static func main() {
        FuzzMain.run { data, size in
            fuzzOne(UnsafeRawBufferPointer(start: data, count: size))
            return 0
        }
    }
}
