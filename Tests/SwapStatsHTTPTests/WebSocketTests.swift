import Dispatch
import Foundation
import Logging
import MetricsTestKit
import NIOCore
import SwapStatsCore
import SwapStatsHTTP
import SwapStatsPublishing
import SwapStatsTestSupport
import Synchronization
import Testing

private let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// `scripts/ws_probe.py` (python `websockets`) running in the background; `result()` waits
/// for its summary.
private final class Probe: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var output = Data()

    init(_ arguments: [String]) {
        DispatchQueue.global().async {
            let python = root.appendingPathComponent(".build/venv/bin/python").path
            let script = root.appendingPathComponent("scripts/ws_probe.py").path
            self.output = (try? runCommand(python, [script] + arguments).output) ?? Data()
            self.done.signal()
        }
    }

    struct Summary: Decodable {
        var counts: [String: Int]
        var trades: [String]
        var last: [String: String]
        var errors: [String]
        var close: Int?
    }

    func result(seconds: Double = 60) throws -> Summary {
        guard done.wait(timeout: .now() + seconds) == .success else { throw ProbeTimeout() }
        let last = String(decoding: output, as: UTF8.self).split(separator: "\n").last ?? ""
        return try JSONDecoder().decode(Summary.self, from: Data(last.utf8))
    }

    struct ProbeTimeout: Error {}
}

/// A server over a board the test publishes to, as a shard would.
private struct Fixture {
    let source: EngineQueries
    let metrics = TestMetrics()
    let board: StatsBoard
    let server: HTTPServer
    let port: Int

    init(limits: HTTPLimits = HTTPLimits()) async throws {
        source = try EngineQueries()
        board = StatsBoard(hub: SubscriptionHub(metricsFactory: metrics), rankingLifetime: 0)
        board.publish(stats: source.engine.allStats().map(update), trades: [])
        server = HTTPServer(
            router: Router(source: Queries(source: source, board: board)), logger: Logger(label: "test"),
            limits: limits, board: board)
        port = try await server.start(host: "127.0.0.1", port: 0)
    }

    func url(_ path: String) -> String { "ws://127.0.0.1:\(port)\(path)" }

    func connections() -> Int64 {
        (try? metrics.expectGauge("swapstats_ws_connections").lastValue).map { Int64($0) } ?? 0
    }

    func counter(_ label: String) -> Int64 { (try? metrics.expectCounter(label).totalValue) ?? 0 }
}

private func update(_ s: TokenStats) -> StatsUpdate {
    StatsUpdate(token: s.token, stats: s, body: StatsJSON.encode(s), partition: 0, readyAt: 0)
}

private func trade(_ token: String, _ id: String, padding: Int = 0) -> TradeUpdate {
    TradeUpdate(
        token: token, body: Array("{\"id\":\"\(id)\",\"pad\":\"\(String(repeating: "x", count: padding))\"}".utf8),
        readyAt: DispatchTime.now().uptimeNanoseconds)
}

/// The router's view of the fixture's own board.
private struct Queries: StatsQuerying {
    let source: EngineQueries
    let board: StatsBoard
    var windows: [WindowSpec] { source.windows }
    var bucketStep: Int64 { source.bucketStep }
    var isReady: Bool { true }
    func statsBody(token: String) -> ByteBuffer? { board.entry(token)?.body }
    func top(window: String, by: RankBy, limit: Int) -> (asOf: Int64?, tokens: [RankedToken]) {
        board.top(window: window, by: by, limit: limit, now: 0)
    }
    func candles(token: String, interval: Int64, limit: Int) async -> (asOf: Int64, candles: [Candle])? {
        await source.candles(token: token, interval: interval, limit: limit)
    }
}

@Suite(.serialized, .timeLimit(.minutes(4)))
struct WebSocketTests {
    @Test func subscribersGetASnapshotThenTheSameBytesAsGETAndTheirTokensTrades() async throws {
        let f = try await Fixture()
        try await stopping(f.server) {
            let stats = f.source.engine.allStats()
            let (token, other) = (stats[0].token, stats[1].token)
            let single = Probe([f.url("/tokens/\(token.uppercased())/ws?trades=1"), "--count", "52", "--idle", "30"])
            let multi = Probe([
                f.url("/ws"), "--send", #"{"op":"subscribe","tokens":["\#(token)","0xnone"]}"#, "--send", "not json",
                "--count", "4", "--idle", "30",
            ])
            #expect(waitUntil(seconds: 30) { f.connections() == 2 && f.board.tradeWatch.tokens == [token] })
            // Both got their snapshots (and /ws its error): every subscription is registered.
            #expect(waitUntil(seconds: 30) { f.counter("swapstats_ws_messages_sent_total") == 1 + 2 + 1 })

            var engine = f.source.engine
            engine.ingest(
                SwapEvent(id: "new", token: token, who: "w", side: .buy, amount: 2, usd: 3, ts: engine.asOf! - 1))
            engine.flush()
            let newer = try #require(engine.stats(token: token))
            f.board.publish(
                stats: [update(newer)],
                trades: (0..<50).map { trade(token, "t\($0)") } + (0..<5).map { trade(other, "o\($0)") })

            let a = try single.result()
            #expect(a.counts == ["snapshot": 1, "stats": 1, "trade": 50])
            #expect(a.trades == (0..<50).map { "t\($0)" })
            let want = String(decoding: StatsJSON.encode(newer), as: UTF8.self)
            #expect(a.last[token] == want)
            let b = try multi.result()
            #expect(b.counts == ["snapshot": 2, "stats": 1, "error": 1])
            #expect(b.last[token] == want)
            #expect(b.last["0xnone"] == "null")
            // GET serves the very bytes the subscribers got.
            let got = try runCommand("/usr/bin/curl", ["-s", "http://127.0.0.1:\(f.port)/tokens/\(token)/stats"]).output
            #expect(String(decoding: got, as: UTF8.self) == want)
            #expect(waitUntil(seconds: 10) { f.connections() == 0 && f.board.tradeWatch.tokens.isEmpty })
            #expect(f.counter("swapstats_ws_messages_sent_total") == 1 + 1 + 50 + 2 + 1 + 1)
        }
    }

    @Test func aClientTooFarBehindIsClosedWith1008AndNobodyElseWaits() async throws {
        let f = try await Fixture(limits: HTTPLimits(webSocketQueue: 16))
        try await stopping(f.server) {
            let token = f.source.engine.allStats()[0].token
            let slow = Probe([f.url("/tokens/\(token)/ws?trades=1"), "--stall", "5", "--idle", "5"])
            let fast = Probe([f.url("/tokens/\(token)/ws?trades=1"), "--trades", "2000", "--idle", "3"])
            #expect(waitUntil(seconds: 30) { f.connections() == 2 })
            // 2,000 trades of 16 KB (32 MB): far more than the socket buffers hold.
            for batch in 0..<20 {
                f.board.publish(
                    stats: [], trades: (0..<100).map { trade(token, "t\(batch * 100 + $0)", padding: 16_000) })
            }
            let fastSummary = try fast.result()
            #expect(fastSummary.trades.count == 2_000)
            #expect(fastSummary.close == nil || fastSummary.close == 1000)
            #expect(waitUntil(seconds: 10) { f.counter("swapstats_ws_slow_client_closes_total") == 1 })
            let slowSummary = try slow.result()
            #expect(slowSummary.trades.count < 2_000)
            #expect(slowSummary.close == 1008 || slowSummary.close == 1006)
        }
    }

    @Test func aSlowClientsStaleStatsAreReplacedNotQueued() async throws {
        let f = try await Fixture(limits: HTTPLimits(webSocketQueue: 16))
        try await stopping(f.server) {
            let stats = f.source.engine.allStats()[0]
            let slow = Probe([f.url("/tokens/\(stats.token)/ws"), "--stall", "3", "--idle", "5"])
            #expect(waitUntil(seconds: 30) { f.connections() == 1 })
            // 3,000 updates of one token: each carries a long lastTrade id so they fill buffers fast.
            var last = stats
            for i in 0..<3_000 {
                last.lastTrade?.id = "\(i)-" + String(repeating: "y", count: 16_000)
                f.board.publish(stats: [update(last)], trades: [])
            }
            let s = try slow.result()
            #expect(s.last[stats.token] == String(decoding: StatsJSON.encode(last), as: UTF8.self))
            #expect((s.counts["stats"] ?? 0) < 3_000)
            #expect(s.close == nil || s.close == 1000)
            #expect(f.counter("swapstats_ws_stale_replaced_total") > 0)
            #expect(f.counter("swapstats_ws_slow_client_closes_total") == 0)
        }
    }

    @Test func serverPingsKeepAQuietClientAndASilentPeerIsDropped() async throws {
        let f = try await Fixture(limits: HTTPLimits(idleTimeout: 600))
        try await stopping(f.server) {
            let token = f.source.engine.allStats()[0].token
            // python websockets answers pings: 3 s with nothing to read, several idle timeouts.
            let quiet = try Probe([f.url("/tokens/\(token)/ws"), "--idle", "3"]).result()
            #expect(quiet.counts == ["snapshot": 1] && quiet.close == nil)
            // A peer that upgrades and then reads and answers nothing is closed.
            let (out, _) = try runCommand(
                "/usr/bin/python3",
                [
                    "-c",
                    """
                    import socket, time
                    s = socket.create_connection(("127.0.0.1", \(f.port)))
                    s.sendall(b"GET /ws HTTP/1.1\\r\\nHost: x\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\n"
                              b"Sec-WebSocket-Version: 13\\r\\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\n\\r\\n")
                    start = time.time()
                    s.settimeout(10)
                    got = b""
                    while True:
                        chunk = s.recv(65536)
                        if not chunk:
                            break
                        got += chunk
                    print("closed" if b" 101 " in got else "refused", round(time.time() - start, 1))
                    """,
                ])
            let verdict = String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(verdict.hasPrefix("closed"), "\(verdict)")
            let seconds = Double(verdict.split(separator: " ").last ?? "") ?? -1
            #expect(seconds >= 0.5 && seconds < 5)
        }
    }

    @Test func tokensOwnedElsewhereGetTheirSnapshotAndUpdatesThroughTheRemote() async throws {
        let remote = FakeRemote(snapshot: ByteBuffer(string: "{\"remote\":1}"))
        let source = try EngineQueries()
        let metrics = TestMetrics()
        let board = StatsBoard(hub: SubscriptionHub(metricsFactory: metrics), rankingLifetime: 0, remote: remote)
        let local = source.engine.allStats()[0]
        board.publish(stats: [update(local)], trades: [])
        let server = HTTPServer(
            router: Router(source: Queries(source: source, board: board)), logger: Logger(label: "test"), board: board)
        let port = try await server.start(host: "127.0.0.1", port: 0)
        try await stopping(server) {
            let probe = Probe([
                "ws://127.0.0.1:\(port)/ws", "--send",
                #"{"op":"subscribe","tokens":["0xelsewhere","\#(local.token)"]}"#,
                "--count", "4", "--idle", "30",
            ])
            #expect(
                waitUntil(seconds: 30) {
                    (try? metrics.expectCounter("swapstats_ws_messages_sent_total").totalValue) == 2
                })
            #expect(remote.watched.withLock { $0 } == ["0xelsewhere": 1, local.token: 1])
            // An update from elsewhere reaches the subscriber; an echo of a local token does not.
            board.remoteUpdate(token: local.token, body: Array("{\"echo\":1}".utf8))
            board.remoteUpdate(token: "0xelsewhere", body: Array("{\"remote\":2}".utf8))
            board.publish(stats: [update(local)], trades: [])
            let s = try probe.result()
            #expect(s.counts == ["snapshot": 2, "stats": 2])
            #expect(s.last["0xelsewhere"] == "{\"remote\":2}")
            #expect(s.last[local.token] == String(decoding: StatsJSON.encode(local), as: UTF8.self))
            #expect(waitUntil(seconds: 10) { remote.watched.withLock { $0 }.isEmpty })
        }
    }

    @Test func refusedUpgradesAndOversizedHeadersGetProblemJSON() async throws {
        let f = try await Fixture(limits: HTTPLimits(maxHeaderBytes: 4096))
        try await stopping(f.server) {
            func curl(_ arguments: [String]) throws -> String {
                String(
                    decoding: try runCommand("/usr/bin/curl", ["-s", "--max-time", "10", "-i"] + arguments).output,
                    as: UTF8.self)
            }
            let base = "http://127.0.0.1:\(f.port)"
            // A plain GET of a WebSocket route: 426.
            #expect(try curl(["\(base)/ws"]).hasPrefix("HTTP/1.1 426"))
            // An upgrade without Sec-WebSocket-Key: refused with 400, and the server goes on.
            let bad = try curl(["-H", "Connection: Upgrade", "-H", "Upgrade: websocket", "\(base)/ws"])
            #expect(bad.hasPrefix("HTTP/1.1 400"), "\(bad.prefix(200))")
            // A bad token in the upgrade: answered by the router.
            let badToken = try curl([
                "-H", "Connection: Upgrade", "-H", "Upgrade: websocket", "-H", "Sec-WebSocket-Version: 13", "-H",
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                "\(base)/tokens/\(String(repeating: "a", count: 200))/ws",
            ])
            #expect(badToken.hasPrefix("HTTP/1.1 400"))
            // Headers over HTTP_MAX_HEADER_BYTES: 431 problem+json.
            let huge = try curl(["-H", "X-Big: \(String(repeating: "b", count: 8_000))", "\(base)/healthz"])
            #expect(huge.hasPrefix("HTTP/1.1 431"), "\(huge.prefix(200))")
            #expect(huge.contains("application/problem+json") && huge.contains("\"status\":431"))
            #expect(try curl(["\(base)/healthz"]).hasPrefix("HTTP/1.1 200"))
        }
    }

    @Test func nonASCIITokensAreFollowedInAnySpelling() async throws {
        let f = try await Fixture()
        try await stopping(f.server) {
            let body = StatsJSON.encode(f.source.engine.allStats()[0])
            f.board.publish(
                stats: [
                    StatsUpdate(
                        token: "äbc", stats: f.source.engine.allStats()[0], body: body, partition: 0, readyAt: 0)
                ], trades: [])
            let multi = Probe([
                f.url("/ws"), "--send", #"{"op":"subscribe","tokens":["ÄBC","0xNONE"]}"#, "--count", "2", "--idle",
                "30",
            ])
            let single = Probe([f.url("/tokens/%C3%84bC/ws"), "--count", "1", "--idle", "30"])
            let m = try multi.result()
            #expect(m.counts == ["snapshot": 2])
            #expect(m.last["äbc"] == String(decoding: body, as: UTF8.self))
            let s = try single.result()
            #expect(s.last["äbc"] == String(decoding: body, as: UTF8.self))
        }
    }

    @Test func stoppingTheServerTellsEveryClientItIsGoingAway() async throws {
        let f = try await Fixture()
        let token = f.source.engine.allStats()[0].token
        let following = Probe([f.url("/tokens/\(token)/ws"), "--idle", "60"])
        let idle = Probe([f.url("/ws"), "--idle", "60"])
        #expect(waitUntil(seconds: 30) { f.connections() == 2 })
        await f.server.stop()
        #expect(try following.result().close == 1001)
        #expect(try idle.result().close == 1001)
        #expect(f.connections() == 0)
    }
}

/// Another instance's tokens, as a test double of the Redis-backed remote.
private final class FakeRemote: RemoteTokens {
    let body: ByteBuffer
    let watched = Mutex<[String: Int]>([:])
    init(snapshot: ByteBuffer) { body = snapshot }
    func watch(_ token: String) { watched.withLock { $0[token, default: 0] += 1 } }
    func unwatch(_ token: String) {
        watched.withLock { w in
            w[token, default: 0] -= 1
            if w[token] == 0 { w[token] = nil }
        }
    }
    func snapshot(_ token: String) async -> ByteBuffer? { token == "0xelsewhere" ? body : nil }
}
