import Foundation

/// A `redis-server` child on 127.0.0.1 and a free port, without persistence, for tests;
/// stopped by its pid. Debian ships the server binary in `redis-tools` as
/// `redis-check-rdb` (it acts by its name), so `scripts/test` links
/// `.build/tools/redis-server` to it when `/usr/bin/redis-server` is absent.
public final class RedisServer: @unchecked Sendable {
    public private(set) var port: Int
    private var process: Process?

    /// Starts a server and waits until it accepts connections.
    /// - Parameter port: a fixed port (a restart on the same port); default: a free one (if
    ///   another process takes it before the server binds it, another port is tried).
    public init(port: Int? = nil, arguments: [String] = []) throws {
        self.port = try port ?? freePort()
        var attempts = port == nil ? 5 : 1
        while true {
            do {
                try start(arguments: arguments)
                return
            } catch {
                attempts -= 1
                guard attempts > 0 else { throw error }
                self.port = try freePort()
            }
        }
    }

    deinit { stop() }

    public var url: String { "redis://127.0.0.1:\(port)" }

    /// Starts it again on the same port (after ``stop()``), and waits until this very
    /// server listens: it writes its pid file only once its port is bound, so another
    /// process on the port is never mistaken for it.
    public func start(arguments: [String] = []) throws {
        let pidFile = NSTemporaryDirectory() + "swapstats-redis-\(UUID().uuidString).pid"
        defer { try? FileManager.default.removeItem(atPath: pidFile) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try Self.binary())
        p.arguments =
            [
                "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no",
                "--loglevel", "warning", "--pidfile", pidFile,
            ] + arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        process = p
        let pid = "\(p.processIdentifier)"
        let ready = waitUntil(seconds: 10) {
            !p.isRunning
                || ((try? String(contentsOfFile: pidFile, encoding: .utf8))?.trimmingCharacters(
                    in: .whitespacesAndNewlines)
                    == pid && canConnect(port: port))
        }
        guard ready, p.isRunning else {
            stop()
            throw RedisServerError(message: "redis-server did not listen on \(port)")
        }
    }

    /// Stops it by its pid and waits for it.
    public func stop() {
        guard let p = process, p.isRunning else {
            process = nil
            return
        }
        // SIGKILL: nothing is persisted, and redis-server's SIGTERM shutdown waits for its
        // next cron tick.
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        process = nil
    }

    static func binary() throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let candidates: [String?] = [
            ProcessInfo.processInfo.environment["SWAPSTATS_REDIS_SERVER"], "/usr/bin/redis-server",
            root.appendingPathComponent(".build/tools/redis-server").path,
        ]
        for case let c? in candidates where FileManager.default.isExecutableFile(atPath: c) { return c }
        throw RedisServerError(message: "no redis-server: run scripts/test (it installs redis-tools)")
    }
}

public struct RedisServerError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// A port nothing listens on now (the kernel's pick for port 0).
public func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p in
            bind(fd, p, length) == 0 && getsockname(fd, p, &length) == 0
        }
    }
    guard bound else { throw RedisServerError(message: "cannot find a free port") }
    return Int(UInt16(bigEndian: address.sin_port))
}

private func canConnect(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    } == 0
}
