import BulkheadEvent

/// Docker Engine events: `docker events --format '{{json .}}'` lines and the Engine API
/// `/events` stream (`Type`, `Action`, `Actor.ID`, `Actor.Attributes`, `scope`, `time`,
/// `timeNano`; older engines also write `status`, `id`, `from`). Evaluated as written.
public struct DockerEventsFormat: JSONFormat {
    public let mapping = SourceMapping.load("docker_events")
    public init() {}

    static let type = FieldPath("Type")
    static let action = FieldPath("Action")
    static let actor = FieldPath("Actor")
    static let actorID = FieldPath("Actor.ID")
    static let status = FieldPath("status")
    static let time = FieldPath("time")
    static let timeNano = FieldPath("timeNano")

    public func sniff(_ r: EventView) -> Bool {
        guard let t = r.first(Self.type), r.kind(t) == .string,
              let a = r.first(Self.action), r.kind(a) == .string else { return false }
        return (r.exists(Self.actorID) || r.exists(Self.status)) && (r.exists(Self.timeNano) || r.exists(Self.time))
    }

    public func decode(_ r: EventView, into out: inout [UInt8]) -> DecodeResult {
        guard r.exists(Self.type), r.exists(Self.action) else {
            return .invalid("not a Docker event (no Type / Action)")
        }
        return .record(kind: 0)
    }
}
