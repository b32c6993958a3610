import Dispatch
public import NIOCore
public import SwapStatsCore
public import SwapStatsPublishing
import Synchronization

/// The latest encoded stats of every token this instance serves, as the shards publish
/// them: a GET copies no JSON and never waits on a shard. Updates also go to the
/// WebSocket ``SubscriptionHub``, as the same bytes.
///
/// Tokens are spread over 64 independently locked stripes, so shards publishing and event
/// loops reading rarely meet on one lock.
public final class StatsBoard: SnapshotHolding {
    public let tradeWatch = TradeWatch()
    /// Fans updates out to WebSocket subscribers.
    public let hub: SubscriptionHub
    /// Tokens other instances own (nil: this instance alone).
    public let remote: (any RemoteTokens)?
    private let stripes: [Stripe]
    private let rankings = Mutex<[String: Ranking]>([:])
    /// The newest `asOf` ever published (`Int64.min` before any).
    private let newest = Atomic<Int64>(.min)
    /// How long a computed ranking is reused (nanoseconds).
    private let rankingLifetime: UInt64

    /// One token's published state.
    public struct Entry: Sendable {
        public let stats: TokenStats
        /// The contract §3 body.
        public let body: ByteBuffer
        public let partition: Int32
    }

    private final class Stripe: Sendable {
        let entries = Mutex<[String: Entry]>([:])
    }

    private struct Ranking {
        var computedAt: UInt64
        var asOf: Int64?
        var tokens: [RankedToken]
    }

    /// - Parameter rankingLifetime: milliseconds a `/tokens/top` ranking is reused
    ///   (`WS_MIN_INTERVAL`: rankings move no faster than the stats behind them).
    public init(
        hub: SubscriptionHub = SubscriptionHub(), rankingLifetime: Int64 = 250, remote: (any RemoteTokens)? = nil
    ) {
        self.hub = hub
        self.remote = remote
        self.rankingLifetime = UInt64(max(0, rankingLifetime)) * 1_000_000
        stripes = (0..<64).map { _ in Stripe() }
    }

    private func stripe(_ token: String) -> Stripe {
        stripes[Int(truncatingIfNeeded: Fingerprint.of(token) & 63)]
    }

    public func publish(stats: [StatsUpdate], trades: [TradeUpdate]) {
        var published: [(token: String, body: ByteBuffer?, readyAt: UInt64)] = []
        published.reserveCapacity(stats.count)
        for u in stats {
            let s = stripe(u.token)
            if let value = u.stats {
                var seen = newest.load(ordering: .relaxed)
                while value.asOf > seen {
                    let (done, now) = newest.compareExchange(
                        expected: seen, desired: value.asOf, ordering: .relaxed)
                    if done { break }
                    seen = now
                }
                let body = ByteBuffer(bytes: u.body)
                s.entries.withLock { $0[u.token] = Entry(stats: value, body: body, partition: u.partition) }
                published.append((u.token, body, u.readyAt))
            } else {
                _ = s.entries.withLock { $0.removeValue(forKey: u.token) }
            }
        }
        hub.deliver(stats: published, trades: trades)
    }

    /// An update of a token another instance owns, for this instance's WebSocket
    /// subscribers. Ignored while the token is on this board: its own updates go out
    /// directly, and Redis only echoes them later.
    public func remoteUpdate(token: String, body: [UInt8]) {
        guard entry(token) == nil else { return }
        hub.deliver(stats: [(token, ByteBuffer(bytes: body), DispatchTime.now().uptimeNanoseconds)], trades: [])
    }

    /// The token's published state, or nil when it has no trade in the largest window.
    public func entry(_ token: String) -> Entry? {
        stripe(token).entries.withLock { $0[token] }
    }

    public func heldTokens() -> [String] {
        var tokens: [String] = []
        for s in stripes { s.entries.withLock { tokens.append(contentsOf: $0.keys) } }
        return tokens
    }

    public func heldUpdate(_ token: String) -> StatsUpdate? {
        entry(token).map {
            StatsUpdate(
                token: token, stats: $0.stats, body: Array($0.body.readableBytesView), partition: $0.partition,
                readyAt: DispatchTime.now().uptimeNanoseconds)
        }
    }

    /// The newest `asOf` published to this board (nil before any).
    public var newestAsOf: Int64? {
        let v = newest.load(ordering: .relaxed)
        return v == .min ? nil : v
    }

    /// Tokens on the board.
    public var count: Int { stripes.reduce(0) { n, s in n + s.entries.withLock { $0.count } } }

    /// The `limit` (≤ 1000) best tokens of `window` by `by`, with the newest `asOf` among
    /// them, from a ranking at most `rankingLifetime` old.
    public func top(window: String, by: RankBy, limit: Int, now: UInt64) -> (asOf: Int64?, tokens: [RankedToken]) {
        let key = "\(window)/\(by.rawValue)"
        if let r = rankings.withLock({ $0[key] }), now &- r.computedAt < rankingLifetime {
            return (r.asOf, Array(r.tokens.prefix(limit)))
        }
        var all: [TokenStats] = []
        for s in stripes { s.entries.withLock { for e in $0.values { all.append(e.stats) } } }
        let ranked = TopTokens.rank(all, window: window, by: by, limit: 1000)
        let asOf = all.lazy.map(\.asOf).max()
        rankings.withLock { $0[key] = Ranking(computedAt: now, asOf: asOf, tokens: ranked) }
        return (asOf, Array(ranked.prefix(limit)))
    }
}
