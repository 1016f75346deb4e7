import AsyncHTTPClient
import Foundation
import Hummingbird
import NIOCore
import NIOSSL
import Synchronization
import Testing
@testable import BulkheadServe

/// Certificates made with the openssl command: a CA, a server certificate for 127.0.0.1 and a client certificate.
enum TestPKI {
    static func make(in dir: String) throws {
        let script = """
        set -e
        cd '\(dir)'
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=bulkhead-test-ca -keyout ca.key -out ca.crt 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server.key -out server.csr 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext
        openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out server.crt 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -subj /CN=falcosidekick -keyout client.key -out client.csr 2>/dev/null
        openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out client.crt 2>/dev/null
        """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", script]
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw StoreError("openssl failed") }
    }
}

@Suite("serve: TLS")
struct MutualTLSTests {
    @Test("with client_ca set, only clients with a certificate from that CA get through")
    func mutualTLS() async throws {
        let dir = ServeSupport.tempDir()
        try TestPKI.make(in: dir)
        var c = ServeSupport.config()
        c.tlsCert = dir + "/server.crt"
        c.tlsKey = dir + "/server.key"
        c.tlsClientCA = dir + "/ca.crt"
        let service = try await ServeSupport.start(c)
        let port = Mutex<Int?>(nil)
        let app = try ServeRunner.makeApplication(service, onServerRunning: { ch in port.withLock { $0 = ch.localAddress?.port } })
        let server = Task { try await app.runService(gracefulShutdownSignals: []) }
        defer { server.cancel() }
        var p: Int?
        for _ in 0..<200 where p == nil {
            p = port.withLock { $0 }
            if p == nil { try await Task.sleep(for: .milliseconds(25)) }
        }
        let url = "https://127.0.0.1:\(try #require(p))/api/v1/alerts"

        var withCert = TLSConfiguration.makeClientConfiguration()
        withCert.trustRoots = .file(dir + "/ca.crt")
        withCert.certificateChain = try NIOSSLCertificate.fromPEMFile(dir + "/client.crt").map { .certificate($0) }
        withCert.privateKey = .privateKey(try NIOSSLPrivateKey(file: dir + "/client.key", format: .pem))
        var noCert = TLSConfiguration.makeClientConfiguration()
        noCert.trustRoots = .file(dir + "/ca.crt")

        let good = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: withCert))
        let bad = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: noCert))
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Authorization", value: "Bearer \(ServeSupport.token)")
        let ok = try await good.execute(request, timeout: .seconds(10))
        #expect(ok.status.code == 200)
        await #expect(throws: (any Error).self) { _ = try await bad.execute(request, timeout: .seconds(10)) }
        try await good.shutdown()
        try await bad.shutdown()
        await service.shutdown()
    }
}
