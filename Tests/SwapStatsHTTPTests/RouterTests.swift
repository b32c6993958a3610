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

/// Answers from one in-memory engine, published to a real ``StatsBoard`` as a shard would.
final class EngineQueries: StatsQuerying {
    let engine: PartitionEngine
    let board: StatsBoard
    let ready = Atomic<Bool>(true)

    init(events: Int = 5_000) throws {
        var e = PartitionEngine(configuration: try EngineConfiguration.fromEnvironment(["CLOCK": "event"]))
        var stream = ZipfStream(seed: 3, tokens: 40, wallets: 100, events: events, span: 30 * 60_000)
        for _ in 0..<events { e.ingest(stream.next()) }
        e.flush()
        engine = e
        board = StatsBoard(hub: SubscriptionHub(metricsFactory: TestMetrics()), rankingLifetime: 0)
        board.publish(
            stats: e.allStats().map {
                StatsUpdate(token: $0.token, stats: $0, body: StatsJSON.encode($0), partition: 0, readyAt: 0)
            }, trades: [])
    }

    var windows: [WindowSpec] { engine.configuration.windows }
    var bucketStep: Int64 { engine.configuration.bucketStep }
    var isReady: Bool { ready.load(ordering: .relaxed) }
    func statsBody(token: String) -> ByteBuffer? { board.entry(token)?.body }
    func top(window: String, by: RankBy, limit: Int) -> (asOf: Int64?, tokens: [RankedToken]) {
        board.top(window: window, by: by, limit: limit, now: 0)
    }
    func candles(token: String, interval: Int64, limit: Int) async -> (asOf: Int64, candles: [Candle])? {
        engine.candles(token: token, interval: interval, limit: limit).map { (engine.asOf!, $0) }
    }
}

@Suite struct RouterTests {
    let source: EngineQueries
    let router: Router
    let token: String

    init() throws {
        source = try EngineQueries()
        router = Router(source: source)
        token = source.engine.allStats().max { $0.windows[2].txns < $1.windows[2].txns }!.token
    }

    func json(_ a: HTTPAnswer) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(a.bytes))) as? [String: Any] ?? [:]
    }

    /// Tokens with non-ASCII capitals are stored lowercased by the decoder and found under
    /// any capitalisation, percent-encoded or not.
    @Test func nonASCIIAndMixedCaseTokensAreFoundInAnySpelling() async throws {
        var engine = PartitionEngine(configuration: try EngineConfiguration.fromEnvironment(["CLOCK": "event"]))
        let decoder = EventDecoder()
        for (i, token) in ["ÄBC", "äbc", "0xAbCd", "0XABCD"].enumerated() {
            let line = #"{"id":"e\#(i)","token":"\#(token)","who":"w","side":"buy","amount":1,"usd":2,"ts":1000\#(i)}"#
            engine.ingest(try decoder.decode(Array(line.utf8)).get())
        }
        engine.flush()
        let stats = engine.allStats()
        #expect(Set(stats.map(\.token)) == ["äbc", "0xabcd"])
        let board = StatsBoard(hub: SubscriptionHub(metricsFactory: TestMetrics()), rankingLifetime: 0)
        board.publish(
            stats: stats.map {
                StatsUpdate(token: $0.token, stats: $0, body: StatsJSON.encode($0), partition: 0, readyAt: 0)
            }, trades: [])
        struct BoardQueries: StatsQuerying {
            let board: StatsBoard
            let windows: [WindowSpec]
            var bucketStep: Int64 { 5_000 }
            var isReady: Bool { true }
            func statsBody(token: String) -> ByteBuffer? { board.entry(token)?.body }
            func top(window: String, by: RankBy, limit: Int) -> (asOf: Int64?, tokens: [RankedToken]) { (nil, []) }
            func candles(token: String, interval: Int64, limit: Int) async -> (asOf: Int64, candles: [Candle])? { nil }
        }
        let router = Router(source: BoardQueries(board: board, windows: engine.configuration.windows))
        for (path, token) in [
            ("ÄBC", "äbc"), ("%C3%84BC", "äbc"), ("%C3%A4bC", "äbc"), ("äbc", "äbc"), ("0xaBcD", "0xabcd"),
            ("0XABCD", "0xabcd"),
        ] {
            let a = await router.respond(method: "GET", uri: "/tokens/\(path)/stats")
            #expect(a.status == 200, "\(path)")
            #expect(a.bytes == StatsJSON.encode(engine.stats(token: token)!), "\(path)")
        }
    }

    @Test func statsAreTheEnginesBodyAndTokensAreCaseInsensitive() async {
        let a = await router.respond(method: "GET", uri: "/tokens/\(token.uppercased())/stats")
        #expect(a.status == 200)
        #expect(a.headers["content-type"] == "application/json")
        #expect(a.bytes == StatsJSON.encode(source.engine.stats(token: token)!))
    }

    @Test(arguments: [
        ("GET", "/tokens/0xunknown/stats", 404), ("GET", "/nothing/here", 404), ("POST", "/tokens/x/stats", 405),
        ("DELETE", "/healthz", 405), ("GET", "/tokens/\(String(repeating: "a", count: 129))/stats", 400),
        ("GET", "/tokens/%zz/stats", 400), ("GET", "/tokens/%C3%28/stats", 400),
        ("GET", "/tokens/top?window=2h", 400), ("GET", "/tokens/top?by=price", 400),
        ("GET", "/tokens/top?limit=0", 400),
        ("GET", "/tokens/top?limit=x", 400), ("GET", "/tokens/x/candles?interval=7s", 400),
        ("GET", "/tokens/x/candles?interval=2d", 400), ("GET", "/tokens/0xunknown/candles", 404),
        ("GET", "/" + String(repeating: "a", count: 3000), 414),
    ])
    func badRequestsGetTheRightStatusAsProblemJSON(method: String, uri: String, status: Int) async {
        let a = await router.respond(method: method, uri: uri)
        #expect(a.status == status)
        #expect(a.headers["content-type"] == "application/problem+json")
        let body = json(a)
        #expect(body["status"] as? Int == status)
        #expect((body["detail"] as? String)?.isEmpty == false)
        if status == 405 { #expect(a.headers["allow"] == "GET, HEAD") }
    }

    @Test func topRanksAcrossTokensWithTheRequestedWindowByAndLimit() async {
        let a = await router.respond(method: "GET", uri: "/tokens/top?window=5m&by=txns&limit=3")
        #expect(a.status == 200)
        let body = json(a)
        #expect(body["window"] as? String == "5m")
        #expect(body["by"] as? String == "txns")
        #expect((body["asOf"] as? NSNumber)?.int64Value == source.engine.asOf)
        let tokens = body["tokens"] as? [[String: Any]] ?? []
        let want = TopTokens.rank(source.engine.allStats(), window: "5m", by: .txns, limit: 3)
        #expect(tokens.map { $0["token"] as? String } == want.map(\.token))
        #expect(tokens.map { $0["value"] as? Double } == want.map(\.value))
    }

    @Test func candlesComeFromTheBuckets() async {
        let a = await router.respond(method: "GET", uri: "/tokens/\(token)/candles?interval=5m&limit=4")
        #expect(a.status == 200)
        let candles = json(a)["candles"] as? [[String: Any]] ?? []
        let want = source.engine.candles(token: token, interval: 300_000, limit: 4)!
        #expect(candles.count == want.count)
        #expect(candles.map { ($0["start"] as? NSNumber)?.int64Value } == want.map(\.start))
        #expect(candles.map { $0["txns"] as? Int } == want.map(\.txns))
    }

    @Test func metricsAreServedAsPrometheusTextWhenConfigured() async {
        let withMetrics = Router(source: source, metrics: { Array("swapstats_x 1\n".utf8) })
        let a = await withMetrics.respond(method: "GET", uri: "/metrics")
        #expect(a.status == 200)
        #expect(a.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
        #expect(a.bytes == Array("swapstats_x 1\n".utf8))
        #expect(await router.respond(method: "GET", uri: "/metrics").status == 404)
    }

    @Test func withAPIKeysDataRoutesNeedABearerKeyAndProbesDoNot() async {
        let guarded = Router(source: source, apiKeys: ["k1", "k2"])
        let missing = await guarded.respond(method: "GET", uri: "/tokens/\(token)/stats")
        #expect(missing.status == 401)
        #expect(missing.headers["www-authenticate"] == "Bearer")
        #expect(await guarded.respond(method: "GET", uri: "/tokens/top", authorization: "Bearer nope").status == 401)
        #expect(await guarded.respond(method: "GET", uri: "/tokens/top", authorization: "k1").status == 401)
        #expect(await guarded.respond(method: "GET", uri: "/tokens/top", authorization: "Bearer k2").status == 200)
        #expect(
            await guarded.respond(method: "GET", uri: "/tokens/\(token)/stats", authorization: "Bearer k1").bytes
                == StatsJSON.encode(source.engine.stats(token: token)!))
        #expect(await guarded.respond(method: "GET", uri: "/healthz").status == 200)
        #expect(await guarded.respond(method: "GET", uri: "/openapi.json").status == 200)
    }

    @Test func healthAndReadiness() async {
        #expect(await router.respond(method: "GET", uri: "/healthz").status == 200)
        #expect(await router.respond(method: "GET", uri: "/readyz").status == 200)
        source.ready.store(false, ordering: .relaxed)
        let a = await router.respond(method: "GET", uri: "/readyz")
        #expect(a.status == 503)
        #expect(a.headers["content-type"] == "application/problem+json")
    }
}
