import BulkheadEvent

/// Packet captures: classic pcap (both byte orders, µs and ns) and pcapng. Decodes Ethernet
/// (802.1Q), Linux cooked (SLL, SLL2), raw IP and loopback links; IPv4/IPv6, UDP/TCP.
/// Emits DNS messages (kind 1), TLS ClientHello server names (kind 2) and, at the end, one
/// record per bidirectional flow (kind 0).
public struct PcapFormat: BinaryFormat {
    public let mapping = SourceMapping.load("pcap")
    public init() {}

    public func sniff(_ prefix: UnsafeRawBufferPointer) -> Bool {
        guard prefix.count >= 4 else { return false }
        let m = [prefix[0], prefix[1], prefix[2], prefix[3]]
        return m == [0xD4, 0xC3, 0xB2, 0xA1] || m == [0xA1, 0xB2, 0xC3, 0xD4]
            || m == [0x4D, 0x3C, 0xB2, 0xA1] || m == [0xA1, 0xB2, 0x3C, 0x4D]
            || m == [0x0A, 0x0D, 0x0D, 0x0A]
    }

    public func decode(_ bytes: UnsafeRawBufferPointer, emit: (_ json: [UInt8], _ kind: Int, _ position: Int) -> Void,
                       problem: (_ position: Int, _ message: String) -> Void) {
        var analyzer = PacketAnalyzer()
        let reader = CaptureReader(bytes)
        reader.forEachPacket(problem: problem) { packet in
            analyzer.handle(packet, emit: emit, problem: problem)
        }
        analyzer.finish(emit: emit)
    }
}

/// Bounds-checked reads from a byte range.
struct ByteView {
    let base: UnsafeRawBufferPointer
    let start: Int
    let count: Int

    init(_ base: UnsafeRawBufferPointer, start: Int = 0, count: Int? = nil) {
        self.base = base
        self.start = start
        self.count = max(0, min(count ?? (base.count - start), base.count - start))
    }

    func sub(_ offset: Int, _ length: Int? = nil) -> ByteView? {
        guard offset >= 0, offset <= count else { return nil }
        let len = length ?? (count - offset)
        guard len >= 0, offset + len <= count else { return nil }
        return ByteView(base, start: start + offset, count: len)
    }
    @inline(__always) func u8(_ i: Int) -> UInt8? { i >= 0 && i < count ? base[start + i] : nil }
    func be16(_ i: Int) -> Int? {
        guard i >= 0, i + 2 <= count else { return nil }
        return Int(base[start + i]) << 8 | Int(base[start + i + 1])
    }
    func be32(_ i: Int) -> UInt32? {
        guard i >= 0, i + 4 <= count else { return nil }
        var v: UInt32 = 0
        for k in 0..<4 { v = v << 8 | UInt32(base[start + i + k]) }
        return v
    }
    func le16(_ i: Int) -> Int? {
        guard i >= 0, i + 2 <= count else { return nil }
        return Int(base[start + i]) | Int(base[start + i + 1]) << 8
    }
    func u32(_ i: Int, bigEndian: Bool) -> UInt32? {
        guard i >= 0, i + 4 <= count else { return nil }
        var v: UInt32 = 0
        for k in 0..<4 {
            let b = UInt32(base[start + i + (bigEndian ? k : 3 - k)])
            v = v << 8 | b
        }
        return v
    }
    func u16(_ i: Int, bigEndian: Bool) -> Int? { bigEndian ? be16(i) : le16(i) }
    func bytes(_ i: Int, _ n: Int) -> [UInt8]? {
        guard i >= 0, n >= 0, i + n <= count else { return nil }
        return Array(UnsafeRawBufferPointer(rebasing: base[(start + i)..<(start + i + n)]))
    }
}

struct CapturedPacket {
    var number: Int
    var linkType: Int
    var timeNanos: Int64
    var data: ByteView
}

/// Walks the packets of a pcap or pcapng file.
struct CaptureReader {
    let bytes: UnsafeRawBufferPointer
    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    static let maxPacket = 262_144 * 4

    func forEachPacket(problem: (Int, String) -> Void, _ body: (CapturedPacket) -> Void) {
        let v = ByteView(bytes)
        guard let m = v.bytes(0, 4) else { problem(0, "capture too short for a header"); return }
        if m == [0x0A, 0x0D, 0x0D, 0x0A] { pcapng(v, problem: problem, body) } else { classic(v, problem: problem, body) }
    }

    private func classic(_ v: ByteView, problem: (Int, String) -> Void, _ body: (CapturedPacket) -> Void) {
        guard let m = v.bytes(0, 4), v.count >= 24 else { problem(0, "pcap header truncated"); return }
        let big = m == [0xA1, 0xB2, 0xC3, 0xD4] || m == [0xA1, 0xB2, 0x3C, 0x4D]
        let nano = m == [0xA1, 0xB2, 0x3C, 0x4D] || m == [0x4D, 0x3C, 0xB2, 0xA1]
        let link = Int(v.u32(20, bigEndian: big)! & 0x03FF_FFFF) & 0xFFFF
        var off = 24
        var number = 0
        while off < v.count {
            number += 1
            guard let sec = v.u32(off, bigEndian: big), let frac = v.u32(off + 4, bigEndian: big),
                  let incl = v.u32(off + 8, bigEndian: big) else {
                problem(number, "packet \(number): record header truncated"); return
            }
            let len = Int(incl)
            guard len <= Self.maxPacket else { problem(number, "packet \(number): captured length \(len) too large"); return }
            guard let data = v.sub(off + 16, len) else {
                problem(number, "packet \(number): truncated (captured length \(len), \(v.count - off - 16) bytes left)"); return
            }
            let t = Int64(sec) * 1_000_000_000 + Int64(frac) * (nano ? 1 : 1_000)
            body(CapturedPacket(number: number, linkType: link, timeNanos: t, data: data))
            off += 16 + len
        }
    }

    private struct Interface {
        var linkType: Int
        /// Timestamp units: 10^-n (power of ten) or 2^-n.
        var resolution: UInt8 = 6
    }

    private func pcapng(_ v: ByteView, problem: (Int, String) -> Void, _ body: (CapturedPacket) -> Void) {
        var off = 0
        var big = false
        var interfaces: [Interface] = []
        var number = 0
        while off + 12 <= v.count {
            guard let magic = v.bytes(off, 4) else { return }
            if magic == [0x0A, 0x0D, 0x0D, 0x0A] {
                guard let bom = v.bytes(off + 8, 4) else { problem(number, "section header truncated"); return }
                if bom == [0x1A, 0x2B, 0x3C, 0x4D] { big = true } else if bom == [0x4D, 0x3C, 0x2B, 0x1A] { big = false } else {
                    problem(number, "pcapng section header with bad byte-order magic"); return
                }
                interfaces.removeAll()
            }
            guard let type = v.u32(off, bigEndian: big), let total32 = v.u32(off + 4, bigEndian: big) else { return }
            let total = Int(total32)
            guard total >= 12, total % 4 == 0, let block = v.sub(off, total) else {
                problem(number + 1, "pcapng block at byte \(off) truncated or bad length \(total)"); return
            }
            let bodyView = block.sub(8, total - 12)!
            switch type {
            case 1: // IDB
                guard let lt = bodyView.u16(0, bigEndian: big) else { problem(number, "interface block truncated"); break }
                var iface = Interface(linkType: lt)
                var o = 8
                while let code = bodyView.u16(o, bigEndian: big), let len = bodyView.u16(o + 2, bigEndian: big), code != 0 {
                    if code == 9, len >= 1, let r = bodyView.u8(o + 4) { iface.resolution = r }
                    o += 4 + (len + 3) / 4 * 4
                }
                interfaces.append(iface)
            case 6, 2: // EPB, obsolete packet block
                number += 1
                let hdr = 20
                let ifIndex: Int
                if type == 6 { ifIndex = Int(bodyView.u32(0, bigEndian: big) ?? 0) } else { ifIndex = bodyView.u16(0, bigEndian: big) ?? 0 }
                guard let hi = bodyView.u32(4, bigEndian: big), let lo = bodyView.u32(8, bigEndian: big),
                      let cap = bodyView.u32(12, bigEndian: big) else {
                    problem(number, "packet \(number): block header truncated"); break
                }
                guard ifIndex < interfaces.count else { problem(number, "packet \(number): unknown interface \(ifIndex)"); break }
                guard let data = bodyView.sub(hdr, Int(cap)) else {
                    problem(number, "packet \(number): truncated (captured length \(cap))"); break
                }
                let iface = interfaces[ifIndex]
                let ts = UInt64(hi) << 32 | UInt64(lo)
                body(CapturedPacket(number: number, linkType: iface.linkType, timeNanos: Self.nanos(ts, iface.resolution), data: data))
            case 3: // SPB
                number += 1
                guard let orig = bodyView.u32(0, bigEndian: big), !interfaces.isEmpty else {
                    problem(number, "packet \(number): simple packet block without interface"); break
                }
                let cap = min(Int(orig), bodyView.count - 4)
                if let data = bodyView.sub(4, cap) {
                    body(CapturedPacket(number: number, linkType: interfaces[0].linkType, timeNanos: 0, data: data))
                }
            default: break
            }
            off += total
        }
        if off < v.count { problem(number + 1, "pcapng: \(v.count - off) trailing bytes (truncated block)") }
    }

    static func nanos(_ ts: UInt64, _ res: UInt8) -> Int64 {
        if res & 0x80 != 0 {
            let shift = Int(res & 0x7F)
            guard shift < 64 else { return 0 }
            let secs = ts >> UInt64(shift)
            let frac = ts & ((UInt64(1) << UInt64(shift)) - 1)
            return Int64(clamping: secs) &* 1_000_000_000 &+ Int64(Double(frac) / Double(UInt64(1) << UInt64(shift)) * 1e9)
        }
        let n = Int(res)
        if n <= 9 {
            var mul: UInt64 = 1
            for _ in 0..<(9 - n) { mul *= 10 }
            return Int64(clamping: ts.multipliedReportingOverflow(by: mul).partialValue)
        }
        var div: UInt64 = 1
        for _ in 0..<min(n - 9, 19) { div *= 10 }
        return Int64(clamping: ts / div)
    }
}

/// Link, network and transport decoding, DNS and TLS parsing, flow aggregation.
struct PacketAnalyzer {
    struct Endpoint: Hashable {
        var ip: [UInt8]
        var port: Int
    }
    struct FlowKey: Hashable {
        var proto: UInt8
        var a: Endpoint
        var b: Endpoint
    }
    struct Flow {
        var initiator: Endpoint
        var responder: Endpoint
        var proto: UInt8
        var packets = 0
        var sentPackets = 0
        var sentBytes = 0
        var receivedBytes = 0
        var start: Int64
        var end: Int64
        var firstPacket: Int
        var sawSyn = false
    }
    struct PendingQuery {
        var client: Endpoint
        var server: Endpoint
        var proto: String
        var time: Int64
        var packet: Int
        var message: DNSMessage
    }

    static let maxFlows = 100_000
    static let maxPendingQueries = 10_000

    var flows: [FlowKey: Flow] = [:]
    var flowOrder: [FlowKey] = []
    var flowHead = 0
    var queries: [String: PendingQuery] = [:]
    var queryOrder: [String] = []
    var queryHead = 0
    var reportedLinks: Set<Int> = []

    // MARK: Packets

    mutating func handle(_ p: CapturedPacket, emit: ([UInt8], Int, Int) -> Void, problem: (Int, String) -> Void) {
        let n = p.number
        guard let l3 = linkPayload(p, problem: problem) else { return }
        guard let version = l3.u8(0).map({ $0 >> 4 }) else { return }
        var proto: UInt8
        var src: [UInt8], dst: [UInt8]
        var l4: ByteView
        var ipLength: Int
        if version == 4 {
            guard let vihl = l3.u8(0), l3.count >= 20 else { problem(n, "packet \(n): truncated IPv4 header"); return }
            let ihl = Int(vihl & 0x0F) * 4
            guard ihl >= 20, l3.count >= ihl, let total = l3.be16(2), let frag = l3.be16(6) else {
                problem(n, "packet \(n): truncated or bad IPv4 header"); return
            }
            if frag & 0x1FFF != 0 { return } // not the first fragment
            proto = l3.u8(9)!
            src = l3.bytes(12, 4)!
            dst = l3.bytes(16, 4)!
            let usable = total >= ihl ? min(total, l3.count) : l3.count
            l4 = l3.sub(ihl, usable - ihl)!
            ipLength = total
        } else if version == 6 {
            guard l3.count >= 40, let plen = l3.be16(4), let next = l3.u8(6) else { problem(n, "packet \(n): truncated IPv6 header"); return }
            src = l3.bytes(8, 16)!
            dst = l3.bytes(24, 16)!
            ipLength = 40 + plen
            var nh = next
            var off = 40
            var hops = 0
            walk: while hops < 16 {
                hops += 1
                switch nh {
                case 0, 43, 60:
                    guard let nx = l3.u8(off), let len = l3.u8(off + 1) else { problem(n, "packet \(n): truncated IPv6 extension header"); return }
                    nh = nx
                    off += (Int(len) + 1) * 8
                case 44:
                    guard let nx = l3.u8(off), let fo = l3.be16(off + 2) else { problem(n, "packet \(n): truncated IPv6 fragment header"); return }
                    if fo >> 3 != 0 { return }
                    nh = nx
                    off += 8
                case 51:
                    guard let nx = l3.u8(off), let len = l3.u8(off + 1) else { problem(n, "packet \(n): truncated IPv6 AH header"); return }
                    nh = nx
                    off += (Int(len) + 2) * 4
                case 59: return
                default: break walk
                }
            }
            guard off <= l3.count else { problem(n, "packet \(n): truncated IPv6 extension headers"); return }
            proto = nh
            let usable = min(40 + plen, l3.count)
            l4 = l3.sub(off, max(0, usable - off)) ?? l3.sub(l3.count, 0)!
        } else {
            return
        }

        var sport = 0, dport = 0
        var payload = l4.sub(0, 0)!
        var tcpFlags: UInt8 = 0
        switch proto {
        case 6:
            guard l4.count >= 20, let sp = l4.be16(0), let dp = l4.be16(2), let off = l4.u8(12), let fl = l4.u8(13) else {
                problem(n, "packet \(n): truncated TCP header"); return
            }
            let dataOff = Int(off >> 4) * 4
            guard dataOff >= 20, let pl = l4.sub(dataOff) else { problem(n, "packet \(n): truncated TCP header (options)"); return }
            sport = sp; dport = dp; tcpFlags = fl; payload = pl
        case 17:
            guard l4.count >= 8, let sp = l4.be16(0), let dp = l4.be16(2), let len = l4.be16(4) else {
                problem(n, "packet \(n): truncated UDP header"); return
            }
            sport = sp; dport = dp
            let plen = len >= 8 ? min(len - 8, l4.count - 8) : l4.count - 8
            payload = l4.sub(8, plen)!
        default: break
        }

        let s = Endpoint(ip: src, port: sport), d = Endpoint(ip: dst, port: dport)
        updateFlow(proto: proto, src: s, dst: d, bytes: ipLength, syn: proto == 6 && tcpFlags & 0x12 == 0x02, time: p.timeNanos, packet: n, emit: emit)

        if (proto == 17 || proto == 6) && (sport == 53 || dport == 53) && payload.count > 0 {
            if proto == 17 {
                dns(payload, src: s, dst: d, proto: "udp", time: p.timeNanos, packet: n, emit: emit, problem: problem)
            } else {
                var o = 0
                while let len = payload.be16(o), len > 0 {
                    guard let m = payload.sub(o + 2, len) else { break } // spans segments: not reassembled
                    dns(m, src: s, dst: d, proto: "tcp", time: p.timeNanos, packet: n, emit: emit, problem: problem)
                    o += 2 + len
                }
            }
        } else if proto == 6, payload.u8(0) == 0x16, payload.u8(1) == 0x03, payload.u8(5) == 0x01 {
            if let hello = Self.clientHello(payload) {
                var w = TextRecordWriter()
                w.string("@timestamp", Self.time(p.timeNanos))
                w.string("SourceIp", Self.ip(src))
                w.int("SourcePort", sport)
                w.string("DestinationIp", Self.ip(dst))
                w.int("DestinationPort", dport)
                w.string("Protocol", "tcp")
                if let sni = hello.sni {
                    w.string("DestinationHostname", sni)
                    w.string("sni", sni)
                }
                w.string("tls_version", hello.version)
                w.string("tls_type", "client_hello")
                w.entity([("source_ip", Self.ip(src))])
                emit(w.finish(), 2, n)
            }
        }
    }

    func linkPayload(_ p: CapturedPacket, problem: (Int, String) -> Void) -> ByteView? {
        let d = p.data, n = p.number
        switch p.linkType {
        case 1: // Ethernet
            guard var type = d.be16(12) else { problem(n, "packet \(n): truncated Ethernet header"); return nil }
            var off = 14
            var tags = 0
            while (type == 0x8100 || type == 0x88A8 || type == 0x9100) && tags < 4 {
                guard let t = d.be16(off + 2) else { problem(n, "packet \(n): truncated VLAN tag"); return nil }
                type = t; off += 4; tags += 1
            }
            guard type == 0x0800 || type == 0x86DD else { return nil }
            return d.sub(off)
        case 113: // Linux cooked v1
            guard let type = d.be16(14), d.count >= 16 else { problem(n, "packet \(n): truncated SLL header"); return nil }
            guard type == 0x0800 || type == 0x86DD else { return nil }
            return d.sub(16)
        case 276: // Linux cooked v2
            guard let type = d.be16(0), d.count >= 20 else { problem(n, "packet \(n): truncated SLL2 header"); return nil }
            guard type == 0x0800 || type == 0x86DD else { return nil }
            return d.sub(20)
        case 101, 12, 14, 228, 229: // raw IP
            return d
        case 0, 108: // BSD loopback / null: 4-byte family, host or network order
            guard let f = d.bytes(0, 4) else { problem(n, "packet \(n): truncated loopback header"); return nil }
            let fam = max(Int(f[0]) | Int(f[1]) << 8 | Int(f[2]) << 16 | Int(f[3]) << 24 & 0xFFFF, Int(f[3]) | Int(f[2]) << 8)
            guard [2, 24, 28, 30].contains(fam) || [2, 24, 28, 30].contains(Int(f[0])) || [2, 24, 28, 30].contains(Int(f[3])) else { return nil }
            return d.sub(4)
        default:
            return nil
        }
    }

    // MARK: Flows

    mutating func updateFlow(proto: UInt8, src: Endpoint, dst: Endpoint, bytes: Int, syn: Bool, time: Int64, packet: Int,
                             emit: ([UInt8], Int, Int) -> Void) {
        let ordered = src.ip.lexicographicallyPrecedes(dst.ip) || (src.ip == dst.ip && src.port <= dst.port)
        let key = FlowKey(proto: proto, a: ordered ? src : dst, b: ordered ? dst : src)
        if var f = flows[key] {
            if syn && !f.sawSyn && f.initiator != src {
                // The SYN tells who opened the connection when capture started mid-stream.
                swap(&f.initiator, &f.responder)
                swap(&f.sentBytes, &f.receivedBytes)
                f.sentPackets = f.packets - f.sentPackets
            }
            if syn { f.sawSyn = true }
            f.packets += 1
            if src == f.initiator { f.sentBytes += bytes; f.sentPackets += 1 } else { f.receivedBytes += bytes }
            f.start = min(f.start, time)
            f.end = max(f.end, time)
            flows[key] = f
            return
        }
        var f = Flow(initiator: src, responder: dst, proto: proto, start: time, end: time, firstPacket: packet)
        f.sawSyn = syn
        f.packets = 1
        f.sentPackets = 1
        f.sentBytes = bytes
        flows[key] = f
        flowOrder.append(key)
        if flows.count > Self.maxFlows {
            while flowHead < flowOrder.count {
                let old = flowOrder[flowHead]
                flowHead += 1
                if let gone = flows.removeValue(forKey: old) { emit(Self.flowRecord(gone), 0, gone.firstPacket); break }
            }
            if flowHead > 4096 && flowHead * 2 > flowOrder.count {
                flowOrder.removeFirst(flowHead)
                flowHead = 0
            }
        }
    }

    static func flowRecord(_ f: Flow) -> [UInt8] {
        var w = TextRecordWriter()
        w.string("@timestamp", time(f.start))
        w.string("SourceIp", ip(f.initiator.ip))
        w.int("SourcePort", f.initiator.port)
        w.string("DestinationIp", ip(f.responder.ip))
        w.int("DestinationPort", f.responder.port)
        w.string("Protocol", protocolName(f.proto))
        w.string("Initiated", "true")
        w.int("Packets", f.packets)
        w.int("SentPackets", f.sentPackets)
        w.int("ReceivedPackets", f.packets - f.sentPackets)
        w.int("SentBytes", f.sentBytes)
        w.int("ReceivedBytes", f.receivedBytes)
        w.string("StartTime", time(f.start))
        w.string("EndTime", time(f.end))
        w.double("duration", Double(f.end - f.start) / 1e9)
        w.entity([("source_ip", ip(f.initiator.ip))])
        return w.finish()
    }

    mutating func finish(emit: ([UInt8], Int, Int) -> Void) {
        // Unanswered queries.
        while queryHead < queryOrder.count {
            let k = queryOrder[queryHead]
            queryHead += 1
            if let q = queries.removeValue(forKey: k) { emit(Self.dnsRecord(query: q, response: nil, responseTime: nil), 1, q.packet) }
        }
        for f in flows.values.sorted(by: { $0.firstPacket < $1.firstPacket }) { emit(Self.flowRecord(f), 0, f.firstPacket) }
        flows.removeAll()
    }

    // MARK: DNS

    mutating func dns(_ m: ByteView, src: Endpoint, dst: Endpoint, proto: String, time: Int64, packet: Int,
                      emit: ([UInt8], Int, Int) -> Void, problem: (Int, String) -> Void) {
        let msg: DNSMessage
        switch DNSMessage.parse(m) {
        case .success(let parsed): msg = parsed
        case .failure(let e): problem(packet, "packet \(packet): bad DNS message: \(e.text)"); return
        }
        if !msg.isResponse {
            let key = Self.queryKey(client: src, server: dst, id: msg.id)
            if queries[key] == nil { queryOrder.append(key) }
            queries[key] = PendingQuery(client: src, server: dst, proto: proto, time: time, packet: packet, message: msg)
            if queries.count > Self.maxPendingQueries {
                while queryHead < queryOrder.count {
                    let k = queryOrder[queryHead]
                    queryHead += 1
                    if let q = queries.removeValue(forKey: k) { emit(Self.dnsRecord(query: q, response: nil, responseTime: nil), 1, q.packet); break }
                }
            }
            if queryHead > 4096 && queryHead * 2 > queryOrder.count {
                queryOrder.removeFirst(queryHead)
                queryHead = 0
            }
            return
        }
        let key = Self.queryKey(client: dst, server: src, id: msg.id)
        let q = queries.removeValue(forKey: key) ?? PendingQuery(client: dst, server: src, proto: proto, time: time, packet: packet, message: msg)
        emit(Self.dnsRecord(query: q, response: msg, responseTime: time), 1, packet)
    }

    static func queryKey(client: Endpoint, server: Endpoint, id: Int) -> String {
        "\(ip(client.ip))|\(client.port)|\(ip(server.ip))|\(id)"
    }

    static func dnsRecord(query q: PendingQuery, response: DNSMessage?, responseTime: Int64?) -> [UInt8] {
        let m = response ?? q.message
        var w = TextRecordWriter()
        w.string("@timestamp", time(q.time))
        let name = m.questionName ?? q.message.questionName
        let type = m.questionType ?? q.message.questionType
        if let name {
            let text = TextBytes.string(name)
            w.string("query", text)
            w.string("QueryName", text)
            w.int("query_bytes", name.count)
            w.int("query_labels", name.isEmpty ? 0 : name.split(separator: 0x2E, omittingEmptySubsequences: false).count)
        }
        if let type {
            w.string("record_type", DNSMessage.typeName(type))
            w.string("QueryType", DNSMessage.typeName(type))
        }
        if let response {
            w.strings("answer", response.answers.map(\.data))
            w.strings("answer_type", response.answers.map { DNSMessage.typeName($0.type) })
            w.string("rcode", DNSMessage.rcodeName(response.rcode))
            w.string("QueryStatus", DNSMessage.rcodeName(response.rcode))
            w.string("QueryResults", response.answers.map(\.data).joined(separator: ";"))
            w.bool("answered", true)
            if let responseTime, responseTime >= q.time, q.message.isResponse == false {
                w.double("rtt", Double(responseTime - q.time) / 1e9)
            }
        } else {
            w.bool("answered", false)
        }
        w.int("dns_id", m.id)
        w.string("SourceIp", ip(q.client.ip))
        w.int("SourcePort", q.client.port)
        w.string("DestinationIp", ip(q.server.ip))
        w.int("DestinationPort", q.server.port)
        w.string("Protocol", q.proto)
        w.entity([("source_ip", ip(q.client.ip))])
        return w.finish()
    }

    // MARK: TLS

    static func clientHello(_ p: ByteView) -> (sni: String?, version: String)? {
        guard let recLen = p.be16(3), let hs = p.sub(5, min(recLen, p.count - 5)), hs.u8(0) == 1 else { return nil }
        guard let ver = hs.be16(4) else { return nil }
        var o = 4 + 2 + 32
        guard let sidLen = hs.u8(o) else { return nil }
        o += 1 + Int(sidLen)
        guard let csLen = hs.be16(o) else { return nil }
        o += 2 + csLen
        guard let cmLen = hs.u8(o) else { return nil }
        o += 1 + Int(cmLen)
        guard let extLen = hs.be16(o) else { return (nil, versionName(ver)) }
        o += 2
        let extEnd = min(o + extLen, hs.count)
        var sni: String? = nil
        var best = ver
        while o + 4 <= extEnd {
            guard let type = hs.be16(o), let len = hs.be16(o + 2) else { break }
            if type == 0x2B, let ext = hs.sub(o + 4, len), let listLen = ext.u8(0) { // supported_versions
                var k = 1
                while k + 1 <= Int(listLen), let v = ext.be16(k) {
                    if v & 0x0F0F != 0x0A0A { best = max(best, v) } // skip GREASE
                    k += 2
                }
            }
            if type == 0, sni == nil, let ext = hs.sub(o + 4, len), ext.u8(2) == 0,
               let nameLen = ext.be16(3), let name = ext.bytes(5, nameLen) {
                sni = TextBytes.string(name)
            }
            o += 4 + len
        }
        return (sni, versionName(best))
    }

    static func versionName(_ v: Int) -> String {
        switch v {
        case 0x0300: return "SSL 3.0"
        case 0x0301: return "TLS 1.0"
        case 0x0302: return "TLS 1.1"
        case 0x0303: return "TLS 1.2"
        case 0x0304: return "TLS 1.3"
        default: return HexText.word(v)
        }
    }

    // MARK: Text

    static func ip(_ b: [UInt8]) -> String { b.count == 4 ? NetText.ipv4(b) : NetText.ipv6(b) }
    static func time(_ ns: Int64) -> String { Timestamps.format(epochNanos: ns) }
    static func protocolName(_ p: UInt8) -> String {
        switch p {
        case 6: return "tcp"
        case 17: return "udp"
        case 1: return "icmp"
        case 58: return "ipv6-icmp"
        case 47: return "gre"
        case 132: return "sctp"
        default: return String(p)
        }
    }
}

enum HexText {
    static func word(_ v: Int) -> String {
        let h = String(v, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 4 - h.count)) + h
    }
    static func bytes(_ b: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(b.count * 2)
        for x in b { out.append(digits[Int(x >> 4)]); out.append(digits[Int(x & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }
}

/// A parsed DNS message: header, first question, answers.
struct DNSMessage {
    struct Answer {
        var type: Int
        var data: String
    }
    struct ParseError: Error { var text: String }

    var id: Int
    var isResponse: Bool
    var rcode: Int
    var questionName: [UInt8]?
    var questionType: Int?
    var answers: [Answer] = []

    static func parse(_ m: ByteView) -> Result<DNSMessage, ParseError> {
        guard m.count >= 12, let id = m.be16(0), let flags = m.be16(2), let qd = m.be16(4), let an = m.be16(6) else {
            return .failure(ParseError(text: "header truncated (\(m.count) bytes)"))
        }
        var msg = DNSMessage(id: id, isResponse: flags & 0x8000 != 0, rcode: flags & 0x000F)
        var o = 12
        for i in 0..<min(qd, 16) {
            guard let (name, next) = readName(m, o) else { return .failure(ParseError(text: "bad question name")) }
            guard let type = m.be16(next), m.be16(next + 2) != nil else { return .failure(ParseError(text: "question truncated")) }
            if i == 0 { msg.questionName = name; msg.questionType = type }
            o = next + 4
        }
        for _ in 0..<min(an, 256) {
            guard let (_, next) = readName(m, o) else { return .failure(ParseError(text: "bad answer name")) }
            guard let type = m.be16(next), let rdlen = m.be16(next + 8), let rdata = m.sub(next + 10, rdlen) else {
                return .failure(ParseError(text: "answer truncated"))
            }
            if let text = rdataText(m, type: type, rdata: rdata, at: next + 10) {
                msg.answers.append(Answer(type: type, data: text))
            }
            o = next + 10 + rdlen
        }
        return .success(msg)
    }

    static func rdataText(_ m: ByteView, type: Int, rdata: ByteView, at: Int) -> String? {
        switch type {
        case 1: return rdata.count == 4 ? NetText.ipv4(rdata.bytes(0, 4)!) : nil
        case 28: return rdata.count == 16 ? NetText.ipv6(rdata.bytes(0, 16)!) : nil
        case 2, 5, 12, 39: return readName(m, at).map { TextBytes.string($0.0) }
        case 15: return readName(m, at + 2).map { TextBytes.string($0.0) }
        case 33: return readName(m, at + 6).map { TextBytes.string($0.0) }
        case 6: return readName(m, at).map { TextBytes.string($0.0) }
        case 16, 99:
            var out: [UInt8] = []
            var o = 0
            while let len = rdata.u8(o), let s = rdata.bytes(o + 1, Int(len)) { out += s; o += 1 + Int(len) }
            return TextBytes.string(out)
        case 10:
            return HexText.bytes(rdata.bytes(0, rdata.count)!)
        default: return nil
        }
    }

    /// Reads a possibly compressed name; nil on loops, overlong names or truncation.
    static func readName(_ m: ByteView, _ start: Int) -> ([UInt8], Int)? {
        var out: [UInt8] = []
        var o = start
        var next: Int? = nil
        var jumps = 0
        while true {
            guard let len = m.u8(o) else { return nil }
            if len == 0 { o += 1; break }
            switch len & 0xC0 {
            case 0xC0:
                guard let lo = m.u8(o + 1) else { return nil }
                jumps += 1
                guard jumps <= 32 else { return nil }
                if next == nil { next = o + 2 }
                let target = Int(len & 0x3F) << 8 | Int(lo)
                guard target < m.count else { return nil }
                o = target
            case 0x00:
                guard let label = m.bytes(o + 1, Int(len)) else { return nil }
                if !out.isEmpty { out.append(0x2E) }
                out += label
                guard out.count <= 255 else { return nil }
                o += 1 + Int(len)
            default:
                return nil
            }
        }
        return (out, next ?? o)
    }

    static func typeName(_ t: Int) -> String {
        switch t {
        case 1: return "A"
        case 2: return "NS"
        case 5: return "CNAME"
        case 6: return "SOA"
        case 10: return "NULL"
        case 12: return "PTR"
        case 13: return "HINFO"
        case 15: return "MX"
        case 16: return "TXT"
        case 28: return "AAAA"
        case 33: return "SRV"
        case 35: return "NAPTR"
        case 39: return "DNAME"
        case 41: return "OPT"
        case 43: return "DS"
        case 46: return "RRSIG"
        case 47: return "NSEC"
        case 48: return "DNSKEY"
        case 64: return "SVCB"
        case 65: return "HTTPS"
        case 99: return "SPF"
        case 251: return "IXFR"
        case 252: return "AXFR"
        case 255: return "ANY"
        case 257: return "CAA"
        default: return "TYPE\(t)"
        }
    }

    static func rcodeName(_ r: Int) -> String {
        ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE"]
            .indices.contains(r) ? ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE"][r] : "RCODE\(r)"
    }
}
