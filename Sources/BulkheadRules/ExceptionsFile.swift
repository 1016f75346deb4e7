import BulkheadEvent
import Foundation
import Yams

/// One entry of a tuning file: alerts of `rules` whose record matches `match` are suppressed
/// (counted, not shown) until `expires`.
public struct ExceptionEntry: Sendable {
    public var name: String
    /// Rule ids or titles; `["*"]` for every rule.
    public var rules: [String]
    /// Optional: only records of this logsource.
    public var logsource: LogSource?
    /// The `match` selection: a Sigma field map (AND of items) or a list of maps (OR).
    public var searches: [Search]
    public var condition: Condition
    public var reason: String
    public var owner: String
    /// Last day the exception applies (YYYY-MM-DD, inclusive, UTC); nil: no expiry.
    public var expires: String?
    public var location: SourceLocation

    public var appliesToAllRules: Bool { rules.contains("*") }

    /// True when `today` (YYYY-MM-DD) is after the expiry day.
    public func isExpired(today: String) -> Bool {
        guard let expires else { return false }
        return today > expires
    }

    public init(name: String, rules: [String], logsource: LogSource? = nil, searches: [Search], condition: Condition,
                reason: String, owner: String, expires: String?, location: SourceLocation) {
        self.name = name
        self.rules = rules
        self.logsource = logsource
        self.searches = searches
        self.condition = condition
        self.reason = reason
        self.owner = owner
        self.expires = expires
        self.location = location
    }
}

/// Reads a tuning file:
///
/// ```yaml
/// exceptions:
///   - name: eks-control-plane
///     rules: "*"                     # or a list of rule ids
///     match:                         # Sigma selection: field|modifier: value(s)
///       user.username|startswith: "eks:"
///     reason: EKS control-plane components
///     owner: platform-security
///     expires: 2027-06-30            # optional, YYYY-MM-DD
/// ```
public enum ExceptionsFile {
    public struct Result: Sendable {
        public var entries: [ExceptionEntry] = []
        public var diagnostics: [Diagnostic] = []
    }

    /// Today's date in UTC as YYYY-MM-DD.
    public static func today(_ now: Date = Date()) -> String {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(identifier: "UTC")!
        let c = cal.dateComponents([.year, .month, .day], from: now)
        return String(format: "%04d-%02d-%02d", c.year ?? 1970, c.month ?? 1, c.day ?? 1)
    }

    static func validDate(_ s: String) -> Bool {
        let parts = s.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]) else { return false }
        return y > 1900 && (1...12).contains(m) && (1...31).contains(d)
    }

    public static func load(yaml text: String, file: String) -> Result {
        var result = Result()
        func problem(_ code: Diagnostic.Code, _ message: String, _ line: Int) {
            result.diagnostics.append(Diagnostic(code, message, at: SourceLocation(file: file, line: line)))
        }
        guard text.utf8.count <= 4 << 20 else { problem(.tooComplex, "tuning file larger than 4 MiB", 1); return result }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            problem(.yamlSyntax, "YAML syntax error: " + ("\(error)".split(separator: "\n").first.map(String.init) ?? "invalid YAML"), 1)
            return result
        }
        guard let root else { return result }
        guard case .mapping(let top) = root, let list = top["exceptions"] else {
            problem(.wrongType, "a tuning file is a mapping with an `exceptions` list", root.mark?.line ?? 1)
            return result
        }
        if case .scalar = list, list.null != nil { return result }
        guard case .sequence(let seq) = list else { problem(.wrongType, "`exceptions` must be a list", list.mark?.line ?? 1); return result }
        for (i, node) in seq.enumerated() {
            let line = node.mark?.line ?? 0
            guard case .mapping(let m) = node else { problem(.wrongType, "exception #\(i + 1) must be a mapping", line); continue }
            let name = m["name"]?.string ?? "exception #\(i + 1)"
            func need(_ key: String) -> String? {
                guard let s = m[key]?.string?.trimmingCharacters(in: .whitespacesAndNewlines), !s.isEmpty else {
                    problem(.missingField, "exception `\(name)`: missing `\(key)`", line)
                    return nil
                }
                return s
            }
            var rules: [String] = []
            switch m["rules"] {
            case .some(.scalar(let s)): rules = [s.string]
            case .some(.sequence(let rs)): rules = rs.compactMap(\.string)
            default: break
            }
            if rules.isEmpty { problem(.missingField, "exception `\(name)`: `rules` needs rule ids or \"*\"", line); continue }
            guard let reason = need("reason"), let owner = need("owner") else { continue }
            var expires: String?
            if let e = m["expires"] {
                guard let s = e.string, validDate(s) else {
                    problem(.invalidValue, "exception `\(name)`: `expires` must be a date YYYY-MM-DD", e.mark?.line ?? line)
                    continue
                }
                expires = s
            }
            guard let matchNode = m["match"] else { problem(.missingField, "exception `\(name)`: missing `match` (a field selection)", line); continue }
            var logsource: LogSource?
            let builder = DocumentBuilder(file: file, map: m)
            do {
                if let ls = m["logsource"] { logsource = try builder.logsource(ls) }
                let search = try builder.search(name: "match", matchNode)
                if case .keywords = search.body {
                    throw RuleError(.wrongType, "`match` must be a field map (or a list of field maps), not keywords", line: search.line)
                }
                result.entries.append(ExceptionEntry(name: name, rules: rules, logsource: logsource, searches: [search],
                                                     condition: .identifier("match"), reason: reason, owner: owner,
                                                     expires: expires, location: SourceLocation(file: file, line: line)))
            } catch let e as RuleError {
                problem(e.code, "exception `\(name)`: \(e.message)", e.line > 0 ? e.line : line)
            } catch {
                problem(.invalidValue, "exception `\(name)`: \(error)", line)
            }
        }
        return result
    }
}
