import Foundation
import Logging
import NIOCore
import NIOPosix
import SwapStatsCore
import SwapStatsHTTP
import SwapStatsTestSupport
import Testing

/// curl against the server on a loopback port: output, status code.
private func curl(_ arguments: [String]) throws -> (body: String, code: Int32) {
    let (data, status) = try runCommand("/usr/bin/curl", ["-s", "--max-time", "10"] + arguments)
    return (String(decoding: data, as: UTF8.self), status)
}

@Suite(.serialized, .timeLimit(.minutes(4)))
struct LiveServerTests {
    @Test func http11AndH2cOnOnePortServeTheRoutersAnswers() async throws {
        let source = try EngineQueries()
        let router = Router(source: source)
        let server = HTTPServer(router: router, logger: Logger(label: "test"))
        let port = try await server.start(host: "127.0.0.1", port: 0)
        try await stopping(server) {
            let token = source.engine.allStats()[0].token
            let url = "http://127.0.0.1:\(port)/tokens/\(token)/stats"
            let want = String(
                decoding: await router.respond(method: "GET", uri: "/tokens/\(token)/stats").bytes, as: UTF8.self)

            let h1 = try curl(["--http1.1", "-w", "\n%{http_version} %{http_code}", url])
            #expect(h1.body == want + "\n1.1 200")
            let h2 = try curl(["--http2-prior-knowledge", "-w", "\n%{http_version} %{http_code}", url])
            #expect(h2.body == want + "\n2 200")
            // Several concurrent streams on one HTTP/2 connection (nghttp), one of them a problem.
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/nghttp")
            p.arguments = [
                "-n", "-s", url, "http://127.0.0.1:\(port)/tokens/none/stats", "http://127.0.0.1:\(port)/healthz",
            ]
            let pipe = Pipe()
            p.standardOutput = pipe
            try p.run()
            let stats = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            #expect(p.terminationStatus == 0)
            let codes = stats.split(separator: "\n").compactMap { line -> String? in
                let f = line.split(separator: " ", omittingEmptySubsequences: true)
                return f.count >= 7 && f[0].allSatisfy(\.isNumber) ? "\(f[4]) \(f[6])" : nil
            }
            #expect(Set(codes) == ["200 /tokens/\(token)/stats", "404 /tokens/none/stats", "200 /healthz"], "\(stats)")
            // Keep-alive HTTP/1.1: two answers on one connection.
            let keepAlive = try curl(["--http1.1", "-w", " %{num_connects}\n", url, url])
            #expect(keepAlive.body.hasSuffix(" 0\n"))
        }
    }

    @Test func aClientOverItsRateGets429WithRetryAfterAndOthersAreServed() async throws {
        let source = try EngineQueries(events: 100)
        let server = HTTPServer(
            router: Router(source: source), logger: Logger(label: "test"), limits: HTTPLimits(requestsPerSecond: 1))
        let port = try await server.start(host: "127.0.0.1", port: 0)
        try await stopping(server) {
            let url = "http://127.0.0.1:\(port)/healthz"
            // Twenty requests on one connection: the bucket holds one and refills one a second, so
            // even a slow, busy machine sees most of them refused.
            let burst = try curl(["-w", "\n@%{http_code}\n"] + Array(repeating: url, count: 20))
            let codes = burst.body.split(separator: "\n").filter { $0.hasPrefix("@") }.map { $0.dropFirst() }
            #expect(codes.count == 20)
            #expect(codes.filter { $0 == "200" }.count >= 1)
            #expect(codes.filter { $0 == "429" }.count >= 10)
            let limited = try curl(["-i", url])
            #expect(limited.body.contains("429"))
            #expect(limited.body.lowercased().contains("retry-after: 1"))
            #expect(limited.body.contains("application/problem+json"))
            // The bucket refills (one a second): a request is served again.
            #expect(try waitUntil(seconds: 10) { try curl(["-w", " %{http_code}", url]).body.hasSuffix(" 200") })
        }
    }

    @Test func idleConnectionsAreClosedAndTheConnectionLimitHolds() async throws {
        let source = try EngineQueries(events: 100)
        let server = HTTPServer(
            router: Router(source: source), logger: Logger(label: "test"),
            limits: HTTPLimits(maxConnections: 1, idleTimeout: 2_000))
        let port = try await server.start(host: "127.0.0.1", port: 0)
        try await stopping(server) {
            // One silent connection holds the only slot until the idle timeout closes it.
            let idle = Process()
            idle.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            idle.arguments = [
                "-c",
                """
                import socket, time
                s = socket.create_connection(("127.0.0.1", \(port)))
                print("connected", flush=True)
                start = time.time()
                s.settimeout(10)
                data = s.recv(1)
                print("closed" if data == b"" else "data", round(time.time() - start, 1))
                """,
            ]
            let pipe = Pipe()
            idle.standardOutput = pipe
            try idle.run()
            // Wait until the silent client holds the slot (python may start slowly on a busy box).
            var said = ""
            while !said.contains("connected") {
                let chunk = pipe.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                said += String(decoding: chunk, as: UTF8.self)
            }
            #expect(said.contains("connected"))
            let refused = try curl(["-w", "%{http_code}", "http://127.0.0.1:\(port)/healthz"])
            #expect(refused.body == "000")  // closed at once: over the limit
            idle.waitUntilExit()
            let rest = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let verdict = (said + rest).split(separator: "\n").last.map(String.init) ?? ""
            #expect(verdict.hasPrefix("closed"), "\(said + rest)")
            let seconds = Double(verdict.split(separator: " ").last ?? "") ?? -1
            #expect(seconds >= 1.5 && seconds < 9)
            #expect(try curl(["-w", " %{http_code}", "http://127.0.0.1:\(port)/healthz"]).body.hasSuffix(" 200"))
        }
    }

    @Test func aSlowlorisIsClosedAfterTheIdleTimeoutThoughItKeepsSending() async throws {
        let source = try EngineQueries(events: 100)
        let server = HTTPServer(
            router: Router(source: source), logger: Logger(label: "test"), limits: HTTPLimits(idleTimeout: 1_000))
        let port = try await server.start(host: "127.0.0.1", port: 0)
        try await stopping(server) {
            // A header byte every 100 ms: never idle, never a whole request.
            let (out, _) = try runCommand(
                "/usr/bin/python3",
                [
                    "-c",
                    """
                    import socket, time
                    s = socket.create_connection(("127.0.0.1", \(port)))
                    s.sendall(b"GET /healthz HTTP/1.1\\r\\nHost: x\\r\\nX-Slow: ")
                    start = time.time()
                    try:
                        while time.time() - start < 8:
                            s.sendall(b"a")
                            time.sleep(0.1)
                        print("open", 8)
                    except OSError:
                        print("closed", round(time.time() - start, 1))
                    """,
                ])
            let verdict = String(decoding: out, as: UTF8.self)
            #expect(verdict.hasPrefix("closed"), "\(verdict)")
            let seconds =
                Double(verdict.split(separator: " ").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? -1
            #expect(seconds >= 0.8 && seconds < 6)
            #expect(try curl(["-w", " %{http_code}", "http://127.0.0.1:\(port)/healthz"]).body.hasSuffix(" 200"))
        }
    }

    @Test func garbageOnOneConnectionDoesNotDisturbTheNext() async throws {
        let source = try EngineQueries(events: 100)
        let server = HTTPServer(router: Router(source: source), logger: Logger(label: "test"))
        let port = try await server.start(host: "127.0.0.1", port: 0)
        try await stopping(server) {
            // A malformed request line gets 400 (NIO's HTTP error handling) or a close.
            let raw = try curl(["--http1.1", "-X", "GE T", "-w", "%{http_code}", "http://127.0.0.1:\(port)/healthz"])
            #expect(raw.body.hasSuffix("400") || raw.code != 0)
            let ok = try curl(["-w", " %{http_code}", "http://127.0.0.1:\(port)/healthz"])
            #expect(ok.body == "{\"status\":\"ok\"} 200")
        }
    }
}

/// Runs `body`, then stops `server` and waits until it is stopped, whether `body` threw or
/// not (a `defer` cannot await, and a stop left to a detached task may outlive the test).
func stopping(_ server: HTTPServer, _ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch {
        await server.stop()
        throw error
    }
    await server.stop()
}
