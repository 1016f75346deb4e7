import BulkheadEvent

/// A telemetry format: JSON records, line-oriented text, or a binary capture.
public enum TelemetryFormat: Sendable {
    case json(any JSONFormat)
    case text(any TextFormat)
    case binary(any BinaryFormat)

    public var mapping: SourceMapping {
        switch self {
        case .json(let f): return f.mapping
        case .text(let f): return f.mapping
        case .binary(let f): return f.mapping
        }
    }
    public var id: String { mapping.id }
}

/// Every format bulkhead reads, in sniffing order (most specific first). The index of a
/// format here is its routing index in the engine.
public enum Formats {
    public static let all: [TelemetryFormat] = [
        // Binary captures (sniffed by magic number).
        // -- binary formats: begin
        .binary(PcapFormat()),
        // -- binary formats: end
        // Line-oriented text formats.
        // -- text formats: begin
        .text(AuditdFormat()),
        .text(ZeekTSVFormat(.conn)),
        .text(ZeekTSVFormat(.dns)),
        .text(VPCFlowFormat()),
        .text(CoreDNSFormat()),
        // -- text formats: end
        // JSON formats, most specific first.
        .json(KubernetesAuditFormat()),
        .json(CloudTrailFormat()),
        // -- json formats: begin
        .json(FalcoFormat()),
        .json(TetragonFormat()),
        .json(HubbleFormat()),
        .json(SuricataFormat()),
        .json(ZeekDNSJSONFormat()),
        .json(ZeekConnJSONFormat()),
        .json(Route53ResolverFormat()),
        .json(DNSJSONLFormat()),
        .json(CoreDNSJSONFormat()),
        .json(AUOMSFormat()),
        .json(GCPAuditFormat()),
        .json(AzureActivityFormat()),
        .json(DockerEventsFormat()),
        .json(DockerInspectFormat()),
        .json(KubernetesPodFormat()),
        // -- json formats: end
        .json(GenericJSONFormat()),
    ]

    public static var mappings: [SourceMapping] { all.map(\.mapping) }

    /// Index of the format with this id (`--format`).
    public static func index(of id: String) -> Int? { all.firstIndex { $0.id == id } }

    /// Index of the generic JSON fallback.
    public static let genericJSON: Int = all.firstIndex { $0.id == "json" }!
}

/// Any other JSON: evaluated by rules whose logsource names `product: json`.
public struct GenericJSONFormat: JSONFormat {
    public let mapping = SourceMapping.load("json")
    public init() {}
    public func sniff(_ record: EventView) -> Bool { true }
}

/// A line-oriented text format (auditd, Zeek TSV, VPC flow logs, CoreDNS). Each file gets a
/// fresh decoder, which may keep state across lines (headers, multi-record events).
public protocol TextFormat: Sendable {
    var mapping: SourceMapping { get }
    /// Whether a file's first lines (up to 20, without line ends) look like this format.
    func sniff(_ firstLines: [String]) -> Bool
    func makeDecoder() -> any TextDecoder
}

public protocol TextDecoder {
    /// Feeds one line (without its line end). Calls `emit` with a complete JSON object, the
    /// mapping kind and the line number where the record started, zero or more times.
    /// Returns an error message for a bad line (reported, then skipped).
    mutating func feed(_ line: UnsafeBufferPointer<UInt8>, lineNumber: Int, emit: (_ json: [UInt8], _ kind: Int, _ line: Int) -> Void) -> String?
    /// End of input: flush what is pending.
    mutating func finish(emit: (_ json: [UInt8], _ kind: Int, _ line: Int) -> Void)
}

/// A binary capture format (pcap, pcapng): decoded whole, record by record.
public protocol BinaryFormat: Sendable {
    var mapping: SourceMapping { get }
    /// Whether the first bytes (magic number) are this format.
    func sniff(_ prefix: UnsafeRawBufferPointer) -> Bool
    /// Decodes the capture; `emit` gets JSON records with kind and a position (packet number);
    /// `problem` gets position and message for damaged parts (decoding continues).
    func decode(_ bytes: UnsafeRawBufferPointer, emit: (_ json: [UInt8], _ kind: Int, _ position: Int) -> Void,
                problem: (_ position: Int, _ message: String) -> Void)
}
