import Dispatch
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import RedisClient
import SwapStatsCore
import SwapStatsHTTP
import SwapStatsPublishing
import SwapStatsRedis
import SwapStatsTestSupport
import Synchronization

/// Cross-instance WebSocket update latency: "instance B" (a `RedisSnapshotPublisher`)
/// publishes a token's update into a local redis-server; "instance A" (`RedisSubscriber` →
/// `StatsBoard.remoteUpdate` → `SubscriptionHub` → `HTTPServer`) fans it out to a WebSocket
/// client, which reads the publish time carried in the body. All in one process, so one
/// monotonic clock: from B's publish call to the client's decoding of the message.
func redisWebSocketLatencyBench(updates: Int, every: Double) throws {
    let server = try RedisServer()
    let url = RedisURL(server.url)!
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    struct Remote: RemoteTokens {
        let subscriber: RedisSubscriber
        let reader: RedisReader
        func watch(_ token: String) { subscriber.watch(token) }
        func unwatch(_ token: String) { subscriber.unwatch(token) }
        func snapshot(_ token: String) async -> ByteBuffer? {
            await reader.snapshot(token).map { ByteBuffer(bytes: $0) }
        }
    }
    final class BoardBox: Sendable {
        let board = Mutex<StatsBoard?>(nil)
    }
    let box = BoardBox()
    let subscriber = RedisSubscriber(url: url, logger: logger) { token, body in
        box.board.withLock { $0 }?.remoteUpdate(token: token, body: body)
    }
    subscriber.start()
    let board = StatsBoard(rankingLifetime: 0, remote: Remote(subscriber: subscriber, reader: RedisReader(url: url)))
    box.board.withLock { $0 = board }
    let http = HTTPServer(
        router: Router(source: LatencyQueries(board: board)), logger: logger,
        limits: HTTPLimits(requestsPerSecond: 0), threads: 1, board: board)
    let port = try runBlocking { try await http.start(host: "127.0.0.1", port: 0) }
    /// Holds nothing: the bench measures writes of updates, not rewrites after a Redis loss.
    final class Sink: SnapshotHolding {
        let tradeWatch = TradeWatch()
        func publish(stats: [StatsUpdate], trades: [TradeUpdate]) {}
        func heldTokens() -> [String] { [] }
        func heldUpdate(_ token: String) -> StatsUpdate? { nil }
    }
    let publisher = RedisSnapshotPublisher(url: url, topic: "swaps", local: Sink(), windows: [], logger: logger)
    publisher.start()
    let latencies = LatencyLog()
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let client = try ClientBootstrap(group: group)
        .channelInitializer { channel in
            let upgrader = NIOWebSocketClientUpgrader(
                requestKey: "dGhlIHNhbXBsZSBub25jZQ==", maxFrameSize: 1 << 20,
                upgradePipelineHandler: { channel, _ in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(LatencyRecorder(latencies: latencies))
                    }
                })
            return channel.eventLoop.makeCompletedFuture {
                let request = TokenRequest(path: "/tokens/0xlatency/ws")
                let bound = NIOLoopBound(request, eventLoop: channel.eventLoop)
                try channel.pipeline.syncOperations.addHTTPClientHandlers(
                    leftOverBytesStrategy: .forwardBytes,
                    withClientUpgrade: (
                        upgraders: [upgrader],
                        completionHandler: { context in
                            context.pipeline.syncOperations.removeHandler(bound.value, promise: nil)
                        }
                    ))
                try channel.pipeline.syncOperations.addHandler(request)
            }
        }
        .connect(host: "127.0.0.1", port: port).wait()
    Thread.sleep(forTimeInterval: 1)  // the subscription reaches Redis
    print("redis-ws-latency: \(updates) updates, one every \(Int(every * 1000)) ms, B publish → A's client")
    for _ in 0..<updates {
        let t = DispatchTime.now().uptimeNanoseconds
        publisher.publish(
            stats: [
                StatsUpdate(
                    token: "0xlatency", stats: TokenStats(token: "0xlatency", asOf: 0, lastTrade: nil, windows: []),
                    body: Array("{\"t\":\(t)}".utf8), partition: 0, readyAt: t)
            ], trades: [])
        Thread.sleep(forTimeInterval: every)
    }
    Thread.sleep(forTimeInterval: 1)
    let got = latencies.values.withLock { $0 }.sorted()
    guard !got.isEmpty else { throw BenchError("no update arrived") }
    func q(_ x: Double) -> Double { Double(got[min(got.count - 1, Int(Double(got.count) * x))]) / 1e6 }
    report("updates received", Double(got.count), "of \(updates)")
    report("latency p50", q(0.5), "ms")
    report("latency p99", q(0.99), "ms")
    report("latency max", Double(got.last!) / 1e6, "ms")
    client.close(promise: nil)
    publisher.stop()
    subscriber.stop()
    try? group.syncShutdownGracefully()
    runBlocking { await http.stop() }
    server.stop()
}

private struct LatencyQueries: StatsQuerying {
    let board: StatsBoard
    var windows: [WindowSpec] { configuration.windows }
    var bucketStep: Int64 { configuration.bucketStep }
    var isReady: Bool { true }
    func statsBody(token: String) -> ByteBuffer? { board.entry(token)?.body }
    func top(window: String, by: RankBy, limit: Int) -> (asOf: Int64?, tokens: [RankedToken]) { (nil, []) }
    func candles(token: String, interval: Int64, limit: Int) async -> (asOf: Int64, candles: [Candle])? { nil }
}

private final class TokenRequest: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart
    let path: String
    init(path: String) { self.path = path }
    func channelActive(context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: "127.0.0.1")
        context.write(
            wrapOutboundOut(.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers))),
            promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }
}

private final class LatencyLog: Sendable {
    let values = Mutex<[UInt64]>([])
}

/// Records now − the publish time in each `stats` message's body.
private final class LatencyRecorder: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    let latencies: LatencyLog
    init(latencies: LatencyLog) { self.latencies = latencies }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard frame.opcode == .text else { return }
        let text = String(buffer: frame.data)
        guard text.contains("\"type\":\"stats\""), let range = text.range(of: "\"t\":") else { return }
        let digits = text[range.upperBound...].prefix { $0.isNumber }
        guard let t = UInt64(digits) else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        latencies.values.withLock { $0.append(now - t) }
    }
}
