import Foundation
import Synchronization

/// Bearer tokens (from a file and the environment) and UI sessions. Tokens are compared in
/// constant time; neither tokens nor session ids are ever logged.
public final class Authenticator: Sendable {
    /// What a token may do. Senders get `ingest` so a stolen collector token cannot read
    /// alerts or add exceptions (which would blind detection).
    public enum Scope: String, Sendable, Comparable {
        case ingest, analyst, admin
        public static func < (a: Scope, b: Scope) -> Bool { a.rank < b.rank }
        var rank: Int { self == .ingest ? 0 : self == .analyst ? 1 : 2 }
        /// Whether a token of this scope may do what `need` asks (admin may do everything).
        func allows(_ need: Scope) -> Bool { self == need || self == .admin }
    }
    public struct Identity: Sendable {
        public var name: String
        public var scope: Scope
    }
    struct Token: Sendable {
        var name: String
        var scope: Scope
        var secret: [UInt8]
    }
    private let tokens: [Token]
    private let sessions = Mutex<[String: (identity: Identity, expires: Int64)]>([:])
    let sessionSeconds: Int64
    static let maxSessions = 10_000

    public var tokenCount: Int { tokens.count }

    init(tokens: [(name: String, scope: Scope, secret: String)], sessionSeconds: Int64) {
        self.tokens = tokens.map { Token(name: $0.name, scope: $0.scope, secret: Array($0.secret.utf8)) }
        self.sessionSeconds = sessionSeconds
    }

    /// Lines `name:scope:token`, `name:token` (scope admin) or a bare token; `#` starts a
    /// comment. Scopes: ingest (POST /ingest only), analyst (the API, UI and metrics, and
    /// acknowledging or closing alerts), admin (also exceptions). Tokens shorter than 16 characters are refused: they can be guessed.
    static func parse(_ text: String, origin: String, separator: Character = "\n") throws -> [(name: String, scope: Scope, secret: String)] {
        var out: [(String, Scope, String)] = []
        for (i, raw) in text.split(separator: separator, omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let at = "\(origin):\(separator == "\n" ? i + 1 : 1)"
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            var name = "token-\(out.count + 1)", scope = Scope.admin, secret = line
            switch parts.count {
            case 2: (name, secret) = (parts[0], parts[1])
            case 3:
                guard let s = Scope(rawValue: parts[1]) else { throw ServeConfig.Problem("\(at): scope \(parts[1]) is not ingest, analyst or admin") }
                (name, scope, secret) = (parts[0], s, parts[2])
            default: break
            }
            guard secret.utf8.count >= 16 else {
                throw ServeConfig.Problem("\(at): token \(name) is shorter than 16 characters")
            }
            out.append((name, scope, secret))
        }
        return out
    }

    static func load(config: ServeConfig) throws -> Authenticator {
        var all: [(name: String, scope: Scope, secret: String)] = []
        if let f = config.tokensFile {
            guard let data = FileManager.default.contents(atPath: f) else { throw ServeConfig.Problem("\(f): cannot read the tokens file") }
            all += try parse(String(decoding: data, as: UTF8.self), origin: f)
        }
        if let env = config.envTokens { all += try parse(env, origin: "BULKHEAD_TOKENS", separator: ",") }
        guard !all.isEmpty else {
            throw ServeConfig.Problem("no tokens: give --tokens-file, auth.tokens_file or BULKHEAD_TOKENS (every endpoint needs one)")
        }
        return Authenticator(tokens: all, sessionSeconds: config.sessionSeconds)
    }

    /// The token equal to `presented`, checking every token in full so the time taken does
    /// not depend on where the bytes differ nor on which token matched.
    func identity(_ presented: some StringProtocol) -> Identity? {
        let p = Array(presented.utf8)
        var found: Identity?
        for t in tokens {
            var diff: UInt8 = p.count == t.secret.count ? 0 : 1
            for i in 0..<t.secret.count { diff |= t.secret[i] ^ (i < p.count ? p[i] : 0) }
            if diff == 0 { found = Identity(name: t.name, scope: t.scope) }
        }
        return found
    }

    func tokenName(_ presented: some StringProtocol) -> String? { identity(presented)?.name }

    // MARK: Sessions

    func newSession(for identity: Identity, now: Int64) -> (id: String, expires: Int64) {
        var bytes = [UInt8](repeating: 0, count: 32)
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }   // SystemRandomNumberGenerator: the OS CSPRNG
        let id = bytes.map { String(format: "%02x", $0) }.joined()
        let expires = now + sessionSeconds
        sessions.withLock { s in
            if s.count >= Self.maxSessions { s = s.filter { $0.value.expires > now } }
            if s.count >= Self.maxSessions, let oldest = s.min(by: { $0.value.expires < $1.value.expires }) { s[oldest.key] = nil }
            s[id] = (identity, expires)
        }
        return (id, expires)
    }

    func session(_ id: String, now: Int64) -> (identity: Identity, expires: Int64)? {
        sessions.withLock { s in
            guard let e = s[id] else { return nil }
            if e.expires <= now { s[id] = nil; return nil }
            return e
        }
    }

    func endSession(_ id: String) { _ = sessions.withLock { $0.removeValue(forKey: id) } }
}
