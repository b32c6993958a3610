import Dispatch
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import SwapStatsCore
import SwapStatsHTTP
import SwapStatsPublishing
import Synchronization

/// WebSocket fan-out: the server's real `StatsBoard` → `SubscriptionHub` → `HTTPServer` path
/// (one event loop thread, as `serve` runs on two cores), `connections` real WebSocket
/// clients on another event loop thread in this process, each subscribed through `/ws` to
/// `tokens` tokens. The publisher publishes one update of every token per round and waits
/// until a probe connection, served after every other subscriber of that round on the same
/// server loop, has the round's marker: a closed loop at the rate the server can write.
/// Counts what the clients decoded.
func fanoutBench(connections: Int, tokens: Int, bodyBytes: Int, seconds: Double) throws {
    print(
        "fanout: \(connections) WebSocket clients × \(tokens) tokens, \(bodyBytes) B stats bodies, \(seconds) s,"
            + " server and clients on one event loop thread each")
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    let board = StatsBoard(rankingLifetime: 0)
    let server = HTTPServer(
        router: Router(source: BoardQueries(board: board)), logger: logger,
        limits: HTTPLimits(
            maxConnections: connections + 100, idleTimeout: 3_600_000, requestsPerSecond: 0, webSocketQueue: 1_000_000),
        threads: 1, board: board)
    let port = try runBlocking { try await server.start(host: "127.0.0.1", port: 0) }
    // The clients live in a child process: 10,000 clients and their 10,000 server ends
    // would pass this machine's 20,000 descriptors per process.
    let clientGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let marker = ManagedAtomic()
    let names = (0..<tokens).map { "0xbench\($0)" }
    let child = Process()
    child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
    child.arguments = ["fanout-clients"]
    child.environment = [
        "FANOUT_PORT": "\(port)", "FANOUT_CONNECTIONS": "\(connections)", "FANOUT_TOKENS": names.joined(separator: ","),
    ]
    let toChild = Pipe()
    let fromChild = Pipe()
    child.standardInput = toChild
    child.standardOutput = fromChild
    try child.run()
    let lines = LineReaderPipe(fromChild.fileHandleForReading)
    guard let ready = lines.next(), ready.hasPrefix("ready") else { throw BenchError("clients did not start") }
    print("  \(ready)")
    let probe = try connectClient(
        group: clientGroup, port: port, subscribe: "{\"op\":\"subscribe\",\"tokens\":[\"0xmarker\"]}", counter: nil,
        marker: marker
    ).wait()
    toChild.fileHandleForWriting.write(Data("go\n".utf8))

    let padding = String(repeating: "x", count: max(0, bodyBytes - 40))
    var round = 0
    let began = now()
    while now() - began < seconds {
        round += 1
        let at = DispatchTime.now().uptimeNanoseconds
        var updates = names.map { name in
            StatsUpdate(
                token: name, stats: TokenStats(token: name, asOf: 0, lastTrade: nil, windows: []),
                body: Array("{\"round\":\(round),\"pad\":\"\(padding)\"}".utf8), partition: 0, readyAt: at)
        }
        updates.append(
            StatsUpdate(
                token: "0xmarker", stats: TokenStats(token: "0xmarker", asOf: 0, lastTrade: nil, windows: []),
                body: Array("\(round)".utf8), partition: 0, readyAt: at))
        board.publish(stats: updates, trades: [])
        while marker.value < round { marker.arrived.wait() }
    }
    let elapsed = now() - began
    toChild.fileHandleForWriting.write(Data("stop\n".utf8))
    guard let counted = lines.next(), let got = Int(counted) else { throw BenchError("clients did not report") }
    child.waitUntilExit()
    report("fanout rounds", Double(round), "rounds")
    report("fanout messages delivered", Double(got), "messages")
    report("fanout messages/s (decoded by clients)", Double(got) / elapsed, "msg/s")
    report("fanout demanded messages/s", Double(round * tokens * connections) / elapsed, "msg/s")
    probe.close(promise: nil)
    try? clientGroup.syncShutdownGracefully()
    runBlocking { await server.stop() }
}

/// The child of ``fanoutBench(connections:tokens:bodyBytes:seconds:)``: connects the
/// clients, prints `ready` once every snapshot arrived, counts text frames between `go` and
/// `stop` on stdin, and prints the count.
func fanoutClients() throws {
    let env = ProcessInfo.processInfo.environment
    let port = Int(env["FANOUT_PORT"]!)!
    let connections = Int(env["FANOUT_CONNECTIONS"]!)!
    let names = env["FANOUT_TOKENS"]!.split(separator: ",").map(String.init)
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let received = ManagedAtomic()
    let subscribe = "{\"op\":\"subscribe\",\"tokens\":[" + names.map { "\"\($0)\"" }.joined(separator: ",") + "]}"
    var channels: [any Channel] = []
    var i = 0
    while i < connections {
        let wave = (i..<min(connections, i + 500)).map { _ in
            connectClient(group: group, port: port, subscribe: subscribe, counter: received, marker: nil)
        }
        for f in wave { channels.append(try f.wait()) }
        i += wave.count
    }
    let snapshots = connections * names.count
    let deadline = Date(timeIntervalSinceNow: 120)
    while received.value < snapshots && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
    print("ready: \(connections) clients subscribed (\(received.value) snapshots)")
    _ = readLine()  // go
    let start = received.value
    _ = readLine()  // stop
    print(received.value - start)
    for c in channels { c.close(promise: nil) }
    try? group.syncShutdownGracefully()
}

/// Lines from a pipe, blocking.
final class LineReaderPipe {
    private let handle: FileHandle
    private var buffer = Data()

    init(_ handle: FileHandle) { self.handle = handle }

    func next() -> String? {
        while true {
            if let nl = buffer.firstIndex(of: 0x0A) {
                let line = String(decoding: buffer[buffer.startIndex..<nl], as: UTF8.self)
                buffer.removeSubrange(buffer.startIndex...nl)
                return line
            }
            let chunk = handle.availableData
            if chunk.isEmpty { return nil }
            buffer.append(chunk)
        }
    }
}

/// `connections` WebSocket clients of a running `swapstats serve` on `port`, each subscribed
/// through `/ws` to `tokens`; prints the messages they decoded per second for `seconds`.
func subscribersBench(port: Int, connections: Int, tokens: [String], seconds: Double) throws {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let received = ManagedAtomic()
    let subscribe = "{\"op\":\"subscribe\",\"tokens\":[" + tokens.map { "\"\($0)\"" }.joined(separator: ",") + "]}"
    var channels: [any Channel] = []
    for _ in 0..<connections {
        channels.append(
            try connectClient(group: group, port: port, subscribe: subscribe, counter: received, marker: nil).wait())
    }
    print("subscribers: \(connections) connections × \(tokens.count) tokens")
    let start = received.value
    let began = now()
    Thread.sleep(forTimeInterval: seconds)
    report("messages decoded/s", Double(received.value - start) / (now() - began), "msg/s")
    for c in channels { c.close(promise: nil) }
    try? group.syncShutdownGracefully()
}

/// A counter shared by the client handlers.
final class ManagedAtomic: Sendable {
    private let storage = Atomic<Int>(0)
    /// Signalled by every ``set(_:)``.
    let arrived = DispatchSemaphore(value: 0)
    var value: Int { storage.load(ordering: .acquiring) }
    func add(_ n: Int) { storage.add(n, ordering: .relaxed) }
    func set(_ n: Int) {
        storage.store(n, ordering: .releasing)
        arrived.signal()
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Runs async work from synchronous bench code.
func runBlocking<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) throws -> T {
    let result = Mutex<Result<T, any Error>?>(nil)
    let done = DispatchSemaphore(value: 0)
    Task {
        do {
            let value = try await work()
            result.withLock { $0 = .success(value) }
        } catch {
            result.withLock { $0 = .failure(error) }
        }
        done.signal()
    }
    done.wait()
    return try result.withLock { $0! }.get()
}

func runBlocking(_ work: @escaping @Sendable () async -> Void) {
    let done = DispatchSemaphore(value: 0)
    Task {
        await work()
        done.signal()
    }
    done.wait()
}

private struct BoardQueries: StatsQuerying {
    let board: StatsBoard
    var windows: [WindowSpec] { configuration.windows }
    var bucketStep: Int64 { configuration.bucketStep }
    var isReady: Bool { true }
    func statsBody(token: String) -> ByteBuffer? { board.entry(token)?.body }
    func top(window: String, by: RankBy, limit: Int) -> (asOf: Int64?, tokens: [RankedToken]) { (nil, []) }
    func candles(token: String, interval: Int64, limit: Int) async -> (asOf: Int64, candles: [Candle])? { nil }
}

/// One WebSocket client: upgrade `/ws`, send `subscribe`, count text frames (or, for the
/// probe, remember the newest marker round).
private func connectClient(
    group: any EventLoopGroup, port: Int, subscribe: String, counter: ManagedAtomic?, marker: ManagedAtomic?
) -> EventLoopFuture<any Channel> {
    ClientBootstrap(group: group)
        .channelOption(.socketOption(.tcp_nodelay), value: 1)
        .channelInitializer { channel in
            let upgrader = NIOWebSocketClientUpgrader(
                requestKey: "dGhlIHNhbXBsZSBub25jZQ==", maxFrameSize: 1 << 20,
                upgradePipelineHandler: { channel, _ in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            FrameCounter(subscribe: subscribe, counter: counter, marker: marker))
                    }
                })
            return channel.eventLoop.makeCompletedFuture {
                let request = UpgradeRequest()
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
        .connect(host: "127.0.0.1", port: port)
}

/// Sends the `GET /ws` upgrade request once connected.
private final class UpgradeRequest: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    func channelActive(context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: "127.0.0.1")
        context.write(
            wrapOutboundOut(.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/ws", headers: headers))),
            promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }
}

/// Counts the text frames of an upgraded connection.
private final class FrameCounter: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame
    let subscribe: String
    let counter: ManagedAtomic?
    let marker: ManagedAtomic?
    private var pending = 0

    init(subscribe: String, counter: ManagedAtomic?, marker: ManagedAtomic?) {
        self.subscribe = subscribe
        self.counter = counter
        self.marker = marker
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let data = context.channel.allocator.buffer(string: subscribe)
        context.writeAndFlush(
            wrapOutboundOut(WebSocketFrame(fin: true, opcode: .text, maskKey: .random(), data: data)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard frame.opcode == .text else { return }
        if let marker {
            // `{"type":"stats","token":"0xmarker","data":<round>}`
            let text = String(buffer: frame.data)
            if let r = text.split(separator: ":").last.flatMap({ Int($0.dropLast()) }) { marker.set(r) }
        } else {
            pending += 1
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if pending > 0 {
            counter?.add(pending)
            pending = 0
        }
    }
}
