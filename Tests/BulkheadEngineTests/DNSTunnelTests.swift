import BulkheadEngine
import BulkheadEvent
import BulkheadRules
import BulkheadScan
import BulkheadSources
import Foundation
import Testing

/// The bundled list, so results do not depend on the machine's `publicsuffix` package.
private let psl = PublicSuffixList.bundled

@Suite struct DNSPublicSuffixTests {
    @Test func bundledListLoads() {
        #expect(psl.origin == "bundled")
        #expect(psl.ruleCount > 5000)
        #expect(PublicSuffixList.shared.ruleCount > 5000)
    }

    @Test func ordinaryAndMultiLabelSuffixes() {
        #expect(psl.registeredDomain("www.example.com") == "example.com")
        #expect(psl.registeredDomain("a.b.example.co.uk") == "example.co.uk")
        #expect(psl.publicSuffix("a.b.example.co.uk") == "co.uk")
        #expect(psl.registeredDomain("co.uk") == nil)
        #expect(psl.registeredDomain("com") == nil)
        #expect(psl.registeredDomain("WWW.Example.COM.") == "example.com")
        #expect(psl.registeredDomain("") == nil)
    }

    @Test func wildcardAndException() {
        // *.ck and !www.ck (from the list's own test file).
        #expect(psl.registeredDomain("test.ck") == nil)
        #expect(psl.registeredDomain("b.test.ck") == "b.test.ck")
        #expect(psl.registeredDomain("a.b.test.ck") == "b.test.ck")
        #expect(psl.registeredDomain("www.ck") == "www.ck")
        #expect(psl.registeredDomain("www.www.ck") == "www.ck")
        #expect(psl.registeredDomain("a.b.c.kobe.jp") == "b.c.kobe.jp")
        #expect(psl.registeredDomain("www.city.kobe.jp") == "city.kobe.jp")
    }

    @Test func privateSection() {
        #expect(psl.registeredDomain("attacker.github.io") == "attacker.github.io")
        #expect(psl.registeredDomain("x.y.attacker.github.io") == "attacker.github.io")
        #expect(psl.registeredDomain("d3c33hcgiwev3.cloudfront.net") == "d3c33hcgiwev3.cloudfront.net")
        #expect(psl.registeredDomain("ec2-1-2-3-4.eu-west-1.compute.amazonaws.com") == "ec2-1-2-3-4.eu-west-1.compute.amazonaws.com")
    }

    @Test func unknownTLDFallsUnderTheImplicitRule() {
        #expect(psl.registeredDomain("a.b.example.example") == "example.example")
        #expect(psl.registeredDomain("api.default.svc.cluster.local") == "cluster.local")
        #expect(psl.publicSuffix("foo.unknowntld") == "unknowntld")
    }

    @Test func idnLabelsAsUnicodeAndPunycode() {
        #expect(psl.registeredDomain("www.食狮.公司.cn") == "食狮.公司.cn")
        #expect(psl.registeredDomain("www.xn--85x722f.xn--55qx5d.cn") == "xn--85x722f.xn--55qx5d.cn")
        #expect(psl.registeredDomain("xn--55qx5d.cn") == nil)
        #expect(psl.registeredDomain("shishi.xn--fiqs8s") == "shishi.xn--fiqs8s")
    }

    @Test func listFromText() {
        let small = PublicSuffixList(text: "// comment\ncom\n*.ck\n!www.ck\nco.uk\n")
        #expect(small.ruleCount == 4)
        #expect(small.registeredDomain("a.b.c.ck") == "b.c.ck")
        #expect(small.registeredDomain("x.www.ck") == "www.ck")
    }
}

@Suite struct DNSFeatureTests {
    @Test func entropy() {
        #expect(DNSFeatures.entropy("aaaa") == 0)
        #expect(abs(DNSFeatures.entropy("abcd") - 2) < 1e-9)
        #expect(abs(DNSFeatures.entropy("0123456789abcdef") - 4) < 1e-9)
        #expect(DNSFeatures.entropy("") == 0)
    }

    @Test func encodingLikelihood() {
        func c(_ s: String) -> DNSEncoding? { DNSFeatures.classify(Array(s.utf8)) }
        #expect(c("4b5a01f3e2c9d8a7b6") == .hex)
        #expect(c("4B5A01F3E2C9D8A7B6") == .hex)
        #expect(c("mzxw6ytboi2dsnzq") == .base32)            // RFC 4648 base32, lowercased
        #expect(c("0yhdienpjygb3cpvgmfk1") == .base32)       // iodine-like, one case
        #expect(c("cm9vdDp4OjA6MDpyb290") == .base64)
        #expect(c("k314E-Ro-Q") == .base64)                  // base64url chunk (dns2tcp-like)
        #expect(c("aGVsbG8_d29ybGQ") == .base64)
        // Words, hostnames and short labels are not encoded.
        #expect(c("download") == nil)
        #expect(c("storefront") == nil)
        #expect(c("ip-10-0-1-23") == nil)
        #expect(c("us-east-1") == nil)
        #expect(c("abc123") == nil)
        #expect(c("e9659") == nil)
        #expect(c("Microsoft") == nil)
        #expect(c("deadbeef") == nil)                       // 8 hex letters, no digits
    }

    @Test func subdomainFeatures() {
        let f = DNSFeatures.extract(query: "4b5a01f3e2c9d8a7b6.c2.exfil-example.net.", registeredDomain: "exfil-example.net")
        #expect(f.subdomain == "4b5a01f3e2c9d8a7b6.c2")
        #expect(f.labels == 2)
        #expect(f.longestLabel == 18)
        #expect(f.encoding == .hex)
        #expect(f.encodedBytes == 18)
        let apex = DNSFeatures.extract(query: "example.com", registeredDomain: "example.com")
        #expect(apex.subdomain.isEmpty && apex.labels == 0 && apex.encoding == nil)
    }

    @Test func dns0x20CaseIsNotBase64() {
        // A resolver randomised the case of the whole name: case carries no data.
        let f = DNSFeatures.extract(query: "wWw.StoReFrOnTapi.ExAmPlE.cOm", registeredDomain: "example.com")
        #expect(f.subdomain == "www.storefrontapi")
        #expect(f.encoding == nil)
        let g = DNSFeatures.extract(query: "cm9vdDp4OjA6MDpyb290.x.example.com", registeredDomain: "example.com")
        #expect(g.encoding == .base64)
    }

    @Test func recordTypes() {
        for t in ["TXT", "NULL", "CNAME", "MX", "KEY", "txt", "65399", "TYPE65399"] { #expect(DNSFeatures.isTunnelRecordType(t), "\(t)") }
        for t in ["A", "AAAA", "SRV", "PTR", "HTTPS", ""] { #expect(!DNSFeatures.isTunnelRecordType(t), "\(t)") }
        #expect(!DNSFeatures.isTunnelRecordType(nil))
    }
}

/// Query sequences shaped like tunnelling tools and like benign high-volume clients.
enum DNSShapes {
    struct Rng {
        var state: UInt64
        mutating func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 11 }
        mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func string(_ alphabet: String, _ n: Int) -> String {
            let a = Array(alphabet)
            return String((0..<n).map { _ in a[int(a.count)] })
        }
        mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: next()) } }
    }

    static func split(_ s: String, _ size: Int) -> String {
        var out: [String] = [], rest = Substring(s)
        while !rest.isEmpty { out.append(String(rest.prefix(size))); rest = rest.dropFirst(size) }
        return out.joined(separator: ".")
    }

    static func dnscat2(_ n: Int) -> [(String, String)] {
        var r = Rng(state: 1)
        return (0..<n).map { i in
            let hex = r.bytes(60 + r.int(50)).map { String(format: "%02x", $0) }.joined()
            return (split(hex, 63) + ".c2.exfil-example.net", ["TXT", "CNAME", "MX"][i % 3])
        }
    }

    static func dns2tcp(_ n: Int) -> [(String, String)] {
        var r = Rng(state: 2)
        return (0..<n).map { _ in
            let chunk = Data(r.bytes(7 + r.int(5))).base64EncodedString().replacingOccurrences(of: "=", with: "")
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            return ("\(chunk).ssh.t.exfil-example.org", "KEY")
        }
    }

    static func iodine(_ n: Int) -> [(String, String)] {
        var r = Rng(state: 3)
        let alphabet = "abcdefghijklmnopqrstuvwxyz012345"
        return (0..<n).map { i in
            if i % 3 == 2 { return ("p" + r.string(alphabet, 7) + ".t1.exfil-example.net", "NULL") }
            return ("0" + split(r.string(alphabet, 90 + r.int(25)), 57) + ".t1.exfil-example.net", "NULL")
        }
    }

    static func cdn(_ n: Int) -> [(String, String)] {
        var r = Rng(state: 4)
        let names = ["e9659.dscb.akamaiedge.net", "static.cdn.example-shop.com", "img.cdn.example-shop.com", "fonts.gstatic.com",
                     "ajax.googleapis.com", "cdn.jsdelivr.net", "dualstack.j.sni.global.fastly.net"]
        return (0..<n).map { _ in (names[r.int(names.count)], r.int(2) == 0 ? "A" : "AAAA") }
    }

    static func cloud(_ n: Int) -> [(String, String)] {
        var r = Rng(state: 5)
        let names = ["sts.amazonaws.com", "sts.eu-west-1.amazonaws.com", "dynamodb.eu-west-1.amazonaws.com", "sqs.eu-west-1.amazonaws.com",
                     "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d.gr7.eu-west-1.eks.amazonaws.com", "storage.googleapis.com",
                     "login.microsoftonline.com", "management.azure.com", "prodeu1.blob.core.windows.net"]
        return (0..<n).map { _ in (names[r.int(names.count)], "A") }
    }

    static func clusterLocal(_ n: Int) -> [(String, String)] {
        var r = Rng(state: 6)
        return (0..<n).map { i in
            switch i % 3 {
            case 0: return ("\(["api", "db", "cache"][r.int(3)]).payments.svc.cluster.local", "A")
            case 1: return ("10-244-\(r.int(9))-\(r.int(250)).payments.pod.cluster.local", "A")
            default: return ("\(r.string("0123456789abcdef", 12))-0.kafka-headless.payments.svc.cluster.local", "SRV")
            }
        }
    }
}

@Suite struct DNSTunnelScoringTests {
    static let info: RuleInfo = RuleSet(documents: RuleLoader().load(yaml: """
        title: t
        id: 6b7f0c1e-0000-4000-8000-000000000000
        logsource: {category: dns}
        detection: {selection: {query|contains: '.'}, condition: selection}
        level: high
        """, file: "t.yml").documents).rules[0]

    /// Feeds a sequence one query a second; returns the first finding and the final score.
    static func run(_ seq: [(String, String)], _ p: DNSTunnelParameters = .init()) -> (DNSTunnelAnalytic.Finding?, Double, DNSTunnelAnalytic) {
        let a = DNSTunnelAnalytic(rule: info, parameters: p, psl: psl)
        var first: DNSTunnelAnalytic.Finding?
        for (i, (q, t)) in seq.enumerated() {
            if let f = a.observe(query: q, recordType: t, source: "pod payments/api", time: Int64(i) * 1_000_000_000), first == nil { first = f }
        }
        let top = a.scores().map { $0.score }.max() ?? 0
        return (first, top, a)
    }

    @Test(arguments: ["dnscat2", "dns2tcp", "iodine"])
    func tunnelShapesFire(_ tool: String) throws {
        let seq = tool == "dnscat2" ? DNSShapes.dnscat2(60) : tool == "dns2tcp" ? DNSShapes.dns2tcp(60) : DNSShapes.iodine(60)
        let (finding, top, _) = Self.run(seq)
        let f = try #require(finding, "\(tool) did not fire (top score \(top))")
        #expect(f.score >= 60)
        #expect(f.queries >= 20 && f.queries <= 40, "\(tool) needed \(f.queries) queries")
        #expect(top >= 70, "\(tool) final score \(top)")
    }

    @Test(arguments: ["cdn", "cloud", "cluster"])
    func benignHighVolumeStaysQuietByScore(_ shape: String) {
        let seq = shape == "cdn" ? DNSShapes.cdn(500) : shape == "cloud" ? DNSShapes.cloud(500) : DNSShapes.clusterLocal(500)
        // Without any allowlist: the score alone keeps them below the threshold.
        var p = DNSTunnelParameters()
        p.allowlist = []
        let (finding, top, _) = Self.run(seq, p)
        #expect(finding == nil, "\(shape) fired")
        #expect(top < 40, "\(shape) scored \(top)")
    }

    @Test func clusterLocalIsAllowlistedByDefault() {
        let (finding, _, a) = Self.run(DNSShapes.clusterLocal(100))
        #expect(finding == nil)
        #expect(a.stats.allowlisted == 100)
        #expect(a.isAllowlisted("x.svc.cluster.local."))
        #expect(!a.isAllowlisted("evilcluster.local.example.com"))
    }

    @Test func configuredAllowlistSilencesATunnelDomain() throws {
        let rule = """
            title: t
            id: 6b7f0c1e-0000-4000-8000-000000000001
            logsource: {category: dns}
            detection: {selection: {query|contains: '.'}, condition: selection}
            level: high
            x-bulkhead-analytic: dns_tunnel
            x-bulkhead-parameters: {threshold: 50, min_queries: 10, window: 5m, allowlist: [exfil-example.net, b.example]}
            """
        let loaded = RuleLoader().load(yaml: rule, file: "t.yml")
        let set = RuleSet(documents: loaded.documents)
        #expect(set.diagnostics.isEmpty, "\(set.diagnostics)")
        let spec = try #require(set.analytics.first)
        let p = try DNSTunnelParameters(extensions: spec.extensions)
        #expect(p.threshold == 50 && p.minQueries == 10 && p.window == 300_000_000_000)
        #expect(p.allowlist.contains("exfil-example.net") && p.allowlist.contains("cluster.local"))
        let (finding, _, _) = Self.run(DNSShapes.dnscat2(60), p)
        #expect(finding == nil)
    }

    @Test func badParametersAreDiagnosed() {
        let rule = """
            title: t
            id: 6b7f0c1e-0000-4000-8000-000000000002
            logsource: {category: dns}
            detection: {selection: {query|contains: '.'}, condition: selection}
            x-bulkhead-analytic: dns_tunnel
            x-bulkhead-parameters: {threshold: high, colour: red}
            """
        let set = RuleSet(documents: RuleLoader().load(yaml: rule, file: "t.yml").documents)
        #expect(set.diagnostics.contains { $0.message.contains("x-bulkhead-parameters") })
    }

    @Test func minimumQueriesAndOncePerWindow() throws {
        var p = DNSTunnelParameters()
        p.window = 60 * 1_000_000_000
        let a = DNSTunnelAnalytic(rule: Self.info, parameters: p, psl: psl)
        let seq = DNSShapes.dnscat2(200)
        var alerts: [Int] = []
        for (i, (q, t)) in seq.enumerated() {
            // 200 queries, one every 0.5 s: 100 s, two windows of 60 s.
            if a.observe(query: q, recordType: t, source: "ip 10.0.0.5", time: Int64(i) * 500_000_000) != nil { alerts.append(i) }
        }
        #expect(alerts.count == 2, "\(alerts)")
        #expect(alerts.allSatisfy { $0 >= 19 })
        #expect(a.stats.windowsClosed == 1)
    }

    @Test func keysAreBoundedWithLRUAndExpiry() {
        var p = DNSTunnelParameters()
        p.maxKeys = 16
        p.window = 10 * 1_000_000_000
        let a = DNSTunnelAnalytic(rule: Self.info, parameters: p, psl: psl)
        // 100 sources at the same time: LRU eviction.
        for i in 0..<100 { _ = a.observe(query: "x\(i).example.com", recordType: "A", source: "ip 10.0.0.\(i)", time: 0) }
        #expect(a.stats.keys <= 16)
        #expect(a.stats.peakKeys <= 16)
        #expect(a.stats.evictedLRU >= 84)
        // Much later: the old keys expired and go first.
        for i in 0..<16 { _ = a.observe(query: "y\(i).example.org", recordType: "A", source: "ip 10.1.0.\(i)", time: 100_000_000_000) }
        #expect(a.stats.evictedExpired > 0)
        #expect(a.scores().count <= 16)
    }

    @Test func distinctSubdomainsAreCapped() {
        var p = DNSTunnelParameters()
        p.maxSubdomains = 16
        p.minQueries = 1000
        let a = DNSTunnelAnalytic(rule: Self.info, parameters: p, psl: psl)
        for (i, (q, t)) in DNSShapes.dnscat2(100).enumerated() { _ = a.observe(query: q, recordType: t, source: "s", time: Int64(i)) }
        let s = a.currentScore(source: "s", domain: "exfil-example.net")
        let unique = s?.features.first { $0.name == "unique_subdomains" }
        #expect(unique?.value == 16)
        #expect(unique?.detail.contains("16+") == true)
    }

    @Test func explanationCarriesFeaturesThatSumToTheScore() throws {
        let (finding, _, _) = Self.run(DNSShapes.dns2tcp(40))
        let f = try #require(finding)
        #expect(Set(f.features.map(\.name)) == Set(DNSTunnelParameters.defaultWeights.keys))
        let sum = f.features.reduce(0) { $0 + $1.contribution }
        #expect(abs(sum - f.score) < 0.1)
        #expect(f.features.allSatisfy { !$0.detail.isEmpty && $0.normalized >= 0 && $0.normalized <= 1 })
        #expect(f.recordTypes["KEY"] == f.queries)
        #expect((f.encodings["base64"] ?? 0) > 0)
        let json = DNSTunnelAnalytic.explanationJSON(f, threshold: 60, window: 600_000_000_000, entity: Entity(values: ["pod": "api", "namespace": "payments"]))
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(obj["registered_domain"] as? String == "exfil-example.org")
        #expect((obj["why"] as? String)?.contains("encoding +") == true)
        let features = try #require(obj["features"] as? [[String: Any]])
        #expect(features.count == 7)
        #expect(features.first?["contribution"] as? Double ?? 0 >= features.last?["contribution"] as? Double ?? 0)
        #expect((obj["entity"] as? [String: String])?["pod"] == "api")
    }
}

/// The analytic through the engine and scan pipeline, with the pack's rule.
@Suite struct DNSTunnelPipelineTests {
    static let root: String = {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) { return dir.path }
            dir = dir.deletingLastPathComponent()
        }
        return "."
    }()
    static let rulePath = root + "/Detections/dns/exfiltration_dns_tunnel_analytic/rule.yml"
    static let corpus = root + "/../shared/corpus/dns-tunnel-datasets-graphtunnel"

    static func scan(_ paths: [String]) -> (alerts: [Alert], engine: Engine, stats: ScanStats) {
        let loaded = RuleFiles.load([rulePath])
        let engine = Engine(ruleSet: RuleSet(documents: loaded.documents))
        var alerts: [Alert] = []
        let p = ScanPipeline(engine: engine, onAlert: { alerts.append($0) }, onProblem: { _ in })
        p.scan(paths: paths)
        return (alerts, engine, p.stats)
    }

    static func temp(_ name: String, _ lines: [String]) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bulkhead-dns-\(ProcessInfo.processInfo.processIdentifier)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent(name).path
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func packRuleDrivesTheAnalytic() throws {
        let loaded = RuleFiles.load([Self.rulePath])
        let set = RuleSet(documents: loaded.documents)
        #expect(loaded.diagnostics.isEmpty && set.diagnostics.isEmpty, "\(loaded.diagnostics + set.diagnostics)")
        let spec = try #require(set.analytics.first)
        #expect(spec.kind == "dns_tunnel")
        #expect(Engine(ruleSet: set).dnsTunnelAnalytics.count == 1)
    }

    @Test func dnsJSONLinesQueriesFireResponsesAreNotCounted() throws {
        // tshark-style flat DNS JSON: queries and responses as separate records.
        var lines: [String] = []
        for (i, (q, _)) in DNSShapes.dns2tcp(30).enumerated() {
            let ts = 1795450400.0 + Double(i)
            lines.append(#"{"ts": \#(ts), "src_ip": "10.244.3.22", "src_port": 40000, "dst_ip": "10.96.0.10", "dst_port": 53, "transport": "udp", "dns_id": "0x\#(String(i, radix: 16))", "is_response": false, "qname": "\#(q)", "qtype": 25, "rcode": null, "answers": []}"#)
            lines.append(#"{"ts": \#(ts + 0.01), "src_ip": "10.96.0.10", "src_port": 53, "dst_ip": "10.244.3.22", "dst_port": 40000, "transport": "udp", "dns_id": "0x\#(String(i, radix: 16))", "is_response": true, "qname": "\#(q)", "qtype": 25, "rcode": 0, "answers": []}"#)
        }
        let (alerts, engine, _) = Self.scan([try Self.temp("dns2tcp.jsonl", lines)])
        let a = try #require(alerts.first)
        #expect(alerts.count == 1)
        #expect(a.rule.title == "DNS tunnelling to exfil-example.org")
        #expect(a.rule.level == .high)
        #expect(a.rule.tags.contains("attack.t1572") && a.rule.tags.contains("attack.t1048.003"))
        #expect(a.entity["source_ip"] == "10.244.3.22")
        #expect(engine.dnsTunnelAnalytics[0].stats.queries == 30)
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(a.event.utf8)) as? [String: Any])
        #expect(obj["source"] as? String == "ip 10.244.3.22")
        #expect((obj["queries"] as? Int ?? 0) >= 20)
    }

    @Test func podEntityIsTheKeyWhenKnown() throws {
        // CoreDNS inside container-log JSON carries no client pod; Hubble does.
        var lines: [String] = []
        for (i, (q, _)) in DNSShapes.dnscat2(30).enumerated() {
            lines.append(#"{"flow":{"time":"2026-11-23T16:23:\#(String(format: "%02d", i)).350Z","verdict":"FORWARDED","IP":{"source":"10.244.2.31","destination":"10.96.0.10","ipVersion":"IPv4"},"l4":{"UDP":{"source_port":45529,"destination_port":53}},"source":{"namespace":"payments","pod_name":"payments-api-5f6c7d9b8-kq4zt"},"destination":{"namespace":"kube-system","pod_name":"coredns-5d78c9869d-abcde"},"Type":"L7","l7":{"type":"REQUEST","dns":{"query":"\#(q).","qtypes":["TXT"]}},"is_reply":false,"traffic_direction":"EGRESS"},"node_name":"node-1","time":"2026-11-23T16:23:\#(String(format: "%02d", i)).350Z"}"#)
        }
        let (alerts, _, stats) = Self.scan([try Self.temp("hubble.jsonl", lines)])
        #expect(stats.recordsBySource["hubble"] == 30)
        let a = try #require(alerts.first)
        #expect(a.entity["pod"] == "payments-api-5f6c7d9b8-kq4zt")
        #expect(a.event.contains(#""source":"pod payments/payments-api-5f6c7d9b8-kq4zt""#))
    }

    /// The acceptance check on the real capture (skipped when ../shared is absent).
    @Test func realIodineCaptureFiresBenignCaptureStaysQuiet() throws {
        let iodine = ["/crossEndPoint/AndIodine-MX/AndIodine-MX_00001_20230921200640.pcap", "/derived/AndIodine-MX_00001_20230921200640.dns.jsonl"]
        let benign = ["/normal/normal/normal_00067_20230806152800.pcap", "/derived/normal_00067_20230806152800.dns.jsonl"]
        guard FileManager.default.fileExists(atPath: Self.corpus + iodine[0]) else {
            print("DNS tunnel corpus absent (\(Self.corpus)): skipped")
            return
        }
        for f in iodine {
            let (alerts, engine, _) = Self.scan([Self.corpus + f])
            #expect(alerts.count == 1, "\(f)")
            let a = try #require(alerts.first)
            let obj = try #require(try JSONSerialization.jsonObject(with: Data(a.event.utf8)) as? [String: Any])
            #expect(obj["registered_domain"] as? String == "ggy666.tk")
            let final = engine.dnsTunnelAnalytics[0].scores().max { $0.score < $1.score }
            print("iodine \(f): fired after \(obj["queries"] ?? "?") queries, score \(obj["score"] ?? "?"); end of capture: \(final.map { "\($0.queries) queries, score \($0.score)" } ?? "-")")
        }
        for f in benign {
            let (alerts, engine, _) = Self.scan([Self.corpus + f])
            #expect(alerts.isEmpty, "\(f)")
            let scores = engine.dnsTunnelAnalytics[0].scores()
            let sorted = scores.map(\.score).sorted()
            let top = scores.sorted { $0.score > $1.score }.prefix(3).map { "\($0.domain) \($0.queries)q \($0.score)" }
            print("benign \(f): \(scores.count) keys, max queries per key \(scores.map(\.queries).max() ?? 0), score median \(sorted[sorted.count / 2]), p99 \(sorted[min(sorted.count - 1, sorted.count * 99 / 100)]), max \(sorted.last ?? 0); top: \(top)")
        }
    }
}
