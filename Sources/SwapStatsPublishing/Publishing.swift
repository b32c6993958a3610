public import SwapStatsCore
import Synchronization

/// One token's stats as a shard publishes them: the contract §3 body, encoded once, for
/// every GET and every WebSocket subscriber.
public struct StatsUpdate: Sendable {
    public let token: String
    /// The stats behind `body`; nil when the token has no trade left in the largest window
    /// (or its partition left this instance): forget it.
    public let stats: TokenStats?
    /// The encoded body (empty when `stats` is nil).
    public let body: [UInt8]
    /// The Kafka partition the token belongs to.
    public let partition: Int32
    /// Monotonic nanoseconds (`DispatchTime.uptimeNanoseconds`) since when this update was
    /// due: its change was consumed and `WS_MIN_INTERVAL` allowed it. The ingest → send
    /// latency starts here.
    public let readyAt: UInt64
    /// A removal because the partition left this instance (not because the token left the
    /// window): the new owner publishes the token, so shared stores keep it.
    public let released: Bool

    public init(
        token: String, stats: TokenStats?, body: [UInt8], partition: Int32, readyAt: UInt64, released: Bool = false
    ) {
        self.token = token
        self.stats = stats
        self.body = body
        self.partition = partition
        self.readyAt = readyAt
        self.released = released
    }
}

/// One applied trade of a watched token, for the trade feed.
public struct TradeUpdate: Sendable {
    public let token: String
    /// The trade object (the `lastTrade` fields), encoded.
    public let body: [UInt8]
    /// Monotonic nanoseconds when its batch was consumed.
    public let readyAt: UInt64

    public init(token: String, body: [UInt8], readyAt: UInt64) {
        self.token = token
        self.body = body
        self.readyAt = readyAt
    }
}

/// Where shards publish: the serving layer's board of encoded snapshots, or the Redis
/// mirror in front of it. Called from shard threads; implementations must be quick and never
/// block on I/O.
public protocol SnapshotSink: Sendable {
    func publish(stats: [StatsUpdate], trades: [TradeUpdate])
    /// The tokens whose trades someone wants.
    var tradeWatch: TradeWatch { get }
}

/// A sink that keeps the latest update of every token it holds, so a mirror of it (Redis,
/// a cache that may lose anything) can write them all again.
public protocol SnapshotHolding: SnapshotSink {
    /// The tokens held now.
    func heldTokens() -> [String]
    /// The latest update of `token`, or nil when it is no longer held.
    func heldUpdate(_ token: String) -> StatsUpdate?
}

/// The tokens with trade-feed subscribers, reference-counted. Shards poll ``generation``
/// (one atomic load per batch) and read the set only when it moved.
public final class TradeWatch: Sendable {
    private let counts = Mutex<[String: Int]>([:])
    private let version = Atomic<Int>(0)

    public init() {}

    /// Bumped by every change of the set.
    public var generation: Int { version.load(ordering: .acquiring) }

    /// The watched tokens.
    public var tokens: Set<String> { counts.withLock { Set($0.keys) } }

    /// One more subscriber of `token`'s trades.
    public func add(_ token: String) {
        let isNew = counts.withLock { c in
            c[token, default: 0] += 1
            return c[token] == 1
        }
        if isNew { version.add(1, ordering: .releasing) }
    }

    /// One subscriber of `token`'s trades fewer.
    public func remove(_ token: String) {
        let isGone = counts.withLock { c in
            guard let n = c[token] else { return false }
            c[token] = n > 1 ? n - 1 : nil
            return n == 1
        }
        if isGone { version.add(1, ordering: .releasing) }
    }
}
