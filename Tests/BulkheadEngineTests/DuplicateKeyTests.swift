import BulkheadEngine
import Testing

/// Records with the same key twice (JSON allows it; producers keep the last, some parsers the
/// first). A selection sees every value, so a duplicate cannot hide the value a rule looks for.
@Suite struct DuplicateKeyTests {
    @Test func aSelectionSeesEveryDuplicateValue() {
        let h = RuleHarness(rule("selection:\n    objectRef.subresource: exec"))
        #expect(h.matches(#"{"objectRef":{"subresource":"log","subresource":"exec"}}"#))
        #expect(h.matches(#"{"objectRef":{"subresource":"exec","subresource":"log"}}"#))
        #expect(h.matches(#"{"objectRef":{"subresource":"log"},"objectRef":{"subresource":"exec"}}"#))
        #expect(!h.matches(#"{"objectRef":{"subresource":"log","subresource":"attach"}}"#))
    }

    @Test func aNegatedItemHoldsOnlyWhenNoDuplicateMatches() {
        let h = RuleHarness(rule("selection:\n    verb: create\nfilter:\n    user.username: system:admin", condition: "selection and not filter"))
        #expect(h.matches(#"{"verb":"create","user":{"username":"mallory"}}"#))
        // The filter (an allow-list entry) matches if any duplicate matches: a sender that adds
        // a second, benign username suppresses the alert. Documented in docs/threat_model.md.
        #expect(!h.matches(#"{"verb":"create","user":{"username":"mallory","username":"system:admin"}}"#))
    }
}
