import BulkheadEngine
import Crypto

/// Deterministic alert ids: the same rule firing on the same evidence gives the same id in
/// every worker and every replay, so a redelivered record's alert is recognised as a duplicate
/// (JetStream's `Nats-Msg-Id` window first, then the id downstream).
public enum AlertIdentity {
    /// SHA-256 over the rule id, the source and the alert's evidence, as 64 hex digits. The
    /// evidence is the record's bytes for a record alert and for a baseline (whose explanation
    /// also says how the partition learned, which is not what makes it this alert), the window
    /// summary for a correlation, the finding for the DNS analytic. Identical records are one
    /// piece of evidence: a sender's retry of a record does not make a second alert.
    public static func id(_ a: Alert) -> String { id(ruleID: a.rule.id, source: a.source, event: a.event) }

    public static func id(ruleID: String, source: String, event: String) -> String {
        var h = SHA256()
        for part in [ruleID, source, evidence(event)] {
            h.update(data: Array(part.utf8))
            h.update(data: [0])
        }
        return hex(h.finalize())
    }

    /// The record a baseline's explanation carries (`{"analytic":...,"record":{...}}`), else the
    /// whole event.
    static func evidence(_ event: String) -> String {
        guard event.hasPrefix("{\"analytic\":"), let record = JSONMember.raw("record", in: event) else { return event }
        return record
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in digest {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// SHA-256 of bytes as hex (record message ids, checkpoint digests).
    public static func sha256(_ bytes: [UInt8]) -> String { hex(SHA256.hash(data: bytes)) }
}
