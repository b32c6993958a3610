public import CoreMetrics
import Dispatch
import NIOCore
import NIOWebSocket
import SwapStatsCore
import SwapStatsPublishing
import Synchronization

/// Fans published updates out to WebSocket subscribers. Each update's message is encoded
/// once; subscribers are grouped by event loop, so one update costs one task per loop, and
/// each connection is flushed once per delivery.
public final class SubscriptionHub: Sendable {
    private let state = Mutex<State>(State())
    let metrics: WebSocketMetrics

    private struct State {
        var stats: [String: LoopGroups] = [:]
        var trades: [String: LoopGroups] = [:]
        /// Every open WebSocket connection, subscribed to anything or not.
        var open: [ObjectIdentifier: Subscriber] = [:]
    }

    /// A token's subscribers, by event loop: arrays, cheap to copy out of the lock and to
    /// walk; removal is O(1) (swap with the last, through an index).
    private struct LoopGroups {
        var loops: [ObjectIdentifier: Group] = [:]

        struct Group {
            let loop: any EventLoop
            var subscribers: [Subscriber] = []
            var index: [ObjectIdentifier: Int] = [:]
        }

        mutating func add(_ s: Subscriber) {
            let key = ObjectIdentifier(s.eventLoop)
            var g = loops.removeValue(forKey: key) ?? Group(loop: s.eventLoop)
            if g.index[ObjectIdentifier(s)] == nil {
                g.index[ObjectIdentifier(s)] = g.subscribers.count
                g.subscribers.append(s)
            }
            loops[key] = g
        }

        mutating func remove(_ s: Subscriber) {
            let key = ObjectIdentifier(s.eventLoop)
            guard var g = loops.removeValue(forKey: key), let i = g.index.removeValue(forKey: ObjectIdentifier(s))
            else { return }
            let last = g.subscribers.removeLast()
            if i < g.subscribers.count {
                g.subscribers[i] = last
                g.index[ObjectIdentifier(last)] = i
            }
            if !g.subscribers.isEmpty { loops[key] = g }
        }

        var isEmpty: Bool { loops.isEmpty }
    }

    /// - Parameter metricsFactory: where the `swapstats_ws_*` metrics go (default: the
    ///   bootstrapped `MetricsSystem`).
    public init(metricsFactory: (any MetricsFactory)? = nil) {
        metrics = WebSocketMetrics(factory: metricsFactory ?? MetricsSystem.factory)
    }

    func opened(_ s: Subscriber) {
        state.withLock { $0.open[ObjectIdentifier(s)] = s }
        metrics.opened()
    }

    func closed(_ s: Subscriber) {
        state.withLock { $0.open[ObjectIdentifier(s)] = nil }
        metrics.closed()
    }

    /// Sends every open connection a close frame with 1001 (going away) and returns when
    /// they are all closed (a peer that does not answer is cut after a second).
    public func closeAll() async {
        let open = state.withLock { Array($0.open.values) }
        await withTaskGroup(of: Void.self) { group in
            for s in open {
                group.addTask {
                    s.eventLoop.execute { s.close(code: .goingAway, reason: "server shutting down") }
                    try? await s.closeFuture.get()
                }
            }
        }
    }

    func subscribe(_ s: Subscriber, to token: String, trades: Bool) {
        state.withLock { st in
            if trades {
                st.trades[token, default: LoopGroups()].add(s)
            } else {
                st.stats[token, default: LoopGroups()].add(s)
            }
        }
    }

    func unsubscribe(_ s: Subscriber, from token: String, trades: Bool) {
        state.withLock { st in
            if trades {
                st.trades[token]?.remove(s)
                if st.trades[token]?.isEmpty == true { st.trades[token] = nil }
            } else {
                st.stats[token]?.remove(s)
                if st.stats[token]?.isEmpty == true { st.stats[token] = nil }
            }
        }
    }

    /// Sends each stats update and trade to the token's subscribers.
    func deliver(stats: [(token: String, body: ByteBuffer?, readyAt: UInt64)], trades: [TradeUpdate]) {
        var byLoop: [ObjectIdentifier: (loop: any EventLoop, work: [(OutgoingMessage, [Subscriber])])] = [:]
        state.withLock { st in
            guard !st.stats.isEmpty || !st.trades.isEmpty else { return }
            for u in stats {
                guard let body = u.body, let groups = st.stats[u.token] else { continue }
                let m = OutgoingMessage(
                    kind: .stats, token: u.token, payload: OutgoingMessage.encode("stats", u.token, body),
                    readyAt: u.readyAt)
                for (key, g) in groups.loops { byLoop[key, default: (g.loop, [])].work.append((m, g.subscribers)) }
            }
            for t in trades {
                guard let groups = st.trades[t.token] else { continue }
                let m = OutgoingMessage(
                    kind: .trade, token: t.token,
                    payload: OutgoingMessage.encode("trade", t.token, ByteBuffer(bytes: t.body)),
                    readyAt: t.readyAt)
                for (key, g) in groups.loops { byLoop[key, default: (g.loop, [])].work.append((m, g.subscribers)) }
            }
        }
        let metrics = self.metrics
        for (_, batch) in byLoop {
            let work = batch.work
            batch.loop.execute {
                var touched: [Subscriber] = []
                for (message, subscribers) in work {
                    for s in subscribers where s.send(message) {
                        if !s.awaitingFlush {
                            s.awaitingFlush = true
                            touched.append(s)
                        }
                    }
                }
                for s in touched { s.flush() }
                let now = DispatchTime.now().uptimeNanoseconds
                for (message, _) in work { metrics.latency.recordNanoseconds(Int64(now &- message.readyAt)) }
            }
        }
    }
}

/// One message for WebSocket clients, its payload encoded once for all of them.
struct OutgoingMessage: Sendable {
    enum Kind: Sendable { case snapshot, stats, trade, error }
    let kind: Kind
    let token: String
    /// The text frame's payload.
    let payload: ByteBuffer
    /// Monotonic nanoseconds since when it is due (ingest → send latency).
    let readyAt: UInt64

    /// `{"type":…,"token":…,"data":…}` around an already encoded `data` (nil: `null`).
    static func encode(_ type: String, _ token: String, _ data: ByteBuffer?) -> ByteBuffer {
        var b = ByteBuffer()
        b.reserveCapacity(48 + token.utf8.count + (data?.readableBytes ?? 4))
        b.writeString("{\"type\":\"\(type)\",\"token\":")
        b.writeString(StatsJSON.quoted(token))
        b.writeString(",\"data\":")
        if var data { b.writeBuffer(&data) } else { b.writeString("null") }
        b.writeString("}")
        return b
    }

    static func error(_ text: String) -> OutgoingMessage {
        OutgoingMessage(
            kind: .error, token: "",
            payload: ByteBuffer(string: "{\"type\":\"error\",\"error\":\(StatsJSON.quoted(text))}"),
            readyAt: 0)
    }
}

/// The WebSocket metrics (contract §7).
final class WebSocketMetrics: Sendable {
    let connections: Gauge
    let open = Atomic<Int>(0)
    /// Messages written to WebSocket clients, every type.
    let sent: Counter
    let slowClientCloses: Counter
    let replaced: Counter
    let latency: Timer

    init(factory: any MetricsFactory) {
        connections = Gauge(label: "swapstats_ws_connections", factory: factory)
        sent = Counter(label: "swapstats_ws_messages_sent_total", factory: factory)
        slowClientCloses = Counter(label: "swapstats_ws_slow_client_closes_total", factory: factory)
        replaced = Counter(label: "swapstats_ws_stale_replaced_total", factory: factory)
        latency = Timer(label: "swapstats_ingest_to_send_seconds", factory: factory)
    }

    func opened() { connections.record(open.add(1, ordering: .relaxed).newValue) }
    func closed() { connections.record(open.subtract(1, ordering: .relaxed).newValue) }
}
