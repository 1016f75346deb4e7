import Foundation
import Synchronization

/// Bearer tokens (from a file and the environment) and UI sessions. Tokens are compared in
/// constant time; neither tokens nor session ids are ever logged.
public final class Authenticator: Sendable {
    struct Token: Sendable {
        var name: String
        var secret: [UInt8]
    }
    private let tokens: [Token]
    private let sessions = Mutex<[String: (name: String, expires: Int64)]>([:])
    let sessionSeconds: Int64
    static let maxSessions = 10_000

    public var tokenCount: Int { tokens.count }

    init(tokens: [(name: String, secret: String)], sessionSeconds: Int64) {
        self.tokens = tokens.map { Token(name: $0.name, secret: Array($0.secret.utf8)) }
        self.sessionSeconds = sessionSeconds
    }

    /// Lines `name:token` or a bare token; `#` starts a comment. Tokens shorter than 16
    /// characters are refused: they can be guessed.
    static func parse(_ text: String, origin: String, separator: Character = "\n") throws -> [(name: String, secret: String)] {
        var out: [(String, String)] = []
        for (i, raw) in text.split(separator: separator, omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            var name = "token-\(out.count + 1)", secret = line
            if let colon = line.firstIndex(of: ":") {
                name = String(line[..<colon]).trimmingCharacters(in: .whitespaces)
                secret = String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
            }
            guard secret.utf8.count >= 16 else {
                throw ServeConfig.Problem("\(origin):\(separator == "\n" ? i + 1 : 1): token \(name) is shorter than 16 characters")
            }
            out.append((name, secret))
        }
        return out
    }

    static func load(config: ServeConfig) throws -> Authenticator {
        var all: [(name: String, secret: String)] = []
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

    /// The name of the token equal to `presented`, checking every token in full so the time
    /// taken does not depend on where the bytes differ nor on which token matched.
    func tokenName(_ presented: some StringProtocol) -> String? {
        let p = Array(presented.utf8)
        var found: String?
        for t in tokens {
            var diff = UInt8(truncatingIfNeeded: p.count ^ t.secret.count)
            for i in 0..<t.secret.count { diff |= t.secret[i] ^ (i < p.count ? p[i] : 0) }
            if diff == 0 { found = t.name }
        }
        return found
    }

    // MARK: Sessions

    func newSession(for name: String, now: Int64) -> (id: String, expires: Int64) {
        var bytes = [UInt8](repeating: 0, count: 32)
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }   // SystemRandomNumberGenerator: the OS CSPRNG
        let id = bytes.map { String(format: "%02x", $0) }.joined()
        let expires = now + sessionSeconds
        sessions.withLock { s in
            if s.count >= Self.maxSessions { s = s.filter { $0.value.expires > now } }
            if s.count >= Self.maxSessions, let oldest = s.min(by: { $0.value.expires < $1.value.expires }) { s[oldest.key] = nil }
            s[id] = (name, expires)
        }
        return (id, expires)
    }

    func session(_ id: String, now: Int64) -> (name: String, expires: Int64)? {
        sessions.withLock { s in
            guard let e = s[id] else { return nil }
            if e.expires <= now { s[id] = nil; return nil }
            return e
        }
    }

    func endSession(_ id: String) { _ = sessions.withLock { $0.removeValue(forKey: id) } }
}
