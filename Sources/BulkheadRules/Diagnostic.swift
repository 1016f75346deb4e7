/// Where something is in a rule file.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int = 0) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { column > 0 ? "\(file):\(line):\(column)" : "\(file):\(line)" }
}

/// One problem found while loading or compiling rules. Collected, not thrown, so one bad
/// rule never stops the others (Falco's load results, pySigma's collect_errors).
public struct Diagnostic: Sendable, CustomStringConvertible {
    public enum Severity: String, Sendable, Comparable {
        case warning, error
        public static func < (a: Severity, b: Severity) -> Bool { a == .warning && b == .error }
    }

    public var code: Code
    public var severity: Severity
    public var message: String
    public var location: SourceLocation
    public var ruleID: String?
    public var ruleTitle: String?

    public init(_ code: Code, _ message: String, at location: SourceLocation, severity: Severity = .error,
                ruleID: String? = nil, ruleTitle: String? = nil) {
        self.code = code
        self.severity = severity
        self.message = message
        self.location = location
        self.ruleID = ruleID
        self.ruleTitle = ruleTitle
    }

    public var description: String {
        var s = "\(location): \(severity.rawValue) \(code.rawValue): \(message)"
        if let ruleID { s += " [rule \(ruleID)]" }
        return s
    }

    /// Stable codes: documented in docs/rules.md; never renumbered.
    public enum Code: String, Sendable, CaseIterable {
        case yamlSyntax = "BH100"
        case notARule = "BH101"
        case missingField = "BH102"
        case wrongType = "BH103"
        case invalidValue = "BH104"
        case unknownModifier = "BH110"
        case invalidModifierCombination = "BH111"
        case invalidRegex = "BH112"
        case invalidCIDR = "BH113"
        case invalidNumber = "BH114"
        case invalidBase64Input = "BH115"
        case missingPlaceholder = "BH116"
        case conditionSyntax = "BH120"
        case unknownIdentifier = "BH121"
        case deprecatedAggregation = "BH122"
        case emptySearch = "BH123"
        case correlationInvalid = "BH130"
        case correlationUnknownRule = "BH131"
        case filterInvalid = "BH140"
        case duplicateID = "BH150"
        case tooComplex = "BH160"
        case unknownLogsource = "BH170"
        case ioError = "BH190"
    }
}

/// Thrown inside the loader for the problem at hand; turned into a `Diagnostic`.
struct RuleError: Error {
    var code: Diagnostic.Code
    var message: String
    var line: Int
    var column: Int
    init(_ code: Diagnostic.Code, _ message: String, line: Int = 0, column: Int = 0) {
        self.code = code
        self.message = message
        self.line = line
        self.column = column
    }
}
