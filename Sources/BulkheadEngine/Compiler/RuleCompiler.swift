import BulkheadEvent
import BulkheadRules
import Foundation

/// Lowers a rule's searches and condition into a `RulePlan`: modifiers applied, values
/// encoded, wildcards turned into byte patterns, regexes compiled, field paths resolved.
public struct RuleCompiler: Sendable {
    public struct Options: Sendable {
        /// Values for `%placeholder%` under the `expand` modifier.
        public var placeholders: [String: [String]] = [:]
        /// Upper bound on the values one field item expands to (windash, base64offset, expand).
        public var maxExpansion = 4096
        /// Upper bound on the values of one field item after expansion (hash lists run long).
        public var maxValues = 100_000
        /// Index each route by required literals (Prefilter.swift). Off only to check that the
        /// prefilter changes nothing but speed.
        public var prefilter = true
        public init() {}
    }

    public var options: Options
    /// Maps a rule field name to the paths where a source keeps it.
    public var resolve: @Sendable (String) -> [FieldPath]

    public init(options: Options = Options(), resolve: @escaping @Sendable (String) -> [FieldPath] = { [FieldPath($0)] }) {
        self.options = options
        self.resolve = resolve
    }

    struct CompileError: Error {
        var code: Diagnostic.Code
        var message: String
        var line: Int
    }

    public func compile(_ rule: SigmaRule) throws(CompileFailure) -> RulePlan {
        do {
            return try compile(searches: rule.searches, condition: rule.condition)
        } catch let e {
            throw CompileFailure(diagnostic: Diagnostic(e.code, e.message, at: SourceLocation(file: rule.location.file, line: e.line > 0 ? e.line : rule.location.line),
                                                        ruleID: rule.id, ruleTitle: rule.title))
        }
    }

    func compile(searches: [Search], condition: Condition) throws(CompileError) -> RulePlan {
        var plans: [SearchPlan] = []
        for s in searches { plans.append(try compile(search: s)) }
        let names = searches.map(\.name)
        return RulePlan(searches: plans, condition: try lower(condition, names: names))
    }

    func lower(_ c: Condition, names: [String]) throws(CompileError) -> ConditionPlan {
        switch c {
        case .identifier(let n):
            guard let i = names.firstIndex(of: n) else { throw CompileError(code: .unknownIdentifier, message: "unknown identifier `\(n)`", line: 0) }
            return .search(i)
        case .not(let inner): return .not(try lower(inner, names: names))
        case .and(let cs):
            var out: [ConditionPlan] = []
            for x in cs { out.append(try lower(x, names: names)) }
            return .and(out)
        case .or(let cs):
            var out: [ConditionPlan] = []
            for x in cs { out.append(try lower(x, names: names)) }
            return .or(out)
        case .quantified(let count, let pattern):
            let indices = names.indices.filter { i in
                // `them` skips identifiers that start with an underscore (Sigma 2.0).
                pattern == "them" ? !names[i].hasPrefix("_") : Wildcard.matches(pattern: pattern, names[i])
            }
            guard !indices.isEmpty else { throw CompileError(code: .unknownIdentifier, message: "`\(pattern)` matches no search identifier", line: 0) }
            let needed = count ?? indices.count
            if needed == 1 { return .or(indices.map { .search($0) }) }
            if count == nil { return .and(indices.map { .search($0) }) }
            if needed > indices.count { return .constant(false) }
            return .atLeast(needed, indices)
        }
    }

    func compile(search: Search) throws(CompileError) -> SearchPlan {
        switch search.body {
        case .maps(let maps):
            var out: [[FieldTest]] = []
            for m in maps {
                var tests: [FieldTest] = []
                for item in m { tests.append(try compile(item: item)) }
                out.append(tests)
            }
            return .maps(out)
        case .keywords(let item):
            let mods = try Modifiers(item.modifiers, line: item.line, field: nil)
            var tests: [ValueTest] = []
            for v in item.values {
                // A keyword matches anywhere in a value: implicit wildcards on both sides.
                tests.append(contentsOf: try valueTests(v, mods: mods, line: item.line, keyword: true))
            }
            return .keywords(tests, all: mods.all)
        }
    }

    func compile(item: FieldItem) throws(CompileError) -> FieldTest {
        guard let field = item.field else { throw CompileError(code: .wrongType, message: "field item without a field", line: item.line) }
        let mods = try Modifiers(item.modifiers, line: item.line, field: field)
        let paths = resolve(field)
        if mods.exists {
            guard item.values.count == 1, case .bool(let b) = item.values[0] else {
                throw CompileError(code: .invalidValue, message: "`\(field)|exists` takes `true` or `false`", line: item.line)
            }
            return FieldTest(paths: paths, tests: [], all: false, exists: b, negated: false, line: item.line)
        }
        if mods.all && item.values.count == 1 {
            // The specification discourages it; still well defined (AND of one value).
        }
        var tests: [ValueTest] = []
        for v in item.values {
            tests.append(contentsOf: try valueTests(v, mods: mods, line: item.line, keyword: false))
            if tests.count > options.maxValues {
                throw CompileError(code: .tooComplex, message: "`\(field)` expands to more than \(options.maxValues) values", line: item.line)
            }
        }
        // `all` ANDs the rule's values; expansions of one value (windash, base64offset) stay ORed,
        // so group them: with `all` every value must match through one of its expansions.
        if mods.all && item.values.count > 1 && tests.count != item.values.count {
            throw CompileError(code: .invalidModifierCombination, message: "`all` combined with a value-expanding modifier is not supported", line: item.line)
        }
        // `neq` negates the whole item (as pySigma: NOT of the ORed values): the field differs
        // from every value, and an absent field differs too.
        return FieldTest(paths: paths, tests: tests, all: mods.all, exists: nil, negated: mods.neq && !mods.fieldref, line: item.line)
    }

    /// Expanded matchers for one rule value under the item's modifiers.
    func valueTests(_ value: SigmaValue, mods: Modifiers, line: Int, keyword: Bool) throws(CompileError) -> [ValueTest] {
        // Non-string values first.
        switch value {
        case .null:
            guard mods.isPlain else { throw CompileError(code: .invalidModifierCombination, message: "`null` cannot take modifiers", line: line) }
            return [.null]
        case .bool(let b):
            if mods.isPlain { return [.bool(b)] }
        case .number(let text):
            guard let n = Double(text) else { throw CompileError(code: .invalidNumber, message: "`\(text)` is not a number", line: line) }
            if let op = mods.compare { return [.compare(op, n)] }
            if mods.neq && mods.match == .equal && mods.transforms.isEmpty && !mods.fieldref { return [.number(n, .sigma(text, caseSensitive: false))] }
            if let part = mods.timePart { return [.timePart(part, mods.timeCompare ?? .eq, n)] }
            if mods.isPlain { return [.number(n, .sigma(text, caseSensitive: false))] }
        case .string:
            break
        }
        let text = value.description
        if let op = mods.compare {
            guard let n = Double(text) else { throw CompileError(code: .invalidNumber, message: "`\(mods.compareName)` needs a number, got `\(text)`", line: line) }
            return [.compare(op, n)]
        }
        if let part = mods.timePart {
            guard let n = Double(text) else { throw CompileError(code: .invalidNumber, message: "time modifier needs a number", line: line) }
            return [.timePart(part, mods.timeCompare ?? .eq, n)]
        }
        if mods.cidr {
            guard let c = CIDR(text) else { throw CompileError(code: .invalidCIDR, message: "`\(text)` is not a CIDR network", line: line) }
            return [.cidr(c)]
        }
        if let flags = mods.regexFlags {
            do {
                return [.regex(try SigmaRegex(text, flags: flags))]
            } catch {
                throw CompileError(code: .invalidRegex, message: "regex `\(text)`: \(error)", line: line)
            }
        }
        if mods.fieldref {
            let mode: FieldRefMode
            switch mods.match {
            case .equal: mode = .equal
            case .startswith: mode = .prefix
            case .endswith: mode = .suffix
            case .contains: mode = .contains
            }
            return [.fieldref(resolve(text), mode, caseSensitive: mods.cased, negated: mods.neq)]
        }
        // Placeholders.
        var texts = [text]
        if mods.expand {
            texts = try expandPlaceholders(text, line: line)
        }
        // Transformations yield either Sigma strings (wildcards live) or literal bytes.
        enum Piece { case sigma(String), bytes([UInt8]) }
        var pieces: [Piece] = texts.map { .sigma($0) }
        for t in mods.transforms {
            var next: [Piece] = []
            for p in pieces {
                switch t {
                case .windash:
                    guard case .sigma(let s) = p else { throw CompileError(code: .invalidModifierCombination, message: "`windash` after an encoding modifier", line: line) }
                    next.append(contentsOf: Encodings.windash(s).map { .sigma($0) })
                case .base64, .base64offset, .utf16le, .utf16be, .utf16:
                    let bytes: [UInt8]
                    switch p {
                    case .sigma(let s):
                        if Encodings.hasWildcard(s) {
                            throw CompileError(code: .invalidModifierCombination, message: "`\(t)` cannot encode a value with wildcards", line: line)
                        }
                        bytes = Array(Encodings.unescapeSigma(s).utf8)
                    case .bytes(let b): bytes = b
                    }
                    switch t {
                    case .base64: next.append(.bytes(Encodings.base64(bytes)))
                    case .base64offset: next.append(contentsOf: Encodings.base64offset(bytes).map { .bytes($0) })
                    case .utf16le: next.append(.bytes(Encodings.utf16(bytes, bigEndian: false, bom: false)))
                    case .utf16be: next.append(.bytes(Encodings.utf16(bytes, bigEndian: true, bom: false)))
                    case .utf16: next.append(.bytes(Encodings.utf16(bytes, bigEndian: false, bom: true)))
                    default: break
                    }
                }
                if next.count > options.maxExpansion {
                    throw CompileError(code: .tooComplex, message: "value expands to more than \(options.maxExpansion) variants", line: line)
                }
            }
            pieces = next
        }
        let pre = keyword || mods.match == .contains || mods.match == .endswith
        let post = keyword || mods.match == .contains || mods.match == .startswith
        return pieces.map { p in
            let pattern: GlobPattern
            switch p {
            case .sigma(let s): pattern = .sigma(s, caseSensitive: mods.cased, prefixStar: pre, suffixStar: post)
            case .bytes(let b): pattern = .literal(b, caseSensitive: mods.cased, prefixStar: pre, suffixStar: post)
            }
            return .glob(pattern)
        }
    }

    func expandPlaceholders(_ text: String, line: Int) throws(CompileError) -> [String] {
        // Find %name% occurrences and substitute every combination of configured values.
        var results = [""]
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "%") {
            let afterOpen = rest.index(after: open)
            guard let close = rest[afterOpen...].firstIndex(of: "%") else { break }
            let name = String(rest[afterOpen..<close])
            let prefix = rest[..<open]
            guard let values = options.placeholders[name], !values.isEmpty else {
                throw CompileError(code: .missingPlaceholder, message: "placeholder `%\(name)%` has no values configured (bulkhead --placeholders FILE)", line: line)
            }
            var next: [String] = []
            for r in results { for v in values { next.append(r + prefix + v) } }
            guard next.count <= options.maxExpansion else { throw CompileError(code: .tooComplex, message: "placeholder expansion exceeds \(options.maxExpansion) values", line: line) }
            results = next
            rest = rest[rest.index(after: close)...]
        }
        return results.map { $0 + rest }
    }
}

public struct CompileFailure: Error, Sendable {
    public var diagnostic: Diagnostic
}

/// The modifiers of one field item, validated.
struct Modifiers {
    enum Match { case equal, contains, startswith, endswith }
    enum Transform: String { case windash, base64, base64offset, utf16le, utf16be, utf16 }

    var match: Match = .equal
    var transforms: [Transform] = []
    var all = false
    var cased = false
    var neq = false
    var exists = false
    var cidr = false
    var fieldref = false
    var expand = false
    var regexFlags: SigmaRegex.Flags?
    var compare: CompareOp?
    var compareName = ""
    var timePart: TimePart?
    var timeCompare: CompareOp?

    var isPlain: Bool {
        match == .equal && transforms.isEmpty && !cased && !neq && !cidr && !fieldref && !expand
            && regexFlags == nil && compare == nil && timePart == nil
    }

    init(_ names: [String], line: Int, field: String?) throws(RuleCompiler.CompileError) {
        var regexSubflags: [String] = []
        for name in names {
            switch name {
            case "contains", "startswith", "endswith":
                guard match == .equal else { throw .init(code: .invalidModifierCombination, message: "more than one of contains/startswith/endswith", line: line) }
                match = name == "contains" ? .contains : (name == "startswith" ? .startswith : .endswith)
            case "all": all = true
            case "cased": cased = true
            case "neq":
                neq = true
            case "exists": exists = true
            case "cidr": cidr = true
            case "fieldref": fieldref = true
            case "expand": expand = true
            case "re": regexFlags = SigmaRegex.Flags()
            case "i", "ignorecase": regexSubflags.append("i")
            case "m", "multiline": regexSubflags.append("m")
            case "s", "dotall": regexSubflags.append("s")
            case "lt", "lte", "gt", "gte":
                if timePart != nil { timeCompare = CompareOp(rawValue: name) } else { compare = CompareOp(rawValue: name); compareName = name }
            case "minute", "hour", "day", "week", "month", "year": timePart = TimePart(rawValue: name)
            case "wide": transforms.append(.utf16le)
            case "windash", "base64", "base64offset", "utf16le", "utf16be", "utf16":
                transforms.append(Transform(rawValue: name)!)
            default:
                throw .init(code: .unknownModifier, message: "unknown modifier `\(name)`", line: line)
            }
        }
        if !regexSubflags.isEmpty {
            guard var f = regexFlags else {
                throw .init(code: .invalidModifierCombination, message: "regex flags i/m/s need the `re` modifier", line: line)
            }
            f.caseInsensitive = f.caseInsensitive || regexSubflags.contains("i")
            f.multiline = f.multiline || regexSubflags.contains("m")
            f.dotAll = f.dotAll || regexSubflags.contains("s")
            regexFlags = f
        }
        if regexFlags != nil && (match != .equal || !transforms.isEmpty || cidr) {
            throw .init(code: .invalidModifierCombination, message: "`re` cannot be combined with contains/startswith/endswith, encodings or cidr", line: line)
        }
        if neq && compare == nil && (regexFlags != nil || cidr || exists) {
            throw .init(code: .invalidModifierCombination, message: "`neq` applies to plain values and numbers", line: line)
        }
        if exists && names.count > 1 {
            throw .init(code: .invalidModifierCombination, message: "`exists` takes no other modifiers", line: line)
        }
        if (exists || cidr || fieldref) && field == nil {
            throw .init(code: .invalidModifierCombination, message: "this modifier needs a field", line: line)
        }
    }
}
