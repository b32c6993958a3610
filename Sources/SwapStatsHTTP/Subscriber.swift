import CoreMetrics
import NIOCore
import NIOWebSocket

/// The outgoing side of one WebSocket connection: writes go straight to the socket while
/// it keeps up; behind that, a bounded queue in which a newer `stats` message replaces the
/// queued one of the same token. A client that lets `limit` messages pile up is closed with
/// 1008 (policy violation), so a slow client never holds memory or delays anyone else.
///
/// `@unchecked Sendable` is sound: every method runs on `eventLoop` (asserted), the only
/// thread that touches the state; other threads only hand it to that loop.
final class Subscriber: @unchecked Sendable {
    let eventLoop: any EventLoop
    private let channel: any Channel
    private let limit: Int
    private let metrics: WebSocketMetrics
    private var queue: [OutgoingMessage?] = []
    private var head = 0
    private var queuedStats: [String: Int] = [:]
    private var isClosing = false
    /// On a delivery's list of connections to flush (each is flushed once per delivery).
    var awaitingFlush = false
    /// Completes when the connection is closed.
    var closeFuture: EventLoopFuture<Void> { channel.closeFuture }

    init(channel: any Channel, limit: Int, metrics: WebSocketMetrics) {
        self.channel = channel
        eventLoop = channel.eventLoop
        self.limit = limit
        self.metrics = metrics
    }

    /// Writes `message` (true), or queues it, replaces a queued one or drops it while closing (false).
    func send(_ message: OutgoingMessage) -> Bool {
        eventLoop.preconditionInEventLoop()
        guard !isClosing else { return false }
        if head == queue.count && channel.isWritable {
            write(message)
            return true
        }
        if message.kind == .stats, let i = queuedStats[message.token] {
            queue[i] = message
            metrics.replaced.increment()
            return false
        }
        if message.kind == .stats { queuedStats[message.token] = queue.count }
        queue.append(message)
        if queue.count - head > limit { closeForLag() }
        return false
    }

    /// Writes queued messages while the socket takes them (on writability changes).
    func drain() {
        eventLoop.preconditionInEventLoop()
        while head < queue.count && channel.isWritable && !isClosing {
            let m = queue[head]!
            queue[head] = nil
            head += 1
            if m.kind == .stats { queuedStats[m.token] = nil }
            write(m)
        }
        if head == queue.count {
            queue.removeAll(keepingCapacity: queue.count < 1024)
            head = 0
        }
        flush()
    }

    func flush() {
        awaitingFlush = false
        channel.flush()
    }

    private func write(_ m: OutgoingMessage) {
        channel.write(WebSocketFrame(fin: true, opcode: .text, data: m.payload), promise: nil)
        metrics.sent.increment()
    }

    /// Closes with 1008: the client is too far behind.
    private func closeForLag() {
        queue.removeAll()
        queuedStats.removeAll()
        head = 0
        metrics.slowClientCloses.increment()
        close(code: .policyViolation, reason: "too far behind: more than \(limit) messages queued")
    }

    /// Sends a close frame, then closes (at once if the peer does not read it within a second).
    func close(code: WebSocketErrorCode, reason: String) {
        eventLoop.preconditionInEventLoop()
        guard !isClosing else { return }
        isClosing = true
        var data = channel.allocator.buffer(capacity: 2 + reason.utf8.count)
        data.write(webSocketErrorCode: code)
        data.writeString(reason)
        let channel = self.channel
        channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .connectionClose, data: data)).whenComplete { _ in
            channel.close(promise: nil)
        }
        channel.eventLoop.scheduleTask(in: .seconds(1)) { channel.close(promise: nil) }
    }
}
