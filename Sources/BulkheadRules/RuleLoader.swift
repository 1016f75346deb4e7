import Foundation
import BulkheadEvent
import Yams

/// Reads Sigma YAML (rules, correlation rules, filters; one or more documents per file) into
/// the AST, collecting diagnostics instead of stopping at the first problem.
public struct RuleLoader: Sendable {
    public struct Limits: Sendable {
        /// Nodes visited per document after alias expansion: refuses YAML alias bombs.
        public var maxNodes = 200_000
        public var maxFileBytes = 4 << 20
        public init() {}
    }

    public var limits = Limits()

    public init() {}

    public struct Result: Sendable {
        public var documents: [SigmaDocument] = []
        public var diagnostics: [Diagnostic] = []
    }

    public func load(yaml text: String, file: String) -> Result {
        var result = Result()
        guard text.utf8.count <= limits.maxFileBytes else {
            result.diagnostics.append(Diagnostic(.tooComplex, "file larger than \(limits.maxFileBytes) bytes", at: SourceLocation(file: file, line: 1)))
            return result
        }
        let parser: Parser
        do {
            parser = try Parser(yaml: text)
        } catch {
            result.diagnostics.append(yamlDiagnostic(error, file: file))
            return result
        }
        var previous: Node.Mapping?
        while true {
            let root: Node?
            do {
                root = try parser.nextRoot()
            } catch {
                result.diagnostics.append(yamlDiagnostic(error, file: file))
                break
            }
            guard let root else { break }
            let line = (root.mark?.line ?? 1)
            guard case .mapping(var map) = root else {
                result.diagnostics.append(Diagnostic(.notARule, "a Sigma document must be a YAML mapping", at: SourceLocation(file: file, line: line)))
                continue
            }
            // Sigma 1.0 collections: `action: global` merges into the documents that follow.
            if let action = map["action"]?.string {
                switch action {
                case "global": previous = map; continue
                case "reset": previous = nil; continue
                case "repeat": if let p = previous { map = merged(p, map) }
                default: break
                }
            } else if let p = previous {
                map = merged(p, map)
            }
            var budget = limits.maxNodes
            guard countNodes(root, budget: &budget) else {
                result.diagnostics.append(Diagnostic(.tooComplex, "document expands to more than \(limits.maxNodes) YAML nodes (alias expansion?)", at: SourceLocation(file: file, line: line)))
                continue
            }
            let builder = DocumentBuilder(file: file, map: map)
            do {
                let doc = try builder.build()
                result.documents.append(doc)
                result.diagnostics.append(contentsOf: builder.warnings)
            } catch let error as RuleError {
                result.diagnostics.append(Diagnostic(error.code, error.message,
                                                     at: SourceLocation(file: file, line: error.line > 0 ? error.line : line, column: error.column),
                                                     ruleID: map["id"]?.string, ruleTitle: map["title"]?.string))
            } catch {
                result.diagnostics.append(Diagnostic(.notARule, "\(error)", at: SourceLocation(file: file, line: line)))
            }
        }
        return result
    }

    private func merged(_ base: Node.Mapping, _ over: Node.Mapping) -> Node.Mapping {
        var out = base
        out["action"] = nil
        for (k, v) in over where k.string != "action" {
            if case .mapping(let bm)? = out[k], case .mapping(let om) = v {
                out[k] = .mapping(merged(bm, om))
            } else {
                out[k] = v
            }
        }
        return out
    }

    private func countNodes(_ node: Node, budget: inout Int) -> Bool {
        budget -= 1
        if budget < 0 { return false }
        switch node {
        case .mapping(let m):
            for (k, v) in m {
                if !countNodes(k, budget: &budget) || !countNodes(v, budget: &budget) { return false }
            }
        case .sequence(let s):
            for v in s where !countNodes(v, budget: &budget) { return false }
        default: break
        }
        return true
    }

    private func yamlDiagnostic(_ error: Error, file: String) -> Diagnostic {
        var line = 1, column = 0
        if let y = error as? YamlError {
            switch y {
            case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _):
                line = mark.line; column = mark.column
            default: break
            }
        }
        let text = "\(error)".split(separator: "\n").first.map(String.init) ?? "invalid YAML"
        return Diagnostic(.yamlSyntax, "YAML syntax error: \(text)", at: SourceLocation(file: file, line: line, column: column))
    }
}

/// Turns one YAML mapping into a Sigma document.
final class DocumentBuilder {
    let file: String
    let map: Node.Mapping
    var warnings: [Diagnostic] = []

    init(file: String, map: Node.Mapping) {
        self.file = file
        self.map = map
    }

    func build() throws -> SigmaDocument {
        if map["correlation"] != nil { return .correlation(try correlation()) }
        if map["filter"] != nil, map["detection"] == nil { return .filter(try filter()) }
        return .rule(try rule())
    }

    // MARK: Rule

    func rule() throws -> SigmaRule {
        guard let title = try string("title") else { throw RuleError(.missingField, "missing `title`", line: line(of: map)) }
        guard let logsourceNode = map["logsource"] else { throw RuleError(.missingField, "missing `logsource`", line: line(of: map)) }
        guard case .mapping(let detection)? = map["detection"] else {
            throw RuleError(.missingField, "missing `detection` mapping", line: line(of: map))
        }
        let logsource = try self.logsource(logsourceNode)
        var searches: [Search] = []
        var conditionNode: Node?
        var timeframe: Node?
        for (keyNode, value) in detection {
            guard let key = keyNode.string else { continue }
            switch key {
            case "condition": conditionNode = value
            case "timeframe": timeframe = value
            default: searches.append(try search(name: key, value))
            }
        }
        _ = timeframe
        guard let conditionNode else { throw RuleError(.missingField, "missing `detection.condition`", line: line(of: detection)) }
        let (condition, conditionText) = try parseConditions(conditionNode, searches: searches)
        if let level = map["level"]?.string,
           !["informational", "low", "medium", "high", "critical"].contains(level.lowercased()) {
            throw RuleError(.invalidValue, "level `\(level)` is not one of informational, low, medium, high, critical", line: line(of: map["level"]!))
        }
        if let status = map["status"]?.string,
           !["stable", "test", "experimental", "deprecated", "unsupported"].contains(status.lowercased()) {
            warnings.append(Diagnostic(.invalidValue, "status `\(status)` is not a Sigma status", at: loc(map["status"]!), severity: .warning, ruleID: map["id"]?.string))
        }
        var extensions: [String: String] = [:]
        for (k, v) in map {
            guard let key = k.string, key.hasPrefix("x-") || key == "new_terms" || key == "baseline" else { continue }
            extensions[key] = v.string ?? Self.flatText(v)
        }
        return SigmaRule(
            title: title, id: try string("id"), name: try string("name"), status: try string("status")?.lowercased(),
            description: try string("description"), references: try strings("references"), author: try string("author"),
            date: try string("date"), modified: try string("modified"), tags: try strings("tags"),
            level: try string("level")?.lowercased(), falsepositives: try strings("falsepositives"), fields: try strings("fields"),
            related: try related(), license: try string("license"), taxonomy: try string("taxonomy"),
            logsource: logsource, searches: searches, condition: condition, conditionText: conditionText,
            seeds: try strings("seeds"), extensions: extensions, location: loc(map))
    }

    static func flatText(_ node: Node) -> String {
        switch node {
        case .scalar(let s): return s.string
        case .sequence(let s): return s.map(flatText).joined(separator: ",")
        case .mapping(let m): return m.map { "\($0.key.string ?? "")=\(flatText($0.value))" }.joined(separator: ";")
        case .alias: return ""
        }
    }

    func parseConditions(_ node: Node, searches: [Search]) throws -> (Condition, String) {
        let texts: [(String, Int)]
        switch node {
        case .scalar(let s): texts = [(s.string, s.mark?.line ?? 0)]
        case .sequence(let seq): texts = seq.compactMap { n in n.string.map { ($0, n.mark?.line ?? 0) } }
        default: throw RuleError(.wrongType, "`condition` must be a string or a list of strings", line: line(of: node))
        }
        guard !texts.isEmpty else { throw RuleError(.conditionSyntax, "empty condition", line: line(of: node)) }
        let names = searches.map(\.name)
        var parsed: [Condition] = []
        for (text, l) in texts {
            do {
                parsed.append(try ConditionParser.parse(text, identifiers: names))
            } catch let e as RuleError {
                throw RuleError(e.code, e.message, line: l)
            }
        }
        return (parsed.count == 1 ? parsed[0] : .or(parsed), texts.map(\.0).joined(separator: " | "))
    }

    func logsource(_ node: Node) throws -> LogSource {
        guard case .mapping(let m) = node else { throw RuleError(.wrongType, "`logsource` must be a mapping", line: line(of: node)) }
        return LogSource(product: m["product"]?.string, service: m["service"]?.string,
                         category: m["category"]?.string, definition: m["definition"]?.string)
    }

    func related() throws -> [RelatedRule] {
        guard let node = map["related"] else { return [] }
        guard case .sequence(let seq) = node else { throw RuleError(.wrongType, "`related` must be a list", line: line(of: node)) }
        return seq.compactMap { n in
            guard case .mapping(let m) = n, let id = m["id"]?.string else { return nil }
            return RelatedRule(id: id, type: m["type"]?.string ?? "")
        }
    }

    // MARK: Searches

    func search(name: String, _ node: Node) throws -> Search {
        let l = line(of: node)
        switch node {
        case .mapping(let m):
            // `'|all': [...]` (a field-less key with modifiers) is a keyword search.
            if m.count == 1, let k = m.first?.key.string, k.hasPrefix("|") || k.isEmpty {
                let item = try fieldItem(key: k, m.first!.value)
                return Search(name: name, body: .keywords(item), line: l)
            }
            return Search(name: name, body: .maps([try fieldMap(m)]), line: l)
        case .sequence(let seq):
            if seq.isEmpty { throw RuleError(.emptySearch, "search `\(name)` is an empty list", line: l) }
            if seq.allSatisfy({ if case .mapping = $0 { return true } else { return false } }) {
                let maps = try seq.map { n -> [FieldItem] in
                    guard case .mapping(let m) = n else { return [] }
                    return try fieldMap(m)
                }
                return Search(name: name, body: .maps(maps), line: l)
            }
            let values = try seq.map { try scalar($0) }
            return Search(name: name, body: .keywords(FieldItem(field: nil, modifiers: [], values: values, line: l)), line: l)
        case .scalar:
            return Search(name: name, body: .keywords(FieldItem(field: nil, modifiers: [], values: [try scalar(node)], line: l)), line: l)
        case .alias:
            throw RuleError(.wrongType, "unresolved alias in search `\(name)`", line: l)
        }
    }

    func fieldMap(_ m: Node.Mapping) throws -> [FieldItem] {
        if m.isEmpty { throw RuleError(.emptySearch, "empty field map", line: line(of: m)) }
        return try m.map { try fieldItem(key: $0.key.string ?? "", $0.value) }
    }

    func fieldItem(key: String, _ value: Node) throws -> FieldItem {
        var parts = key.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        let field = parts.removeFirst()
        let values: [SigmaValue]
        switch value {
        case .sequence(let seq):
            values = try seq.map { try scalar($0) }
            if values.isEmpty { throw RuleError(.emptySearch, "`\(key)` has an empty value list", line: line(of: value)) }
        case .mapping:
            throw RuleError(.wrongType, "`\(key)`: a field's value must be a scalar or a list of scalars, not a mapping", line: line(of: value))
        default:
            values = [try scalar(value)]
        }
        return FieldItem(field: field.isEmpty ? nil : field, modifiers: parts.filter { !$0.isEmpty }.map { $0.lowercased() },
                         values: values, line: line(of: value))
    }

    func scalar(_ node: Node) throws -> SigmaValue {
        guard case .scalar(let s) = node else {
            throw RuleError(.wrongType, "expected a scalar value", line: line(of: node))
        }
        if s.style == .plain {
            if node.null != nil { return .null }
            if let b = node.bool { return .bool(b) }
            if node.int != nil || node.float != nil { return .number(s.string) }
        }
        return .string(s.string)
    }

    // MARK: Correlation and filter

    func correlation() throws -> CorrelationRule {
        guard let title = try string("title") else { throw RuleError(.missingField, "missing `title`", line: line(of: map)) }
        guard case .mapping(let c) = map["correlation"]! else {
            throw RuleError(.wrongType, "`correlation` must be a mapping", line: line(of: map["correlation"]!))
        }
        guard let typeText = c["type"]?.string, let kind = CorrelationRule.Kind(rawValue: typeText) else {
            throw RuleError(.correlationInvalid, "correlation `type` must be one of event_count, value_count, temporal, temporal_ordered, value_sum, value_avg, value_percentile, value_median", line: line(of: c))
        }
        let rules: [String]
        switch c["rules"] {
        case .some(.scalar(let s)): rules = [s.string]
        case .some(.sequence(let seq)): rules = seq.compactMap(\.string)
        default: throw RuleError(.correlationInvalid, "correlation needs `rules` (rule ids or names)", line: line(of: c))
        }
        var groupBy: [String] = []
        switch c["group-by"] {
        case .some(.scalar(let s)): groupBy = [s.string]
        case .some(.sequence(let seq)): groupBy = seq.compactMap(\.string)
        default: break
        }
        guard let timespanText = (c["timespan"] ?? c["timeframe"])?.string, let seconds = Self.duration(timespanText) else {
            throw RuleError(.correlationInvalid, "correlation needs `timespan` like 5m, 1h, 30s, 2d", line: line(of: c))
        }
        var thresholds: [CorrelationRule.Threshold] = []
        if case .mapping(let cond)? = c["condition"] {
            let field = cond["field"]?.string
            let percentile = cond["percentile"].flatMap { $0.float ?? $0.int.map(Double.init) }
            for (k, v) in cond {
                guard let op = k.string, ["gt", "gte", "lt", "lte", "eq", "neq"].contains(op) else { continue }
                guard let value = v.float ?? v.int.map(Double.init) else {
                    throw RuleError(.correlationInvalid, "condition `\(op)` needs a number", line: line(of: v))
                }
                thresholds.append(.init(op: op, value: value, field: field, percentile: percentile))
            }
            if kind != .temporal && kind != .temporalOrdered && thresholds.isEmpty {
                throw RuleError(.correlationInvalid, "condition needs one of gt, gte, lt, lte, eq, neq", line: line(of: cond))
            }
            if [.valueCount, .valueSum, .valueAvg, .valuePercentile, .valueMedian].contains(kind) && field == nil {
                throw RuleError(.correlationInvalid, "\(kind.rawValue) needs `condition.field`", line: line(of: cond))
            }
        } else if kind != .temporal && kind != .temporalOrdered {
            throw RuleError(.correlationInvalid, "\(kind.rawValue) needs a `condition` mapping", line: line(of: c))
        }
        var aliases: [String: [String: String]] = [:]
        if case .mapping(let am)? = c["aliases"] {
            for (k, v) in am {
                guard let alias = k.string, case .mapping(let per) = v else { continue }
                var m: [String: String] = [:]
                for (rk, rv) in per { if let r = rk.string, let f = rv.string { m[r] = f } }
                aliases[alias] = m
            }
        }
        let generate = (c["generate"] ?? map["generate"])?.bool ?? false
        return CorrelationRule(title: title, id: try string("id"), name: try string("name"), level: try string("level")?.lowercased(),
                               tags: try strings("tags"), kind: kind, rules: rules, groupBy: groupBy, timespanSeconds: seconds,
                               conditions: thresholds, aliases: aliases, generate: generate, location: loc(map))
    }

    static func duration(_ text: String) -> Double? {
        guard let unit = text.last, let n = Double(text.dropLast()) else { return nil }
        switch unit {
        case "s": return n
        case "m": return n * 60
        case "h": return n * 3600
        case "d": return n * 86400
        case "w": return n * 604_800
        case "M": return n * 2_592_000
        case "y": return n * 31_536_000
        default: return nil
        }
    }

    func filter() throws -> FilterRule {
        guard let title = try string("title") else { throw RuleError(.missingField, "missing `title`", line: line(of: map)) }
        guard let ls = map["logsource"] else { throw RuleError(.filterInvalid, "a filter needs `logsource`", line: line(of: map)) }
        guard case .mapping(let f) = map["filter"]! else { throw RuleError(.filterInvalid, "`filter` must be a mapping", line: line(of: map)) }
        let rules: [String]
        switch f["rules"] {
        case .some(.scalar(let s)): rules = [s.string]
        case .some(.sequence(let seq)): rules = seq.compactMap(\.string)
        default: throw RuleError(.filterInvalid, "a filter needs `filter.rules` (rule ids or names)", line: line(of: f))
        }
        var searches: [Search] = []
        var conditionNode: Node?
        for (k, v) in f {
            guard let key = k.string else { continue }
            if key == "rules" { continue }
            if key == "condition" { conditionNode = v; continue }
            searches.append(try search(name: key, v))
        }
        guard let conditionNode else { throw RuleError(.filterInvalid, "a filter needs `filter.condition`", line: line(of: f)) }
        let (condition, _) = try parseConditions(conditionNode, searches: searches)
        return FilterRule(title: title, id: try string("id"), logsource: try logsource(ls), rules: rules,
                          searches: searches, condition: condition, location: loc(map))
    }

    // MARK: Helpers

    func string(_ key: String) throws -> String? {
        guard let node = map[key] else { return nil }
        switch node {
        case .scalar(let s): return node.null != nil && s.style == .plain ? nil : s.string
        default: throw RuleError(.wrongType, "`\(key)` must be a string", line: line(of: node))
        }
    }

    func strings(_ key: String) throws -> [String] {
        guard let node = map[key] else { return [] }
        switch node {
        case .scalar(let s): return [s.string]
        case .sequence(let seq): return seq.compactMap { $0.string }
        default: throw RuleError(.wrongType, "`\(key)` must be a list of strings", line: line(of: node))
        }
    }

    func line(of node: Node) -> Int { node.mark?.line ?? 0 }
    func line(of m: Node.Mapping) -> Int { m.mark?.line ?? 0 }
    func loc(_ node: Node) -> SourceLocation { SourceLocation(file: file, line: node.mark?.line ?? 0) }
    func loc(_ m: Node.Mapping) -> SourceLocation { SourceLocation(file: file, line: m.mark?.line ?? 1) }
}
