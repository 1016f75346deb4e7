import Foundation
import Testing

/// A real nats-server on loopback for a test: its own port and store directory, stopped (or
/// killed) and started again on the same port. Tests skip loudly when nats-server is not
/// installed, unless BULKHEAD_REQUIRE_SERVICES=1 (CI), where that is a failure. Shared by the
/// NATS client tests and the scale-out tests.
public final class NATSServerProcess {
    public let port: Int
    public let clusterPort: Int
    public let dir: String
    public let name: String
    private var process: Process?
    private let extra: [String]

    public static var binary: String? {
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init) + ["/usr/sbin", "/usr/bin", "/usr/local/bin"]
        return paths.map { $0 + "/nats-server" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// nil (after a loud skip, or a recorded failure when services are required) without nats-server.
    public static func available() -> Bool {
        if binary != nil { return true }
        if ProcessInfo.processInfo.environment["BULKHEAD_REQUIRE_SERVICES"] == "1" {
            Issue.record("nats-server is not installed (apt-get install nats-server) and BULKHEAD_REQUIRE_SERVICES=1")
        } else {
            let line = String(repeating: "!", count: 78)
            FileHandle.standardError.write(Data("\n\(line)\nSKIPPED: NATS tests: nats-server not found (apt-get install nats-server)\n\(line)\n".utf8))
        }
        return false
    }

    public static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// `extra`: more flags (`--auth TOKEN`); `cluster`: (name, routes) for a cluster member.
    public init(name: String = "n1", extra: [String] = [], cluster: (name: String, routes: [Int])? = nil, clusterPort: Int? = nil) throws {
        self.name = name
        port = Self.freePort()
        self.clusterPort = clusterPort ?? Self.freePort()
        dir = NSTemporaryDirectory() + "bulkhead-nats-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var args = ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", dir, "-n", name]
        if let cluster {
            args += ["--cluster_name", cluster.name, "--cluster", "nats://127.0.0.1:\(self.clusterPort)",
                     "--routes", cluster.routes.map { "nats://127.0.0.1:\($0)" }.joined(separator: ",")]
        }
        self.extra = args + extra
    }

    public var url: String { "nats://127.0.0.1:\(port)" }

    public func start() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary ?? "/usr/sbin/nats-server")
        p.arguments = extra
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try p.run()
        process = p
        try waitForPort()
        // Listening, but is it ours? A server that lost the port to another exits at once.
        usleep(50_000)
        guard p.isRunning else {
            throw NSError(domain: "nats-server", code: 2, userInfo: [NSLocalizedDescriptionKey: "nats-server exited (port \(port) taken?)"])
        }
    }

    public func waitForPort() throws {
        for _ in 0..<200 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            addr.sin_port = UInt16(port).bigEndian
            let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
            close(fd)
            if ok { return }
            usleep(25_000)
        }
        throw NSError(domain: "nats-server", code: 1, userInfo: [NSLocalizedDescriptionKey: "nats-server did not listen on \(port)"])
    }

    /// SIGKILL: no goodbye to clients or the cluster.
    public func kill() {
        guard let p = process else { return }
        Glibc.kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        process = nil
    }

    public func stop() {
        kill()
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// Three servers routed to each other on loopback, JetStream on each (not yet started).
    public static func cluster(name: String = "bulkhead", extra: [String] = []) throws -> [NATSServerProcess] {
        let clusterPorts = (0..<3).map { _ in freePort() }
        return try (0..<3).map { i in
            try NATSServerProcess(name: "n\(i + 1)", extra: extra, cluster: (name, clusterPorts.enumerated().filter { $0.offset != i }.map(\.element)),
                                  clusterPort: clusterPorts[i])
        }
    }
}
