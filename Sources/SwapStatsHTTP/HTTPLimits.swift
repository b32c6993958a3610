import NIOCore
import Synchronization

/// Protection against too many or too eager clients, with safe defaults
/// (`HTTP_MAX_CONNECTIONS`, `HTTP_IDLE_TIMEOUT`, `HTTP_RATE_LIMIT`, `HTTP_MAX_HEADER_BYTES`,
/// `WS_MAX_QUEUE`).
public struct HTTPLimits: Sendable {
    /// Open connections beyond this are closed at once.
    public var maxConnections: Int
    /// A connection with nothing read for this long is closed (ms).
    public var idleTimeout: Int64
    /// Requests per second per client address (a token bucket holding one second's worth);
    /// beyond it: 429 with `Retry-After`. 0 turns it off.
    public var requestsPerSecond: Int
    /// Bytes of all request header names and values together; beyond it: 431.
    public var maxHeaderBytes: Int
    /// Messages a WebSocket client may have waiting (beyond what the socket buffers) before
    /// it is closed with 1008; a newer `stats` message replaces a waiting one of its token.
    public var webSocketQueue: Int
    /// Tokens one WebSocket connection may follow.
    public var webSocketSubscriptions: Int

    public init(
        maxConnections: Int = 10_000, idleTimeout: Int64 = 60_000, requestsPerSecond: Int = 1_000,
        maxHeaderBytes: Int = 16 * 1024, webSocketQueue: Int = 1_024, webSocketSubscriptions: Int = 10_000
    ) {
        self.maxConnections = maxConnections
        self.idleTimeout = idleTimeout
        self.requestsPerSecond = requestsPerSecond
        self.maxHeaderBytes = maxHeaderBytes
        self.webSocketQueue = webSocketQueue
        self.webSocketSubscriptions = webSocketSubscriptions
    }
}

/// Per-client token buckets. One lock, taken once per request (not on an ingest path).
final class RateLimiter: Sendable {
    private let rate: Double
    private let buckets = Mutex<[String: (tokens: Double, at: NIODeadline)]>([:])

    init(requestsPerSecond: Int) { rate = Double(requestsPerSecond) }

    /// Whether `client` may make a request now.
    func allow(_ client: String, now: NIODeadline = .now()) -> Bool {
        guard rate > 0 else { return true }
        return buckets.withLock { all in
            if all.count > 100_000 { all.removeAll(keepingCapacity: true) }  // bounded memory
            var b = all[client] ?? (rate, now)
            let elapsed = Double((now - b.at).nanoseconds) / 1e9
            b.tokens = min(rate, b.tokens + elapsed * rate)
            b.at = now
            let allowed = b.tokens >= 1
            if allowed { b.tokens -= 1 }
            all[client] = b
            return allowed
        }
    }
}

/// Closes a connection that read nothing for the idle timeout. Inbound only (NIO's
/// `IdleStateHandler` also sits on every write), with one timer per connection that is
/// re-armed lazily from the last read.
final class ReadIdleCloser: ChannelInboundHandler {
    typealias InboundIn = NIOAny
    private let timeout: TimeAmount
    private var lastRead = NIODeadline.now()
    private var check: Scheduled<Void>?

    init(timeout: TimeAmount) { self.timeout = timeout }

    func handlerAdded(context: ChannelHandlerContext) {
        lastRead = .now()
        arm(context, at: lastRead + timeout)
    }

    func handlerRemoved(context: ChannelHandlerContext) { check?.cancel() }

    func channelInactive(context: ChannelHandlerContext) {
        check?.cancel()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastRead = .now()
        context.fireChannelRead(data)
    }

    private func arm(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        check = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = bound.value
            let due = handler.lastRead + handler.timeout
            if due <= .now() { context.close(promise: nil) } else { handler.arm(context, at: due) }
        }
    }
}
