@testable import BulkheadEngine
import BulkheadEvent
import BulkheadRules
import BulkheadScan
import BulkheadSources
import Foundation
import Testing

/// The literal prefilter and the flat match programs change speed only: every record must
/// match exactly the rules it matches with the prefilter off.
@Suite struct PrefilterTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Rules shaped to exercise every atom: exact, prefix, suffix, numbers (also written as
    /// `401.0` or `4.01e2` in records), booleans, several values and paths, `|all`, ORs across
    /// fields, negations (no clause), case folding, keywords.
    static let shapes = """
    title: exact and prefix across an OR
    id: 00000000-0000-4000-8000-000000000001
    logsource: {product: kubernetes, service: audit}
    detection:
        a: {impersonatedUser.username: [system:admin, kubernetes-admin]}
        b: {impersonatedUser.username|startswith: 'system:node:'}
        c: {impersonatedUser.groups: system:masters}
        condition: 1 of them
    ---
    title: numbers
    id: 00000000-0000-4000-8000-000000000002
    logsource: {product: kubernetes, service: audit}
    detection:
        selection: {responseStatus.code: [401, 403]}
        condition: selection
    ---
    title: suffix and case
    id: 00000000-0000-4000-8000-000000000003
    logsource: {product: kubernetes, service: audit}
    detection:
        selection:
            objectRef.name|endswith: '-Admin'
            verb: CREATE
        condition: selection
    ---
    title: booleans and all
    id: 00000000-0000-4000-8000-000000000004
    logsource: {product: kubernetes, service: audit}
    detection:
        selection:
            requestObject.spec.hostNetwork: true
            objectRef.resource|all: [pods]
        condition: selection
    ---
    title: negation only
    id: 00000000-0000-4000-8000-000000000005
    logsource: {product: kubernetes, service: audit}
    detection:
        filter: {verb: [get, list, watch]}
        condition: not filter
    ---
    title: keywords and contains
    id: 00000000-0000-4000-8000-000000000006
    logsource: {product: kubernetes, service: audit}
    detection:
        keywords: [masters]
        selection: {userAgent|contains: curl}
        condition: keywords or selection
    ---
    title: contains, wildcards and regexes
    id: 00000000-0000-4000-8000-000000000009
    logsource: {product: kubernetes, service: audit}
    detection:
        a: {userAgent|contains: [CURL, wget]}
        b: {objectRef.name: '*adm?n*'}
        c: {user.username|re: 'serviceaccount:pro[d]'}
        d: {userAgent|contains|cased: 'kubectl/'}
        condition: 1 of them
    ---
    title: shared filter, first
    id: 00000000-0000-4000-8000-000000000007
    logsource: {product: kubernetes, service: audit}
    detection:
        selection: {verb: delete}
        filter: {user.username|startswith: 'system:serviceaccount:kube-system:'}
        condition: selection and not filter
    ---
    title: shared filter, second
    id: 00000000-0000-4000-8000-000000000008
    logsource: {product: kubernetes, service: audit}
    detection:
        selection: {verb: patch}
        filter: {user.username|startswith: 'system:serviceaccount:kube-system:'}
        condition: selection and not filter
    """

    static func record(_ i: Int) -> String {
        let verbs = ["get", "list", "create", "CREATE", "delete", "patch", "watch", "Delete"]
        let users = ["alice", "system:serviceaccount:kube-system:gc", "system:serviceaccount:prod:api", "system:node:n1", "SYSTEM:ADMIN"]
        let codes = ["200", "401", "403", "401.0", "4.01e2", "\"401\"", "403.5", "-401"]
        let names = ["web", "cluster-admin", "x-ADMIN", "admin", "-admin"]
        var fields = [
            #""kind":"Event""#, #""apiVersion":"audit.k8s.io/v1""#,
            #""verb":"\#(verbs[i % verbs.count])""#,
            #""user":{"username":"\#(users[i % users.count])"}"#,
            #""responseStatus":{"code":\#(codes[i % codes.count])}"#,
            #""objectRef":{"resource":"\#(i % 3 == 0 ? "pods" : "secrets")","name":"\#(names[i % names.count])"}"#,
            #""userAgent":"\#(["curl/8", "kubectl", "Wget/1", "KUBECTL/1.30", "kubectl/1.30", "xcurLy"][i % 6])""#,
        ]
        if i % 4 == 0 {
            fields.append(#""impersonatedUser":{"username":"\#(users[(i / 4) % users.count])","groups":["\#(i % 8 == 0 ? "system:masters" : "devs")"]}"#)
        }
        if i % 5 == 0 { fields.append(#""requestObject":{"spec":{"hostNetwork":\#(i % 10 == 0 ? "true" : "\"TRUE\"")}}"#) }
        return "{" + fields.joined(separator: ",") + "}"
    }

    /// Matches per record, one line per record: `line: rule ids`.
    static func matches(_ set: RuleSet, _ records: [(format: Int, kind: Int, json: [UInt8])]) -> [String] {
        let engine = Engine(ruleSet: set)
        var tape = JSONTape()
        let scratch = ScratchBuffer()
        var out: [String] = []
        for (i, r) in records.enumerated() {
            let rules: [Int] = r.json.withUnsafeBytes { raw in
                (try? EventView.with(bytes: raw, tape: &tape, scratch: scratch) { engine.matchingRules($0, format: r.format, kind: r.kind) }) ?? []
            }
            out.append("\(i): " + rules.map { set.rules[$0].id }.joined(separator: ","))
        }
        return out
    }

    static func firstDifference(_ a: [String], _ b: [String]) -> String? {
        if let i = zip(a, b).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset { return "prefilter on: \(a[i]); off: \(b[i])" }
        return a.count == b.count ? nil : "\(a.count) versus \(b.count) lines"
    }

    static func ruleSets(_ docs: [SigmaDocument]) -> (on: RuleSet, off: RuleSet) {
        var off = RuleCompiler.Options()
        off.prefilter = false
        return (RuleSet(documents: docs), RuleSet(documents: docs, options: off))
    }

    @Test func shapedRulesMatchTheSameWithAndWithoutThePrefilter() throws {
        let docs = RuleLoader().load(yaml: Self.shapes, file: "shapes.yml").documents
        let (on, off) = Self.ruleSets(docs)
        let audit = try #require(Formats.index(of: "k8s_audit"))
        let records = (0..<400).map { (format: audit, kind: 0, json: Array(Self.record($0).utf8)) }
        let with = Self.matches(on, records), without = Self.matches(off, records)
        #expect(Self.firstDifference(with, without) == nil)
        // The records exercise every rule, and the prefilter indexes those with literals.
        let fired = Set(with.flatMap { $0.split(separator: " ").dropFirst().flatMap { $0.split(separator: ",") } })
        #expect(fired.count == 9)
        let stats = try #require(on.routeStats.first { $0.source == "k8s_audit" })
        #expect(stats.indexed == 7)   // all but the negation and the keywords rule
        #expect(stats.distinctSearches < stats.searches)   // the shared filter is one search
    }

    /// The whole pack over every detection's samples and the example story (many formats and
    /// rule shapes, through the real decoders).
    @Test func thePackAlertsTheSameWithAndWithoutThePrefilter() throws {
        let loaded = RuleFiles.load([Self.root.appendingPathComponent("Detections").path])
        let (on, off) = Self.ruleSets(loaded.documents)
        func alerts(_ set: RuleSet) -> [String] {
            var out: [String] = []
            let pipeline = ScanPipeline(engine: Engine(ruleSet: set), onAlert: { out.append("\($0.rule.id) \($0.origin.name):\($0.origin.line)") },
                                        onProblem: { _ in })
            pipeline.scan(paths: [Self.root.appendingPathComponent("Detections").path, Self.root.appendingPathComponent("Examples").path])
            return out
        }
        let with = alerts(on), without = alerts(off)
        #expect(with.count > 400)
        #expect(Self.firstDifference(with, without) == nil)
    }

    /// The automaton finds exactly the literals a naive folded search finds (overlapping,
    /// nested, repeated literals; upper case in the text).
    @Test func ahoCorasickFindsWhatANaiveSearchFinds() throws {
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("abcAB/-. \u{e9}".utf8)
        for _ in 0..<200 {
            let literals = Array(Set((0..<Int.random(in: 1...30, using: &rng)).map { _ in
                (0..<Int.random(in: 1...5, using: &rng)).map { _ in asciiLower(alphabet.randomElement(using: &rng)!) }
            }))
            let ac = try #require(AhoCorasick(literals))
            defer { ac.free() }
            for _ in 0..<20 {
                let text = (0..<Int.random(in: 0...40, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
                var found = Set<Int>()
                text.withUnsafeBufferPointer { v in ac.forEachMatch(v) { found.insert($0) } }
                let folded = text.map(asciiLower)
                let expected = Set(literals.indices.filter { l in
                    let lit = literals[l]
                    return folded.count >= lit.count && (0...(folded.count - lit.count)).contains { Array(folded[$0..<($0 + lit.count)]) == lit }
                })
                #expect(found == expected)
            }
        }
        #expect(AhoCorasick([Array(repeating: 0x61, count: AhoCorasick.maxBytes + 1)]) == nil)
    }

    @Test func addressesParseWithoutAllocating() {
        let known: [(String, String?)] = [
            ("10.0.0.1", "0a000001"), ("::1", "00000000000000000000000000000001"), ("::", "00000000000000000000000000000000"),
            ("1::", "00010000000000000000000000000000"), ("fe80::1%eth0", "fe800000000000000000000000000001"),
            ("[2001:db8::1]", "20010db8000000000000000000000001"), ("::ffff:10.0.0.1", "00000000000000000000ffff0a000001"),
            ("2001:db8:0:0:0:0:2:1", "20010db8000000000000000000020001"), ("1:2:3:4:5:6:7:8", "00010002000300040005000600070008"),
            ("1:2:3:4:5:6:1.2.3.4", "00010002000300040005000601020304"), ("1:2:3:4:5:6:7:8:9", nil), ("1::2::3", nil),
            ("12345::", nil), ("g::1", nil), ("256.1.1.1", nil), ("1.2.3", nil), ("", nil), ("1:2:3:4:5:6:7", nil),
        ]
        for (text, hex) in known {
            let got = IPAddress.parse(Array(text.utf8)).map { $0.map { String(format: "%02x", $0) }.joined() }
            #expect(got == hex, "\(text)")
        }
        // Random text never traps, and what parses as IPv4 is a dotted quad.
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("0123456789abcdefABCDEF:.%[]g".utf8)
        for _ in 0..<20_000 {
            let bytes = (0..<Int.random(in: 0...24, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            if let a = IPAddress.parse(bytes), a.count == 4 { #expect(bytes.filter { $0 == UInt8(ascii: ".") }.count == 3) }
        }
    }
}
