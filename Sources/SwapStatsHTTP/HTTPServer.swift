public import Logging
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOWebSocket
import Synchronization

/// HTTP/1.1 and HTTP/2 cleartext (prior knowledge) on one port, on SwiftNIO (epoll on
/// Linux), and WebSocket upgrades of HTTP/1.1 requests. Each connection's first bytes choose
/// the protocol. Published answers (stats, rankings) are written from the event loop; the
/// rest go to the ``Router`` in a task, never computing on the event loop.
public final class HTTPServer: Sendable {
    private let router: Router
    private let logger: Logger
    private let group: MultiThreadedEventLoopGroup
    private let channel = Mutex<(any Channel)?>(nil)
    private let limits: HTTPLimits
    private let connections = Atomic<Int>(0)
    private let limiter: RateLimiter
    private let board: StatsBoard?

    /// - Parameter board: where WebSocket subscribers get their snapshots and updates (nil:
    ///   no WebSocket routes).
    public init(
        router: Router, logger: Logger, limits: HTTPLimits = HTTPLimits(), threads: Int = 1, board: StatsBoard? = nil
    ) {
        self.router = router
        self.logger = logger
        self.limits = limits
        self.board = board
        limiter = RateLimiter(requestsPerSecond: limits.requestsPerSecond)
        group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
    }

    /// Binds and starts accepting.
    /// - Returns: the bound port (useful with port 0).
    /// - Throws: when the address cannot be bound.
    public func start(host: String, port: Int) async throws -> Int {
        let router = self.router
        let logger = self.logger
        let limits = self.limits
        let limiter = self.limiter
        let board = self.board
        let bound = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                let open = connections.add(1, ordering: .relaxed).newValue
                channel.closeFuture.whenComplete { _ in self.connections.subtract(1, ordering: .relaxed) }
                guard open <= limits.maxConnections else { return channel.close() }
                let client = channel.remoteAddress?.ipAddress ?? "unknown"
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        ReadIdleCloser(timeout: .milliseconds(limits.idleTimeout)),
                        ProtocolSniffer(
                            router: router, logger: logger, limiter: limiter, client: client, limits: limits,
                            board: board),
                    ])
                }
            }
            .bind(host: host, port: port).get()
        channel.withLock { $0 = bound }
        return bound.localAddress?.port ?? port
    }

    /// Stops accepting, sends every WebSocket client a close frame with 1001 (going away)
    /// and waits for them (a second at most), then closes the event loops and every other
    /// connection.
    public func stop() async {
        if let c = channel.withLock({ $0 }) { try? await c.close() }
        await board?.hub.closeAll()
        try? await group.shutdownGracefully()
    }
}

/// Looks at a connection's first bytes: the HTTP/2 preface sets up HTTP/2 (one HTTP/1-style
/// handler per stream), anything else HTTP/1.1. Then it leaves the pipeline.
final class ProtocolSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    private static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
    private let router: Router
    private let logger: Logger
    private let limiter: RateLimiter
    private let client: String
    private let limits: HTTPLimits
    private let board: StatsBoard?
    private var pending: ByteBuffer?

    init(
        router: Router, logger: Logger, limiter: RateLimiter, client: String, limits: HTTPLimits, board: StatsBoard?
    ) {
        self.router = router
        self.logger = logger
        self.limiter = limiter
        self.client = client
        self.limits = limits
        self.board = board
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if pending == nil { pending = incoming } else { pending!.writeBuffer(&incoming) }
        let seen = Array(pending!.readableBytesView.prefix(Self.preface.count))
        let isPrefix = seen.elementsEqual(Self.preface.prefix(seen.count))
        if isPrefix && seen.count < Self.preface.count { return }  // wait for the rest of the preface
        let buffer = pending!
        pending = nil
        let router = self.router
        let (limiter, client) = (self.limiter, self.client)
        do {
            if isPrefix {
                _ = try context.pipeline.syncOperations.configureHTTP2Pipeline(
                    mode: .server, connectionConfiguration: .init(), streamConfiguration: .init()
                ) { stream in
                    stream.eventLoop.makeCompletedFuture {
                        try stream.pipeline.syncOperations.addHandlers([
                            HTTP2FramePayloadToHTTP1ServerCodec(),
                            RequestHandler(router: router, isHTTP2: true, limiter: limiter, client: client),
                        ])
                    }
                }
            } else {
                try configureHTTP1(context.pipeline.syncOperations)
            }
        } catch {
            logger.debug("cannot set up the connection: \(error)")
            context.close(promise: nil)
            return
        }
        context.fireChannelRead(wrapInboundOut(buffer))
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}

extension ProtocolSniffer {
    /// HTTP/1.1 with the header limit, problem+json parse errors (431 for oversized headers),
    /// and the WebSocket upgrade of the WebSocket routes.
    private func configureHTTP1(_ pipeline: ChannelPipeline.SynchronousOperations) throws {
        let handler = RequestHandler(
            router: router, isHTTP2: false, limiter: limiter, client: client,
            requestTimeout: .milliseconds(limits.idleTimeout))
        var decoderLimits = NIOHTTPDecoderLimitConfiguration()
        decoderLimits.maxHeaderListSize = limits.maxHeaderBytes
        decoderLimits.maxHeaderFieldSize = limits.maxHeaderBytes
        var upgrade: NIOHTTPServerUpgradeSendableConfiguration?
        if let board {
            let (router, limiter, client, limits) = (self.router, self.limiter, self.client, self.limits)
            let httpHandler = NIOLoopBound(handler, eventLoop: pipeline.eventLoop)
            let upgrader = NIOWebSocketServerUpgrader(
                maxFrameSize: 64 * 1024,
                shouldUpgrade: { channel, head in
                    let target = router.webSocketTarget(
                        uri: head.uri, authorization: head.headers["authorization"].first)
                    // Refused upgrades are answered as plain HTTP by the router (400, 401, 404, 429).
                    guard target != nil, limiter.allow(client) else {
                        return channel.eventLoop.makeSucceededFuture(nil)
                    }
                    return channel.eventLoop.makeSucceededFuture(HTTPHeaders())
                },
                upgradePipelineHandler: { channel, head in
                    let target = router.webSocketTarget(
                        uri: head.uri, authorization: head.headers["authorization"].first)
                    return channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandlers([
                            NIOWebSocketFrameAggregator(
                                minNonFinalFragmentSize: 1, maxAccumulatedFrameCount: 64,
                                maxAccumulatedFrameSize: 64 * 1024),
                            WebSocketSession(target: target ?? .multiplexed, board: board, limits: limits),
                        ])
                    }
                })
            upgrade = (
                upgraders: [upgrader],
                completionHandler: { context in
                    // The upgrader removed NIO's HTTP handlers; ours go too.
                    context.pipeline.syncOperations.removeHandler(httpHandler.value, promise: nil)
                }
            )
        }
        try pipeline.configureHTTPServerPipeline(
            // Every response header is the server's own (no client value is echoed), so NIO's
            // outbound header validation would only cost time.
            withServerUpgrade: upgrade, withErrorHandling: false, withOutboundHeaderValidation: false,
            withEncoderConfiguration: .init(),
            withDecoderLimitConfiguration: decoderLimits)
        try pipeline.addHandler(handler)
    }
}

/// One request at a time (HTTP/1.1 pipelining is ordered by NIO's pipeline handler; each
/// HTTP/2 stream has its own handler): collects the head, answers at the end.
final class RequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    static let maxBody = 64 * 1024
    private let router: Router
    private let isHTTP2: Bool
    private let limiter: RateLimiter
    private let client: String
    private var head: HTTPRequestHead?
    private var bodyBytes = 0
    /// HTTP/1.1: how long a whole request may take to arrive, from the connection's start or
    /// the previous response (slowloris: trickled bytes keep a connection from being idle).
    private let requestTimeout: TimeAmount?
    /// Since when a request is awaited (nil while one is being answered).
    private var awaitingSince: NIODeadline?
    /// One timer per connection, re-armed lazily: no timer work per request.
    private var deadline: Scheduled<Void>?

    init(router: Router, isHTTP2: Bool, limiter: RateLimiter, client: String, requestTimeout: TimeAmount? = nil) {
        self.router = router
        self.isHTTP2 = isHTTP2
        self.limiter = limiter
        self.client = client
        self.requestTimeout = requestTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        guard let requestTimeout else { return }
        awaitingSince = .now()
        arm(context, at: awaitingSince! + requestTimeout)
    }

    func handlerRemoved(context: ChannelHandlerContext) { deadline?.cancel() }

    private func arm(_ context: ChannelHandlerContext, at when: NIODeadline) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(deadline: when) {
            let (handler, context) = bound.value
            guard let timeout = handler.requestTimeout else { return }
            let due = (handler.awaitingSince ?? .now()) + timeout
            if handler.awaitingSince != nil && due <= .now() {
                context.close(promise: nil)
            } else {
                handler.arm(context, at: due)
            }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            bodyBytes = 0
        case .body(let b):
            bodyBytes += b.readableBytes
        case .end:
            guard let head else { return }
            self.head = nil
            awaitingSince = nil
            guard limiter.allow(client) else {
                write(
                    .problem(429, "more than the allowed requests per second", headers: ["retry-after": "1"]),
                    head: head, context: context)
                return
            }
            if bodyBytes > Self.maxBody {
                write(
                    .problem(413, "request bodies are limited to \(Self.maxBody) bytes"), head: head, context: context)
                return
            }
            let reply = router.reply(
                method: head.method.rawValue, uri: head.uri, authorization: head.headers["authorization"].first)
            switch reply {
            case .now(let answer)
            where answer.status == 426 && head.headers["upgrade"].contains(where: { $0.lowercased() == "websocket" }):
                // An upgrade NIO's WebSocket upgrader refused (no key, wrong version).
                write(
                    .problem(
                        400,
                        "not a valid WebSocket upgrade: Sec-WebSocket-Key and Sec-WebSocket-Version 13 are required"),
                    head: head, context: context)
            case .now(let answer): write(answer, head: head, context: context)
            case .later(let work):
                let promise = context.eventLoop.makePromise(of: HTTPAnswer.self)
                Task(executorPreference: QueryExecutor.shared) { promise.succeed(await work()) }
                promise.futureResult.assumeIsolated().whenSuccess { answer in
                    self.write(answer, head: head, context: context)
                }
            }
        }
    }

    /// A request the HTTP/1 parser refused gets problem+json before the connection closes:
    /// 431 for headers over the limit, 400 otherwise (NIO's own handler sends an empty 400).
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let parse = error as? HTTPParserError {
            let answer =
                parse == .headerOverflow
                ? HTTPAnswer.problem(431, "the request headers are larger than the limit")
                : HTTPAnswer.problem(400, "the request is not valid HTTP/1.1")
            write(
                answer, head: HTTPRequestHead(version: .http1_1, method: .GET, uri: "/"), context: context, close: true)
        }
        context.fireErrorCaught(error)
    }

    private func write(_ answer: HTTPAnswer, head: HTTPRequestHead, context: ChannelHandlerContext, close: Bool = false)
    {
        var headers = HTTPHeaders()
        headers.reserveCapacity(answer.extraHeaders.count + 3)
        headers.add(name: "content-type", value: answer.contentType)
        for (k, v) in answer.extraHeaders { headers.add(name: k, value: v) }
        headers.add(name: "content-length", value: "\(answer.body.readableBytes)")
        let keepAlive = !close && (isHTTP2 || head.isKeepAlive)
        if !isHTTP2 && !keepAlive { headers.add(name: "connection", value: "close") }
        let status = HTTPResponseStatus(statusCode: answer.status)
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))),
            promise: nil)
        if head.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(answer.body))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            done.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        } else if requestTimeout != nil {
            awaitingSince = .now()
        }
    }
}
