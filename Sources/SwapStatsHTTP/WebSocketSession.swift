import Foundation
import NIOCore
import NIOWebSocket
import SwapStatsCore
import SwapStatsPublishing

/// One upgraded WebSocket connection (contract §4): its subscriptions, the snapshot on each
/// subscribe, the client's `subscribe`/`unsubscribe` messages on `/ws`, pings, and the
/// close handshake. Updates reach it through the ``SubscriptionHub``.
final class WebSocketSession: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let target: WebSocketTarget
    private let board: StatsBoard
    private let limits: HTTPLimits
    private var subscriber: Subscriber?
    private var stats: Set<String> = []
    private var trades: Set<String> = []
    private var pings: RepeatedTask?

    init(target: WebSocketTarget, board: StatsBoard, limits: HTTPLimits) {
        self.target = target
        self.board = board
        self.limits = limits
    }

    private var hub: SubscriptionHub { board.hub }

    func handlerAdded(context: ChannelHandlerContext) {
        let s = Subscriber(channel: context.channel, limit: limits.webSocketQueue, metrics: hub.metrics)
        subscriber = s
        hub.opened(s)
        if case .token(let token, let withTrades) = target { subscribe([token], trades: withTrades) }
        // Pings keep a quiet client's connection alive, and a dead peer's unanswered pings
        // let the idle timeout close it.
        let every = TimeAmount.milliseconds(max(1, limits.idleTimeout / 3))
        let channel = context.channel
        pings = context.eventLoop.scheduleRepeatedTask(initialDelay: every, delay: every) { _ in
            channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .ping, data: ByteBuffer()), promise: nil)
        }
        s.flush()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        pings?.cancel()
        guard let s = subscriber else { return }
        subscriber = nil
        for t in stats {
            hub.unsubscribe(s, from: t, trades: false)
            board.remote?.unwatch(t)
        }
        for t in trades {
            hub.unsubscribe(s, from: t, trades: true)
            board.tradeWatch.remove(t)
        }
        hub.closed(s)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text:
            guard case .multiplexed = target else {
                reply(.error("this connection follows one token; subscribe to many on /ws"))
                return
            }
            handle(frame.unmaskedData)
        case .ping:
            context.writeAndFlush(
                wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)), promise: nil)
        case .pong: break
        case .connectionClose:
            var data = frame.unmaskedData
            let code = data.readWebSocketErrorCode() ?? .normalClosure
            subscriber?.close(code: code, reason: "")
        default:
            subscriber?.close(code: .unacceptableData, reason: "only text messages are understood")
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        subscriber?.drain()
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        subscriber?.close(code: .protocolError, reason: "protocol error")
    }

    /// A client message on `/ws`: `{"op":"subscribe"|"unsubscribe","tokens":[…],"trades":bool}`.
    private func handle(_ text: ByteBuffer) {
        struct Request: Decodable {
            var op: String
            var tokens: [String]
            var trades: Bool?
        }
        guard let request = try? JSONDecoder().decode(Request.self, from: Data(text.readableBytesView)) else {
            reply(.error("expected {\"op\":\"subscribe\"|\"unsubscribe\",\"tokens\":[…],\"trades\":false}"))
            return
        }
        let normalized = request.tokens.map(TokenID.normalized)
        guard !normalized.contains(nil) else {
            reply(.error("a token id is 1–128 bytes"))
            return
        }
        let tokens = normalized.map { $0! }
        switch request.op {
        case "subscribe":
            guard stats.union(tokens).count <= limits.webSocketSubscriptions else {
                reply(.error("at most \(limits.webSocketSubscriptions) tokens per connection"))
                return
            }
            subscribe(tokens, trades: request.trades ?? false)
        case "unsubscribe": unsubscribe(tokens, trades: request.trades)
        default: reply(.error("op must be subscribe or unsubscribe"))
        }
    }

    /// Subscribes and sends each token's snapshot (`data` null while it has no trade in the
    /// largest window); registered before the snapshot is read, so no update falls between.
    private func subscribe(_ tokens: [String], trades withTrades: Bool) {
        guard let s = subscriber else { return }
        for token in tokens {
            if stats.insert(token).inserted {
                hub.subscribe(s, to: token, trades: false)
                // Updates of the token reach this instance whichever instance owns it.
                board.remote?.watch(token)
            }
            if withTrades && trades.insert(token).inserted {
                hub.subscribe(s, to: token, trades: true)
                board.tradeWatch.add(token)
            }
            if let body = board.entry(token)?.body {
                sendSnapshot(token, body)
            } else if let remote = board.remote {
                // Owned elsewhere (or unknown): its snapshot from Redis, when it comes.
                let session = NIOLoopBound(self, eventLoop: s.eventLoop)
                let loop = s.eventLoop
                Task(executorPreference: QueryExecutor.shared) {
                    let body = await remote.snapshot(token)
                    loop.execute { session.value.sendSnapshot(token, body) }
                }
            } else {
                sendSnapshot(token, nil)
            }
        }
        s.flush()
    }

    private func sendSnapshot(_ token: String, _ body: ByteBuffer?) {
        guard let s = subscriber, stats.contains(token) else { return }
        _ = s.send(
            OutgoingMessage(
                kind: .snapshot, token: token, payload: OutgoingMessage.encode("snapshot", token, body), readyAt: 0))
        s.flush()
    }

    /// Unsubscribes from stats and trades, or only from trades (`trades: true`).
    private func unsubscribe(_ tokens: [String], trades onlyTrades: Bool?) {
        guard let s = subscriber else { return }
        for token in tokens {
            if onlyTrades != true, stats.remove(token) != nil {
                hub.unsubscribe(s, from: token, trades: false)
                board.remote?.unwatch(token)
            }
            if trades.remove(token) != nil {
                hub.unsubscribe(s, from: token, trades: true)
                board.tradeWatch.remove(token)
            }
        }
    }

    private func reply(_ m: OutgoingMessage) {
        guard let s = subscriber else { return }
        _ = s.send(m)
        s.flush()
    }
}
