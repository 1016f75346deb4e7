import BulkheadEvent

/// Falco alerts as JSON (`json_output: true` to stdout/file, `http_output`, Falcosidekick):
/// `output`, `priority`, `rule`, `time`, `source`, `tags`, `hostname` and `output_fields`
/// keyed by Falco field names (`container.id`, `k8s.ns.name`, `proc.cmdline`).
public struct FalcoFormat: JSONFormat {
    public let mapping = SourceMapping.load("falco")
    public init() {}

    static let output = FieldPath("output")
    static let priority = FieldPath("priority")
    static let rule = FieldPath("rule")
    static let outputFields = FieldPath("output_fields")
    static let time = FieldPath("time")

    public func sniff(_ r: EventView) -> Bool {
        r.has(Self.rule, prefix: "") && r.has(Self.priority, prefix: "") && r.has(Self.output, prefix: "")
            && (r.exists(Self.outputFields) || r.exists(Self.time))
    }

    public func decode(_ r: EventView, into out: inout [UInt8]) -> DecodeResult {
        guard r.exists(Self.rule), r.exists(Self.output) else { return .invalid("not a Falco alert (no rule / output)") }
        return .record(kind: 0)
    }
}
