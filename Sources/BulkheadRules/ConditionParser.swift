/// Parses Sigma condition expressions: `and`/`or`/`not`, parentheses, `1 of`, `all of`,
/// `N of`, `them`, wildcard identifiers. Precedence: not > and > or.
public enum ConditionParser {
    /// Bounds the recursion a hostile condition can cause.
    static let maxDepth = 64
    static let maxLength = 8192

    public static func parse(_ text: String, identifiers: [String]) throws -> Condition {
        guard text.utf8.count <= maxLength else { throw RuleError(.tooComplex, "condition longer than \(maxLength) bytes") }
        if text.contains("|") {
            throw RuleError(.deprecatedAggregation, "aggregation expressions (`| count() ...`) were removed in Sigma 2.0; use a correlation rule")
        }
        var p = Parser(tokens: try tokenize(text), identifiers: identifiers)
        let c = try p.expression(depth: 0)
        if p.index < p.tokens.count {
            throw RuleError(.conditionSyntax, "unexpected `\(p.tokens[p.index])` in condition `\(text)`")
        }
        return c
    }

    static func tokenize(_ text: String) throws -> [String] {
        var tokens: [String] = []
        var current = ""
        for ch in text {
            if ch == "(" || ch == ")" {
                if !current.isEmpty { tokens.append(current); current = "" }
                tokens.append(String(ch))
            } else if ch.isWhitespace {
                if !current.isEmpty { tokens.append(current); current = "" }
            } else {
                current.append(ch)
            }
        }
        if !current.isEmpty { tokens.append(current) }
        if tokens.isEmpty { throw RuleError(.conditionSyntax, "empty condition") }
        return tokens
    }

    struct Parser {
        let tokens: [String]
        let identifiers: [String]
        var index = 0

        init(tokens: [String], identifiers: [String]) {
            self.tokens = tokens
            self.identifiers = identifiers
        }

        var peek: String? { index < tokens.count ? tokens[index].lowercased() : nil }

        mutating func expression(depth: Int) throws -> Condition {
            guard depth < ConditionParser.maxDepth else { throw RuleError(.tooComplex, "condition nested deeper than \(ConditionParser.maxDepth)") }
            var terms = [try andExpression(depth: depth)]
            while peek == "or" {
                index += 1
                terms.append(try andExpression(depth: depth))
            }
            return terms.count == 1 ? terms[0] : .or(terms)
        }

        mutating func andExpression(depth: Int) throws -> Condition {
            var terms = [try unary(depth: depth)]
            while peek == "and" {
                index += 1
                terms.append(try unary(depth: depth))
            }
            return terms.count == 1 ? terms[0] : .and(terms)
        }

        mutating func unary(depth: Int) throws -> Condition {
            guard let t = peek else { throw RuleError(.conditionSyntax, "condition ends where an identifier was expected") }
            if t == "not" {
                index += 1
                guard depth + 1 < ConditionParser.maxDepth else { throw RuleError(.tooComplex, "condition nested too deeply") }
                return .not(try unary(depth: depth + 1))
            }
            if t == "(" {
                index += 1
                let inner = try expression(depth: depth + 1)
                guard peek == ")" else { throw RuleError(.conditionSyntax, "missing `)` in condition") }
                index += 1
                return inner
            }
            if t == ")" || t == "and" || t == "or" { throw RuleError(.conditionSyntax, "unexpected `\(tokens[index])` in condition") }
            if index + 1 < tokens.count, tokens[index + 1].lowercased() == "of" {
                let count: Int?
                if t == "all" { count = nil } else if let n = Int(t), n >= 1 { count = n } else {
                    throw RuleError(.conditionSyntax, "`\(tokens[index]) of`: expected `1 of`, `all of` or a positive number")
                }
                index += 2
                guard index < tokens.count else { throw RuleError(.conditionSyntax, "`of` needs `them` or an identifier pattern") }
                let pattern = tokens[index]
                index += 1
                if pattern.lowercased() != "them" {
                    guard identifiers.contains(where: { Wildcard.matches(pattern: pattern, $0) }) else {
                        throw RuleError(.unknownIdentifier, "no search identifier matches `\(pattern)`")
                    }
                }
                return .quantified(count: count, pattern: pattern.lowercased() == "them" ? "them" : pattern)
            }
            let name = tokens[index]
            index += 1
            if name.contains("*") {
                throw RuleError(.conditionSyntax, "wildcard `\(name)` is only allowed after `1 of`/`all of`")
            }
            guard identifiers.contains(name) else { throw RuleError(.unknownIdentifier, "condition names `\(name)`, which is not a search identifier") }
            return .identifier(name)
        }
    }
}

/// Simple `*` wildcard matching for identifier patterns.
public enum Wildcard {
    public static func matches(pattern: String, _ text: String) -> Bool {
        let p = Array(pattern), t = Array(text)
        var pi = 0, ti = 0, star = -1, mark = 0
        while ti < t.count {
            if pi < p.count && p[pi] == "*" { star = pi; pi += 1; mark = ti }
            else if pi < p.count && p[pi] == t[ti] { pi += 1; ti += 1 }
            else if star >= 0 { pi = star + 1; mark += 1; ti = mark }
            else { return false }
        }
        while pi < p.count && p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}
