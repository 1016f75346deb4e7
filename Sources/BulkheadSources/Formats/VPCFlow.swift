import BulkheadEvent

/// AWS VPC flow log records (versions 2 to 5): space separated, with a header line naming the
/// fields (S3 delivery, custom formats), or without one in the default order (CloudWatch Logs).
public struct VPCFlowFormat: TextFormat {
    public let mapping = SourceMapping.load("vpc_flow")
    public init() {}

    /// Every field AWS defines, in the order of the "all fields" v5 format.
    static let defaultOrder = ["version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport", "protocol",
                               "packets", "bytes", "start", "end", "action", "log-status",
                               "vpc-id", "subnet-id", "instance-id", "tcp-flags", "type", "pkt-srcaddr", "pkt-dstaddr",
                               "region", "az-id", "sublocation-type", "sublocation-id",
                               "pkt-src-aws-service", "pkt-dst-aws-service", "flow-direction", "traffic-path"]
    static let known: Set<String> = Set(defaultOrder).union(["ecs-cluster-arn", "ecs-cluster-name", "ecs-container-instance-arn",
                                                             "ecs-container-instance-id", "ecs-container-id", "ecs-second-container-id",
                                                             "ecs-service-name", "ecs-task-definition-arn", "ecs-task-arn", "ecs-task-id",
                                                             "reject-reason", "resource-id", "encryption-status"])
    static let numeric: Set<String> = ["version", "srcport", "dstport", "protocol", "packets", "bytes", "start", "end", "tcp-flags", "traffic-path"]

    static func isHeader(_ words: [String]) -> Bool {
        guard !words.isEmpty else { return false }
        let hits = words.filter { known.contains($0) }.count
        return hits * 2 > words.count && (words.contains("srcaddr") || words.contains("interface-id") || words.contains("version"))
    }

    static func looksLikeRecord(_ words: [String]) -> Bool {
        guard words.count >= 14, let v = Int(words[0]), (2...10).contains(v) else { return false }
        return words[2].hasPrefix("eni-") || words[2] == "-"
    }

    public func sniff(_ firstLines: [String]) -> Bool {
        guard let first = firstLines.first(where: { !$0.isEmpty }) else { return false }
        let words = first.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
        return Self.isHeader(words) || Self.looksLikeRecord(words)
    }

    public func makeDecoder() -> any TextDecoder { VPCFlowDecoder() }
}

struct VPCFlowDecoder: TextDecoder {
    var header: [String]? = nil

    mutating func feed(_ raw: UnsafeBufferPointer<UInt8>, lineNumber: Int, emit: ([UInt8], Int, Int) -> Void) -> String? {
        let line = TextBytes.trimmed(raw)
        if line.isEmpty { return nil }
        let words = TextBytes.words(line).map { TextBytes.string($0) }
        if VPCFlowFormat.isHeader(words) {
            header = words
            return nil
        }
        let names: [String]
        if let header {
            guard words.count == header.count else { return "VPC flow record has \(words.count) fields, header names \(header.count)" }
            names = header
        } else {
            guard VPCFlowFormat.looksLikeRecord(words), [14, 21, 25, 29].contains(words.count) else {
                return "not a VPC flow log record (no header line and not the default field order)"
            }
            names = Array(VPCFlowFormat.defaultOrder.prefix(words.count))
        }
        var w = TextRecordWriter()
        var v: [String: String] = [:]
        for (name, value) in zip(names, words) where value != "-" {
            let key = name.replacingOccurrences(of: "-", with: "_")
            v[key] = value
            if VPCFlowFormat.numeric.contains(name), TextBytes.isJSONNumber(value.utf8) {
                w.number(key, text: value.utf8)
            } else {
                w.string(key, value)
            }
        }
        if let s = v["start"] { w.string("@timestamp", TextBytes.rfc3339(epochSecondsText: s)) }
        w.string("SourceIp", v["srcaddr"])
        w.string("SourcePort", v["srcport"])
        w.string("DestinationIp", v["dstaddr"])
        w.string("DestinationPort", v["dstport"])
        if let p = v["protocol"] { w.string("Protocol", Self.protocolName(p)) }
        w.string("SentBytes", v["bytes"])
        w.string("Packets", v["packets"])
        w.entity([("cloud_provider", "aws"), ("cloud_account", v["account_id"]), ("cloud_instance", v["instance_id"]),
                  ("cloud_region", v["region"]), ("source_ip", v["srcaddr"] ?? v["pkt_srcaddr"])])
        emit(w.finish(), 0, lineNumber)
        return nil
    }

    static func protocolName(_ p: String) -> String {
        switch p {
        case "6": return "tcp"
        case "17": return "udp"
        case "1": return "icmp"
        case "58": return "ipv6-icmp"
        case "47": return "gre"
        case "50": return "esp"
        case "132": return "sctp"
        default: return p
        }
    }

    mutating func finish(emit: ([UInt8], Int, Int) -> Void) {}
}
