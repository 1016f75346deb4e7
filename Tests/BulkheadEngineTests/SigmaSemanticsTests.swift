import BulkheadEngine
import BulkheadRules
import Testing

@Suite struct ValueMatchingTests {
    @Test func plainValuesAreCaseInsensitiveExactMatches() {
        let h = RuleHarness(rule("selection:\n    verb: Create"))
        #expect(h.matches(#"{"verb":"create"}"#))
        #expect(h.matches(#"{"verb":"CREATE"}"#))
        #expect(!h.matches(#"{"verb":"created"}"#))
        #expect(!h.matches(#"{"other":"create"}"#))
    }

    @Test func wildcardsAndEscapes() {
        let h = RuleHarness(rule("selection:\n    a: 'ab*c?e'\n    b: 'lit\\*eral'"))
        #expect(h.matches(#"{"a":"abXXcde","b":"lit*eral"}"#))
        #expect(h.matches(#"{"a":"abcde","b":"LIT*ERAL"}"#))
        #expect(!h.matches(#"{"a":"abcdde","b":"lit*eral"}"#))
        #expect(!h.matches(#"{"a":"abXcde","b":"litXeral"}"#))
    }

    @Test func containsStartsEndsWithAndAll() {
        let h = RuleHarness(rule("selection:\n    cmd|contains|all:\n        - ' -e '\n        - 'nc'\n    img|endswith: '/bash'\n    dir|startswith: '/tmp'"))
        #expect(h.matches(#"{"cmd":"NC -e /bin/sh 1.2.3.4","img":"/usr/bin/bash","dir":"/tmp/x"}"#))
        #expect(!h.matches(#"{"cmd":"nc 1.2.3.4","img":"/usr/bin/bash","dir":"/tmp/x"}"#))
        #expect(!h.matches(#"{"cmd":"nc -e sh","img":"/usr/bin/bashrc","dir":"/tmp"}"#))
    }

    @Test func numbersBooleansAndNull() {
        let h = RuleHarness(rule("selection:\n    code: 403\n    privileged: true\n    gone: null"))
        #expect(h.matches(#"{"code":403,"privileged":true}"#))
        #expect(h.matches(#"{"code":"403","privileged":"true","gone":null}"#))
        #expect(!h.matches(#"{"code":403,"privileged":false}"#))
        #expect(!h.matches(#"{"code":403,"privileged":true,"gone":"x"}"#))
        #expect(!h.matches(#"{"code":4030,"privileged":true}"#))
    }

    @Test func regexWithFlags() {
        let cs = RuleHarness(rule("selection:\n    q|re: '^[a-z0-9+/]{20,}\\.'"))
        #expect(cs.matches(#"{"q":"abcdefghijklmnopqrstu.example.com"}"#))
        #expect(!cs.matches(#"{"q":"ABCDEFGHIJKLMNOPQRSTU.example.com"}"#))
        let ci = RuleHarness(rule("selection:\n    q|re|i: '^[a-z0-9+/]{20,}\\.'"))
        #expect(ci.matches(#"{"q":"ABCDEFGHIJKLMNOPQRSTU.example.com"}"#))
        let ml = RuleHarness(rule("selection:\n    q|re|m: '^second$'"))
        #expect(ml.matches(#"{"q":"first\nsecond\nthird"}"#))
        let noML = RuleHarness(rule("selection:\n    q|re: '^second$'"))
        #expect(!noML.matches(#"{"q":"first\nsecond\nthird"}"#))
        let dotall = RuleHarness(rule("selection:\n    q|re|s: 'a.b'"))
        #expect(dotall.matches(#"{"q":"a\nb"}"#))
        #expect(!RuleHarness(rule("selection:\n    q|re: 'a.b'")).matches(#"{"q":"a\nb"}"#))
    }

    @Test func regexCostIsLinearOnPathologicalInput() {
        // (a+)+$ backtracks exponentially in PCRE; the Pike VM stays linear.
        let h = RuleHarness(rule("selection:\n    v|re: '(a+)+$'"))
        let hostile = String(repeating: "a", count: 50_000) + "!"
        #expect(!h.matches(#"{"v":"\#(hostile)"}"#))
        #expect(h.matches(#"{"v":"aaaa"}"#))
    }

    @Test func unsupportedRegexFeaturesAreDiagnosed() {
        let h = RuleHarness(rule("selection:\n    v|re: '(?=x)y'"))
        #expect(h.diagnostics.contains { $0.code == .invalidRegex })
        let br = RuleHarness(rule("selection:\n    v|re: '(a)\\1'"))
        #expect(br.diagnostics.contains { $0.code == .invalidRegex })
    }

    @Test func base64AndOffsets() {
        let h = RuleHarness(rule("selection:\n    v|base64: 'whoami'"))
        #expect(h.matches(#"{"v":"d2hvYW1p"}"#))
        let off = RuleHarness(rule("selection:\n    v|base64offset|contains: 'http://'"))
        // "http://" at offsets 0, 1 and 2 of longer base64 texts.
        #expect(off.matches(#"{"v":"aHR0cDovL2V4YW1wbGU="}"#))
        #expect(off.matches(#"{"v":"eGh0dHA6Ly9leGFtcGxl"}"#))
        #expect(off.matches(#"{"v":"eHhodHRwOi8vZXhhbXBsZQ=="}"#))
        #expect(!off.matches(#"{"v":"aHR0cHM6Ly9leGFtcGxl"}"#))
    }

    @Test func utf16EncodingsWithBase64() {
        // "cmd" as UTF-16LE is 63 00 6d 00 64 00 → base64 "YwBtAGQA".
        let le = RuleHarness(rule("selection:\n    v|wide|base64: 'cmd'"))
        #expect(le.matches(#"{"v":"YwBtAGQA"}"#))
        let be = RuleHarness(rule("selection:\n    v|utf16be|base64: 'cmd'"))
        #expect(be.matches(#"{"v":"AGMAbQBk"}"#))
        let bom = RuleHarness(rule("selection:\n    v|utf16|base64: 'cmd'"))
        #expect(bom.matches(#"{"v":"//5jAG0AZAA="}"#))
    }

    @Test func windashExpandsDashCharacters() {
        let h = RuleHarness(rule("selection:\n    cmd|windash|contains: ' -enc '"))
        #expect(h.matches(#"{"cmd":"powershell -enc AAA"}"#))
        #expect(h.matches(#"{"cmd":"powershell /enc AAA"}"#))
        #expect(h.matches(#"{"cmd":"powershell \u2013enc AAA"}"#))
        #expect(!h.matches(#"{"cmd":"powershell +enc AAA"}"#))
    }

    @Test func cidrIPv4AndIPv6() {
        let h = RuleHarness(rule("selection:\n    ip|cidr:\n        - 10.0.0.0/8\n        - 'fd00::/8'"))
        #expect(h.matches(#"{"ip":"10.1.2.3"}"#))
        #expect(h.matches(#"{"ip":"fd12:3456::1"}"#))
        #expect(h.matches(#"{"ip":"::ffff:10.9.9.9"}"#))
        #expect(!h.matches(#"{"ip":"11.0.0.1"}"#))
        #expect(!h.matches(#"{"ip":"fe80::1"}"#))
        #expect(!h.matches(#"{"ip":"not an ip"}"#))
    }

    @Test func existsAndNumericComparisons() {
        let h = RuleHarness(rule("selection:\n    a|exists: true\n    b|exists: false\n    n|gte: 10\n    m|lt: 2.5"))
        #expect(h.matches(#"{"a":null,"n":10,"m":"2"}"#))
        #expect(!h.matches(#"{"a":1,"b":1,"n":10,"m":2}"#))
        #expect(!h.matches(#"{"a":1,"n":9,"m":2}"#))
        #expect(!h.matches(#"{"a":1,"n":"x","m":2}"#))
    }

    @Test func fieldrefCasedAndNeq() {
        let ref = RuleHarness(rule("selection:\n    target|fieldref: source"))
        #expect(ref.matches(#"{"target":"Alice","source":"alice"}"#))
        #expect(!ref.matches(#"{"target":"alice","source":"bob"}"#))
        let refStart = RuleHarness(rule("selection:\n    path|fieldref|startswith: home"))
        #expect(refStart.matches(#"{"path":"/home/a/.ssh","home":"/home/a"}"#))
        let cased = RuleHarness(rule("selection:\n    v|cased: 'Admin'"))
        #expect(cased.matches(#"{"v":"Admin"}"#))
        #expect(!cased.matches(#"{"v":"admin"}"#))
        let neq = RuleHarness(rule("selection:\n    code|neq: 200\n    verb|neq: get"))
        #expect(neq.matches(#"{"code":403,"verb":"delete"}"#))
        #expect(!neq.matches(#"{"code":200,"verb":"delete"}"#))
        #expect(!neq.matches(#"{"code":403,"verb":"GET"}"#))
        #expect(neq.matches(#"{"other":1}"#))  // absent fields differ from every value
        let list = RuleHarness(rule("selection:\n    verb|neq:\n        - get\n        - list"))
        #expect(!list.matches(#"{"verb":"list"}"#))
        #expect(list.matches(#"{"verb":"delete"}"#))
    }

    @Test func expandUsesConfiguredPlaceholders() {
        let h = RuleHarness(rule("selection:\n    user|expand: '%admins%'"), placeholders: ["admins": ["root", "admin"]])
        #expect(h.matches(#"{"user":"ROOT"}"#))
        #expect(!h.matches(#"{"user":"bob"}"#))
        let missing = RuleHarness(rule("selection:\n    user|expand: '%nobody%'"))
        #expect(missing.diagnostics.contains { $0.code == .missingPlaceholder })
    }

    @Test func timeModifiers() {
        let h = RuleHarness(rule("selection:\n    ts|hour|gte: 22"))
        #expect(h.matches(#"{"ts":"2026-11-23T23:10:00Z"}"#))
        #expect(!h.matches(#"{"ts":"2026-11-23T08:10:00Z"}"#))
        let m = RuleHarness(rule("selection:\n    ts|month: 11"))
        #expect(m.matches(#"{"ts":"2026-11-23T23:10:00Z"}"#))
    }

    @Test func keywordsMatchAnyValue() {
        let h = RuleHarness(rule("keywords:\n    - 'xmrig'\n    - 'stratum+tcp'", condition: "keywords"))
        #expect(h.matches(#"{"a":{"b":["x","run XMRig now"]}}"#))
        #expect(!h.matches(#"{"a":"nothing"}"#))
        let all = RuleHarness(rule("keywords:\n    '|all':\n        - 'dd'\n        - 'if='", condition: "keywords"))
        #expect(all.matches(#"{"a0":"dd","a1":"if=/dev/mem"}"#))
        #expect(!all.matches(#"{"a0":"dd"}"#))
    }

    @Test func listsOfMapsAreOred() {
        let h = RuleHarness(rule("selection:\n    - a: 1\n      b: 2\n    - c: 3"))
        #expect(h.matches(#"{"a":1,"b":2}"#))
        #expect(h.matches(#"{"c":3}"#))
        #expect(!h.matches(#"{"a":1,"c":4}"#))
    }
}

@Suite struct ConditionTests {
    let searches = "sel_a:\n    a: 1\nsel_b:\n    b: 1\nfilter:\n    c: 1\n_hidden:\n    d: 1"

    @Test(arguments: [
        ("sel_a and not filter", #"{"a":1}"#, true),
        ("sel_a and not filter", #"{"a":1,"c":1}"#, false),
        ("1 of sel_*", #"{"b":1}"#, true),
        ("all of sel_*", #"{"b":1}"#, false),
        ("all of sel_*", #"{"a":1,"b":1}"#, true),
        ("1 of them", #"{"c":1}"#, true),
        ("1 of them", #"{"d":1}"#, false),
        ("all of them", #"{"a":1,"b":1,"c":1}"#, true),
        ("2 of them", #"{"a":1,"c":1}"#, true),
        ("2 of them", #"{"a":1}"#, false),
        ("(sel_a or sel_b) and not (filter or _hidden)", #"{"b":1,"d":1}"#, false),
        ("not sel_a and not sel_b", #"{}"#, true),
    ])
    func grammar(condition: String, event: String, expected: Bool) {
        let h = RuleHarness(rule(searches, condition: condition))
        #expect(h.diagnostics.isEmpty)
        #expect(h.matches(event) == expected)
    }

    @Test func conditionListsAreOred() {
        let yaml = rule(searches, condition: "\n        - sel_a\n        - sel_b")
        let h = RuleHarness(yaml)
        #expect(h.matches(#"{"b":1}"#))
    }
}

@Suite struct DiagnosticsTests {
    @Test func badRulesNameCodeLineAndIDWhileOthersLoad() {
        let yaml = """
        title: good
        id: aaaaaaaa-0000-4000-8000-000000000001
        logsource: {product: json}
        detection:
            selection:
                a: 1
            condition: selection
        ---
        title: bad modifier
        id: aaaaaaaa-0000-4000-8000-000000000002
        logsource: {product: json}
        detection:
            selection:
                a|frobnicate: 1
            condition: selection
        ---
        title: bad condition
        id: aaaaaaaa-0000-4000-8000-000000000003
        logsource: {product: json}
        detection:
            selection:
                a: 1
            condition: selection and missing
        """
        let h = RuleHarness(yaml)
        #expect(h.engine.ruleSet.ruleCount == 1)
        let mod = h.diagnostics.first { $0.code == .unknownModifier }
        #expect(mod?.location.line == 14)
        #expect(mod?.ruleID == "aaaaaaaa-0000-4000-8000-000000000002")
        #expect(h.diagnostics.contains { $0.code == .unknownIdentifier && $0.ruleID == "aaaaaaaa-0000-4000-8000-000000000003" })
        #expect(h.matches(#"{"a":1}"#))
    }

    @Test func yamlAliasBombsAreRefused() {
        var yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for i in 1...8 { yaml += "a\(i): &a\(i) [*a\(i - 1), *a\(i - 1), *a\(i - 1), *a\(i - 1), *a\(i - 1), *a\(i - 1), *a\(i - 1), *a\(i - 1), *a\(i - 1), *a\(i - 1)]\n" }
        yaml += "title: bomb\nlogsource: {product: json}\ndetection:\n  selection:\n    v: *a8\n  condition: selection\n"
        let r = RuleLoader().load(yaml: yaml, file: "bomb.yml")
        #expect(r.documents.isEmpty)
        #expect(r.diagnostics.contains { $0.code == .tooComplex })
    }

    @Test func deprecatedAggregationIsExplained() {
        let h = RuleHarness(rule("selection:\n    a: 1", condition: "selection | count() > 5"))
        #expect(h.diagnostics.contains { $0.code == .deprecatedAggregation })
    }
}

@Suite struct FilterTests {
    @Test func metaFiltersExcludeByRuleID() {
        let yaml = rule("selection:\n    verb: delete") + """

        ---
        title: Ignore the GitOps controller
        logsource:
            product: json
        filter:
            rules:
                - 11111111-2222-4333-8444-555555555555
            selection:
                user|startswith: 'system:serviceaccount:argocd:'
            condition: selection
        """
        let h = RuleHarness(yaml)
        #expect(h.matches(#"{"verb":"delete","user":"alice"}"#))
        #expect(!h.matches(#"{"verb":"delete","user":"system:serviceaccount:argocd:app"}"#))
    }
}
