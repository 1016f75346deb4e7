import BulkheadEngine
import Crypto

/// Deterministic alert ids: the same rule firing on the same evidence gives the same id in
/// every worker and every replay, so a redelivered record's alert is recognised as a duplicate
/// (JetStream's `Nats-Msg-Id` window first, then the id downstream).
public enum AlertIdentity {
    /// SHA-256 over the rule id, the source and the alert's evidence (`event`: the record's
    /// bytes for a record alert, the explanation with the record for a baseline, the window
    /// summary for a correlation), as 64 hex digits. Identical records are one piece of evidence:
    /// a sender's retry of a record does not make a second alert.
    public static func id(_ a: Alert) -> String { id(ruleID: a.rule.id, source: a.source, event: a.event) }

    public static func id(ruleID: String, source: String, event: String) -> String {
        var h = SHA256()
        for part in [ruleID, source, event] {
            h.update(data: Array(part.utf8))
            h.update(data: [0])
        }
        return hex(h.finalize())
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
