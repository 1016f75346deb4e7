import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle

/// Runs the service until SIGTERM or SIGINT: the HTTP server stops taking connections and
/// finishes the requests in flight (each holds its batch until stored), then the engine
/// closes its correlation windows and the store and sinks are closed.
public enum ServeRunner {
    public static func makeApplication(_ service: BulkheadService, onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in })
        throws -> some ApplicationProtocol {
        let c = service.config
        // Idle connections are closed after a minute (Hummingbird keeps them open by default).
        let http1: HTTPServerBuilder = .http1(configuration: .init(idleTimeout: .seconds(60)))
        var server = http1
        if let cert = c.tlsCert, let key = c.tlsKey {
            server = try .tls(http1, tlsConfiguration: tlsConfiguration(cert: cert, key: key, clientCA: c.tlsClientCA))
        } else if c.tlsCert != nil || c.tlsKey != nil || c.tlsClientCA != nil {
            throw ServeConfig.Problem("tls needs both cert and key (client_ca requires them too)")
        }
        return Application(router: Routes.router(service), server: server,
                           configuration: .init(address: .hostname(c.host, port: c.port), serverName: "bulkhead"),
                           onServerRunning: onServerRunning, logger: service.logger)
    }

    static func tlsConfiguration(cert: String, key: String, clientCA: String?) throws -> TLSConfiguration {
        let chain = try NIOSSLCertificate.fromPEMFile(cert).map { NIOSSLCertificateSource.certificate($0) }
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
        tls.minimumTLSVersion = .tlsv12
        if let clientCA {
            // Mutual TLS: a client certificate signed by this CA is required (no hostname to check on clients).
            tls.certificateVerification = .noHostnameVerification
            tls.trustRoots = .file(clientCA)
        }
        return tls
    }

    public static func run(config: ServeConfig, logger: Logger) async throws {
        let service = try await BulkheadService.start(config: config, logger: logger)
        do { try await run(try makeApplication(service), service: service, logger: logger) } catch {
            await service.shutdown()
            throw error
        }
        await service.shutdown()
    }

    static func run(_ app: some ApplicationProtocol, service: BulkheadService, logger: Logger) async throws {
        let group = ServiceGroup(configuration: .init(services: [Housekeeping(service: service), app],
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// While the service runs: exceptions changed by other instances (every 30 s), engine state
/// saved (every 10 min), retention (hourly).
struct Housekeeping: Service {
    let service: BulkheadService
    func run() async throws {
        await service.pruneOnce()
        try? await cancelWhenGracefulShutdown {
            var tick = 0
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(30))
                tick += 1
                await service.reloadExceptionsIfChanged()
                if tick % 20 == 0, let problem = await service.worker.saveState() {
                    service.logger.warning("engine state not saved", metadata: ["error": "\(problem)"])
                }
                if tick % 120 == 0 { await service.pruneOnce() }
            }
        }
    }
}
