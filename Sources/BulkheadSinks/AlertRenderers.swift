import BulkheadEngine
import BulkheadEvent

/// Output formats for alerts.
public enum AlertFormat: String, Sendable, CaseIterable {
    case text, jsonl, ocsf
}

/// Renders alerts as bytes for a stream. Pure: the caller writes.
public struct AlertRenderer: Sendable {
    public var format: AlertFormat
    public var color: Bool
    /// Include the matching record in text output.
    public var showEvent: Bool
    /// Text output: every response step and the full containment artefacts under each alert.
    public var respond: Bool

    public init(format: AlertFormat, color: Bool = false, showEvent: Bool = false, respond: Bool = false) {
        self.format = format
        self.color = color
        self.showEvent = showEvent
        self.respond = respond
    }

    public func render(_ a: Alert) -> String {
        switch format {
        case .text: return text(a)
        case .jsonl:
            var out: [UInt8] = []
            AlertJSON.write(a, to: &out)
            return String(decoding: out, as: UTF8.self)
        case .ocsf: return JSONWriter.object(OCSF.detectionFinding(a)) + "\n"
        }
    }

    /// `render` appended to a byte buffer (JSON lines written without an intermediate string).
    public func render(_ a: Alert, to out: inout [UInt8]) {
        if format == .jsonl {
            AlertJSON.write(a, to: &out)
        } else {
            out.append(contentsOf: render(a).utf8)
        }
    }

    func paint(_ s: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }

    func levelTag(_ l: Level) -> String {
        let label = l.description.uppercased()
        let padded = label + String(repeating: " ", count: max(0, 13 - label.count))
        switch l {
        case .critical: return paint(padded, "1;97;41")
        case .high: return paint(padded, "1;31")
        case .medium: return paint(padded, "33")
        case .low: return paint(padded, "36")
        case .informational: return paint(padded, "2")
        }
    }

    /// The full response: numbered steps, then each artefact indented under its title.
    func responseText(_ a: Alert) -> String {
        var s = ""
        for (i, step) in a.responseSteps.enumerated() {
            s += "    \(paint(i == 0 ? "respond" : "       ", "2")) \(i + 1). \(Terminal.sanitize(step))\n"
        }
        for art in a.containment {
            s += "    \(paint("contain", art.kind == "warning" ? "1;33" : "2")) \(Terminal.sanitize(art.title)) (\(art.kind), not executed)\n"
            let body = art.text.hasSuffix("\n") ? String(art.text.dropLast()) : art.text
            for line in body.split(separator: "\n", omittingEmptySubsequences: false) {
                s += "        \(Terminal.sanitize(String(line)))\n"
            }
        }
        return s
    }

    func text(_ a: Alert) -> String {
        var s = "\(levelTag(a.rule.level)) \(paint(Terminal.sanitize(a.rule.title), "1"))"
        if !a.rule.techniques.isEmpty { s += "  [\(a.rule.techniques.joined(separator: ","))]" }
        s += "\n"
        let when = a.time.map { Timestamps.format(epochNanos: $0) } ?? "-"
        s += "    \(paint("time", "2"))    \(when)   \(paint("source", "2")) \(a.source) \(Terminal.sanitize(a.origin.description))\n"
        if !a.entity.isEmpty {
            let parts = Entity.fieldNames.compactMap { k in a.entity[k].map { "\(k)=\(Terminal.sanitize($0))" } }
            s += "    \(paint("entity", "2"))  \(parts.joined(separator: " "))\n"
        }
        s += "    \(paint("rule", "2"))    \(a.rule.id)\n"
        if respond {
            s += responseText(a)
        } else if !a.responseSteps.isEmpty || !a.containment.isEmpty {
            if let first = a.responseSteps.first { s += "    \(paint("respond", "2")) 1. \(Terminal.sanitize(first))\n" }
            var what: [String] = []
            if a.responseSteps.count > 1 { what.append("\(a.responseSteps.count) steps") }
            if !a.containment.isEmpty { what.append("\(a.containment.count) containment artefact\(a.containment.count == 1 ? "" : "s")") }
            if !what.isEmpty { s += "    \(paint("hint", "2"))    \(what.joined(separator: ", ")): rerun with --respond\n" }
        }
        if showEvent {
            s += "    \(paint("event", "2"))   \(Terminal.sanitize(String(a.event.prefix(600))))\n"
        }
        return s
    }
}

/// Strips terminal control sequences from attacker-controlled text before it reaches a TTY.
public enum Terminal {
    public static func sanitize(_ s: String) -> String {
        var out = ""
        out.unicodeScalars.reserveCapacity(s.unicodeScalars.count)
        for u in s.unicodeScalars {
            if u.value < 0x20 || u.value == 0x7F || (u.value >= 0x80 && u.value < 0xA0) {
                out.unicodeScalars.append(contentsOf: String(format: u).unicodeScalars)
            } else {
                out.unicodeScalars.append(u)
            }
        }
        return out
    }

    static func String(format u: Unicode.Scalar) -> Swift.String {
        switch u.value {
        case 0x0A: return "\\n"
        case 0x09: return "\\t"
        case 0x0D: return "\\r"
        default:
            let hex = Swift.String(u.value, radix: 16)
            return "\\x" + (hex.count < 2 ? "0" + hex : hex)
        }
    }
}

/// A tiny JSON value model for output (alerts are rare: clarity over speed here).
public indirect enum JSONValue: Sendable {
    case string(String), int(Int64), double(Double), bool(Bool), null
    case array([JSONValue])
    case object([(String, JSONValue)])
    /// Already-serialised JSON (the matching record), inserted verbatim.
    case raw(String)
}

public enum JSONWriter {
    public static func object(_ pairs: [(String, JSONValue)]) -> String {
        var out: [UInt8] = []
        write(.object(pairs), &out)
        return String(decoding: out, as: UTF8.self)
    }

    public static func write(_ v: JSONValue, _ out: inout [UInt8]) {
        switch v {
        case .string(let s): JSONString.appendQuoted(s, to: &out)
        case .int(let i): appendInteger(i, &out)
        case .double(let d): out.append(contentsOf: Array((d.isFinite ? String(d) : "null").utf8))
        case .bool(let b): out.append(contentsOf: Array((b ? "true" : "false").utf8))
        case .null: out.append(contentsOf: Array("null".utf8))
        case .raw(let r): appendRaw(r, &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, x) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                write(x, &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let pairs):
            out.append(UInt8(ascii: "{"))
            for (i, (k, x)) in pairs.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONString.appendQuoted(k, to: &out)
                out.append(UInt8(ascii: ":"))
                write(x, &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }
}

extension JSONWriter {
    /// Decimal digits of `i`, without making a string.
    static func appendInteger(_ i: Int64, _ out: inout [UInt8]) {
        if i < 0 { out.append(UInt8(ascii: "-")) }
        var v = i.magnitude
        var digits: (UInt64, Int) = (0, 0)
        repeat {
            digits.0 = digits.0 &* 10 &+ v % 10   // reversed, up to 19 digits fit
            digits.1 += 1
            v /= 10
        } while v > 0 && digits.1 < 19
        if v > 0 {
            out.append(contentsOf: String(i.magnitude).utf8)   // 20 digits: rare, the slow way
            return
        }
        var r = digits.0
        for _ in 0..<digits.1 {
            out.append(UInt8(48 + r % 10))
            r /= 10
        }
    }

    /// Already-serialised JSON. A pretty-printed source record has line breaks between tokens
    /// (never inside JSON strings): they become spaces so JSON-lines output stays one alert per
    /// line. Copied in bulk when there are none.
    static func appendRaw(_ r: String, _ out: inout [UInt8]) {
        var text = r
        text.withUTF8 { b in
            if !b.contains(where: { $0 == 0x0A || $0 == 0x0D }) {
                out.append(contentsOf: b)
            } else {
                for c in b { out.append(c == 0x0A || c == 0x0D ? 0x20 : c) }
            }
        }
    }
}

/// Bulkhead's own alert JSON (one object per line).
public enum AlertJSON {
    public static func fields(_ a: Alert) -> [(String, JSONValue)] {
        var entity: [(String, JSONValue)] = []
        for k in Entity.fieldNames { if let v = a.entity[k] { entity.append((k, .string(v))) } }
        return [
            ("rule", .object([
                ("id", .string(a.rule.id)), ("title", .string(a.rule.title)), ("level", .string(a.rule.level.description)),
                ("status", a.rule.status.map { .string($0) } ?? .null),
                ("tags", .array(a.rule.tags.map { .string($0) })),
                ("techniques", .array(a.rule.techniques.map { .string($0) })),
                ("tactics", .array(a.rule.tactics.map { .string($0) })),
            ])),
            ("time", a.time.map { .string(Timestamps.format(epochNanos: $0)) } ?? .null),
            ("source", .string(a.source)),
            ("origin", .object([("file", .string(a.origin.name)), ("line", .int(Int64(a.origin.line)))])),
            ("entity", .object(entity)),
            ("response", .array(a.responseSteps.map { .string($0) })),
            ("containment", .array(a.containment.map(AlertJSON.artefact))),
            ("event", .raw(a.event)),
        ]
    }
}

extension AlertJSON {
    /// `JSONWriter.object(fields(a))` and a newline, written directly: an alert-heavy scan
    /// spends its time here (a test checks the two agree byte for byte).
    public static func write(_ a: Alert, to out: inout [UInt8]) {
        func key(_ k: StaticString) {
            out.append(contentsOf: UnsafeBufferPointer(start: k.utf8Start, count: k.utf8CodeUnitCount))
        }
        func string(_ s: String) { JSONString.appendQuoted(s, to: &out) }
        func strings(_ xs: [String]) {
            out.append(UInt8(ascii: "["))
            for (i, x) in xs.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                string(x)
            }
            out.append(UInt8(ascii: "]"))
        }
        key(#"{"rule":{"id":"#); string(a.rule.id)
        key(#","title":"#); string(a.rule.title)
        key(#","level":"#); string(a.rule.level.description)
        key(#","status":"#)
        if let status = a.rule.status { string(status) } else { key("null") }
        key(#","tags":"#); strings(a.rule.tags)
        key(#","techniques":"#); strings(a.rule.techniques)
        key(#","tactics":"#); strings(a.rule.tactics)
        key(#"},"time":"#)
        if let t = a.time { string(Timestamps.format(epochNanos: t)) } else { key("null") }
        key(#","source":"#); string(a.source)
        key(#","origin":{"file":"#); string(a.origin.name)
        key(#","line":"#); JSONWriter.appendInteger(Int64(a.origin.line), &out)
        key(#"},"entity":{"#)
        var first = true
        for k in Entity.fieldNames {
            guard let v = a.entity[k] else { continue }
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            string(k)
            out.append(UInt8(ascii: ":"))
            string(v)
        }
        key(#"},"response":"#); strings(a.responseSteps)
        key(#","containment":["#)
        for (i, x) in a.containment.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            key(#"{"kind":"#); string(x.kind)
            key(#","title":"#); string(x.title)
            key(#","text":"#); string(x.text)
            out.append(UInt8(ascii: "}"))
        }
        key(#"],"event":"#)
        JSONWriter.appendRaw(a.event, &out)
        key("}\n")
    }

    public static func artefact(_ x: Artefact) -> JSONValue {
        .object([("kind", .string(x.kind)), ("title", .string(x.title)), ("text", .string(x.text))])
    }
}

/// OCSF 1.x Detection Finding (class_uid 2004).
public enum OCSF {
    static func severityID(_ l: Level) -> Int64 {
        switch l {
        case .informational: return 1
        case .low: return 2
        case .medium: return 3
        case .high: return 4
        case .critical: return 5
        }
    }

    public static func detectionFinding(_ a: Alert) -> [(String, JSONValue)] {
        let time = a.time.map { $0 / 1_000_000 } ?? 0
        let attacks: [JSONValue] = a.rule.techniques.map { t in
            var pairs: [(String, JSONValue)] = [("technique", .object([("uid", .string(t))]))]
            if let tactic = a.rule.tactics.first { pairs.append(("tactic", .object([("name", .string(tactic))]))) }
            pairs.append(("version", .string("18.1")))
            return .object(pairs)
        }
        var resources: [JSONValue] = []
        for (k, type) in [("pod", "Kubernetes Pod"), ("container_id", "Container"), ("image", "Container Image"), ("node", "Kubernetes Node"), ("cloud_instance", "Cloud Instance")] {
            if let v = a.entity[k] { resources.append(.object([("name", .string(v)), ("type", .string(type))])) }
        }
        var entity: [(String, JSONValue)] = []
        for k in Entity.fieldNames { if let v = a.entity[k] { entity.append((k, .string(v))) } }
        return [
            ("class_uid", .int(2004)), ("class_name", .string("Detection Finding")),
            ("category_uid", .int(2)), ("category_name", .string("Findings")),
            ("activity_id", .int(1)), ("activity_name", .string("Create")),
            ("type_uid", .int(200401)), ("type_name", .string("Detection Finding: Create")),
            ("severity_id", .int(severityID(a.rule.level))), ("severity", .string(a.rule.level.description.capitalized)),
            ("status_id", .int(1)), ("status", .string("New")),
            ("time", .int(time)),
            ("metadata", .object([
                ("version", .string("1.3.0")),
                ("product", .object([("name", .string("bulkhead")), ("vendor_name", .string("bulkhead"))])),
                ("log_name", .string(a.source)),
            ])),
            ("finding_info", .object([
                ("uid", .string("\(a.rule.id):\(a.origin.description)")),
                ("title", .string(a.rule.title)),
                ("desc", .string(a.rule.description ?? "")),
                ("analytic", .object([("uid", .string(a.rule.id)), ("name", .string(a.rule.title)), ("type_id", .int(1)), ("type", .string("Rule"))])),
                ("attacks", .array(attacks)),
                ("src_url", .string(a.origin.description)),
            ])),
            ("resources", .array(resources)),
            ("remediation", .object([("desc", .string(a.responseSteps.joined(separator: "\n")))])),
            ("unmapped", .object([("entity", .object(entity)), ("containment", .array(a.containment.map(AlertJSON.artefact)))])),
            ("raw_data", .string(a.event)),
        ]
    }
}

extension String {
    var capitalized: String { prefix(1).uppercased() + dropFirst() }
}

// MARK: Incidents

extension AlertRenderer {
    /// An incident: a header, its entities, and a timeline across sources (text); one
    /// `"type":"incident"` object per line (jsonl); an OCSF Incident Finding (class 2005).
    public func render(_ i: Incident) -> String {
        switch format {
        case .text: return incidentText(i)
        case .jsonl: return JSONWriter.object(IncidentJSON.fields(i)) + "\n"
        case .ocsf: return JSONWriter.object(IncidentJSON.ocsf(i)) + "\n"
        }
    }

    func incidentText(_ i: Incident) -> String {
        func clock(_ t: Int64?) -> String { t.map { Timestamps.format(epochNanos: $0) } ?? "-" }
        var s = "\(paint("INCIDENT", "1;7")) \(paint(i.id, "1"))  \(levelTag(i.level))\(clock(i.first)) → \(clock(i.last))"
        s += "  \(i.alerts) alert\(i.alerts == 1 ? "" : "s"), \(i.sources.count) source\(i.sources.count == 1 ? "" : "s") (\(i.sources.joined(separator: ", ")))\n"
        if !i.entities.isEmpty {
            let parts = i.entities.map { "\($0.field)=\($0.values.map(Terminal.sanitize).joined(separator: ","))" }
            s += "    \(paint("entities", "2")) \(parts.joined(separator: " "))\n"
        }
        if !i.links.isEmpty { s += "    \(paint("linked", "2"))   \(i.links.map(Terminal.sanitize).joined(separator: " "))\n" }
        for e in i.timeline {
            let when = e.time.map { String(Timestamps.format(epochNanos: $0).dropFirst(11)) } ?? "-"
            let lvl = e.level.description.uppercased()
            s += "    \(paint(when, "2"))  \(lvl + String(repeating: " ", count: max(0, 9 - lvl.count)))"
            s += "\(e.source + String(repeating: " ", count: max(0, 12 - e.source.count))) \(Terminal.sanitize(e.title))"
            s += "  \(paint(Terminal.sanitize(e.entity) + " " + Terminal.sanitize(e.origin.description), "2"))\n"
        }
        if i.omitted > 0 { s += "    … \(i.omitted) more alerts not listed\n" }
        return s
    }
}

public enum IncidentJSON {
    static func time(_ t: Int64?) -> JSONValue { t.map { .string(Timestamps.format(epochNanos: $0)) } ?? .null }

    static func timeline(_ i: Incident) -> JSONValue {
        .array(i.timeline.map { e in
            .object([
                ("time", time(e.time)), ("source", .string(e.source)),
                ("rule", .object([("id", .string(e.ruleID)), ("title", .string(e.title))])),
                ("level", .string(e.level.description)), ("entity", .string(e.entity)),
                ("origin", .object([("file", .string(e.origin.name)), ("line", .int(Int64(e.origin.line)))])),
            ])
        })
    }

    public static func fields(_ i: Incident) -> [(String, JSONValue)] {
        [
            ("type", .string("incident")), ("id", .string(i.id)), ("level", .string(i.level.description)),
            ("first", time(i.first)), ("last", time(i.last)), ("alerts", .int(Int64(i.alerts))),
            ("sources", .array(i.sources.map { .string($0) })),
            ("entities", .object(i.entities.map { ($0.field, .array($0.values.map { .string($0) })) })),
            ("links", .array(i.links.map { .string($0) })),
            ("timeline", timeline(i)), ("omitted", .int(Int64(i.omitted))),
        ]
    }

    /// OCSF 1.x Incident Finding (class_uid 2005), minimal.
    public static func ocsf(_ i: Incident) -> [(String, JSONValue)] {
        [
            ("class_uid", .int(2005)), ("class_name", .string("Incident Finding")),
            ("category_uid", .int(2)), ("category_name", .string("Findings")),
            ("activity_id", .int(1)), ("activity_name", .string("Create")), ("type_uid", .int(200501)),
            ("severity_id", .int(OCSF.severityID(i.level))), ("severity", .string(i.level.description.capitalized)),
            ("status_id", .int(1)), ("status", .string("New")),
            ("time", .int((i.last ?? 0) / 1_000_000)),
            ("start_time", .int((i.first ?? 0) / 1_000_000)), ("end_time", .int((i.last ?? 0) / 1_000_000)),
            ("metadata", .object([("version", .string("1.3.0")), ("product", .object([("name", .string("bulkhead")), ("vendor_name", .string("bulkhead"))]))])),
            ("finding_info_list", .array(i.timeline.map { e in
                .object([("uid", .string("\(e.ruleID):\(e.origin.description)")), ("title", .string(e.title)),
                         ("analytic", .object([("uid", .string(e.ruleID)), ("name", .string(e.title)), ("type_id", .int(1)), ("type", .string("Rule"))]))])
            })),
            ("unmapped", .object(fields(i))),
        ]
    }
}
