public import CoreMetrics
import Dispatch
import Foundation
public import Logging
public import RedisClient
public import SwapStatsCore
import Synchronization

/// Mirrors every published stats update into Redis (contract §5), behind the local sink it
/// wraps (the in-process board keeps serving, whatever Redis does):
/// - `SET swapstats:snap:{token} <body> PX <ttl>` and `PUBLISH swapstats:upd:{token} <body>`;
/// - `ZADD swapstats:rank:{window}:{by} <value> <token>` for every window and ranking, or
///   `ZREM` when the window has no value (and for a token that left);
/// - a token that left the largest window: `DEL` of its snapshot. A token whose partition
///   moved to another instance is left to its new owner (and its pending write dropped).
///
/// Updates are coalesced per token (the newest wins) into a dirty set that one thread of its
/// own drains in pipelined batches. While Redis is down the set holds at most one entry per
/// token, never a backlog; after a failed batch its tokens go back unless a newer update
/// came, so the latest state of every dirty token is published once Redis is back.
///
/// Redis is a cache that may lose anything: see ``RedisWatch`` for how a lost, flushed,
/// evicted or reloaded Redis is noticed. Then every token the local sink holds is written
/// again (snapshot, rankings and a message), and every `refreshInterval` each snapshot is
/// written again with a fresh TTL, whether or not it changed.
///
/// Error replies: transient ones (``RedisReply/isTransientError``) put the token back and
/// back off (50 ms doubling to 5 s); any other is counted, logged once per error code, and
/// that token's write is dropped until its next update or refresh (no retry loop).
public final class RedisSnapshotPublisher: SnapshotSink, @unchecked Sendable {
    public var tradeWatch: TradeWatch { local.tradeWatch }
    private let local: any SnapshotHolding
    private let url: RedisURL
    private let windows: [String]
    private let ttlMillis: Int64
    private let refreshNanos: UInt64
    private let checkNanos: UInt64
    private let batchSize: Int
    private let logger: Logger
    private let dirty = Mutex<[String: Pending]>([:])
    private let wake = DispatchSemaphore(value: 0)
    private let stopped = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)
    private let metrics: Metrics
    private let rewrites = Atomic<Int>(0)

    /// What a dirty token waits for.
    private enum Pending {
        /// This update, written in full (or the token's removal).
        case update(StatsUpdate)
        /// The local sink's current update, read when written: `full` writes the snapshot,
        /// its rankings and a message (Redis lost them); otherwise only the snapshot, with a
        /// fresh TTL.
        case rewrite(full: Bool)

        /// Whether `self` may replace `old`: an update or a full rewrite is never replaced by
        /// less.
        func replaces(_ old: Pending?) -> Bool {
            switch (self, old) {
            case (.update, _), (_, nil): true
            case (.rewrite(let full), .rewrite(let oldFull)): full || !oldFull
            case (.rewrite, .update): false
            }
        }
    }

    private struct Metrics {
        let latency: CoreMetrics.Timer
        let batch: Recorder
        let connectionErrors: Counter
        let transientErrors: Counter
        let permanentErrors: Counter
        let depth: Gauge
        let republished: [RedisWatch.Loss: Counter]

        init(factory: any MetricsFactory) {
            latency = CoreMetrics.Timer(label: "swapstats_redis_publish_seconds", factory: factory)
            batch = Recorder(label: "swapstats_redis_publish_batch_size", aggregate: true, factory: factory)
            let errors = "swapstats_redis_publish_errors_total"
            connectionErrors = Counter(label: errors, dimensions: [("kind", "connection")], factory: factory)
            transientErrors = Counter(label: errors, dimensions: [("kind", "transient")], factory: factory)
            permanentErrors = Counter(label: errors, dimensions: [("kind", "permanent")], factory: factory)
            depth = Gauge(label: "swapstats_redis_dirty_tokens", factory: factory)
            republished = Dictionary(
                uniqueKeysWithValues: RedisWatch.Loss.allCases.map {
                    (
                        $0,
                        Counter(
                            label: "swapstats_redis_republish_total", dimensions: [("reason", $0.rawValue)],
                            factory: factory)
                    )
                })
        }
    }

    /// Starts the publishing thread.
    /// - Parameters:
    ///   - local: the in-process board; every update goes to it first, and it is what is
    ///     written again when Redis lost it.
    ///   - windows: the configured window names (the rankings' keys).
    ///   - ttlMillis: lifetime of a snapshot key (`REDIS_SNAPSHOT_TTL`): a token whose owner
    ///     is gone disappears after it.
    ///   - refreshMillis: how often every held snapshot is written again
    ///     (`REDIS_REFRESH_INTERVAL`; default a third of the TTL).
    ///   - checkSeconds: how often Redis is asked whether it lost data.
    public init(
        url: RedisURL, local: any SnapshotHolding, windows: [String], ttlMillis: Int64 = 120_000,
        refreshMillis: Int64? = nil, checkSeconds: Double = 1, batchSize: Int = 500, logger: Logger,
        metricsFactory: (any MetricsFactory)? = nil
    ) {
        self.url = url
        self.local = local
        self.windows = windows
        self.ttlMillis = max(1, ttlMillis)
        refreshNanos = UInt64(max(10, refreshMillis ?? ttlMillis / 3)) * 1_000_000
        checkNanos = UInt64(max(0.01, checkSeconds) * 1e9)
        self.batchSize = batchSize
        self.logger = logger
        metrics = Metrics(factory: metricsFactory ?? MetricsSystem.factory)
        let thread = Thread { [self] in run() }
        thread.name = "swapstats-redis-publisher"
        thread.start()
    }

    public func publish(stats: [StatsUpdate], trades: [TradeUpdate]) {
        local.publish(stats: stats, trades: trades)
        guard !stats.isEmpty else { return }
        let depth = dirty.withLock { d in
            for u in stats {
                // The partition moved: its new owner writes the token now; ours must not
                // land after theirs.
                d[u.token] = u.released ? nil : .update(u)
            }
            return d.count
        }
        metrics.depth.record(depth)
        wake.signal()
    }

    /// Tokens waiting to be written.
    public var dirtyTokens: Int { dirty.withLock { $0.count } }

    /// How many times every held token was queued to be written again because Redis lost
    /// data (not counting the periodic refresh).
    public var republishCount: Int { rewrites.load(ordering: .relaxed) }

    /// Stops the thread after one last attempt to write what is dirty.
    public func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        wake.signal()
        done.wait()
    }

    /// Queues every token the local sink holds to be written again.
    private func rewriteAll(full: Bool) {
        let tokens = local.heldTokens()
        dirty.withLock { d in
            for t in tokens where Pending.rewrite(full: full).replaces(d[t]) { d[t] = .rewrite(full: full) }
        }
    }

    private func run() {
        let redis = RedisConnection(url: url)
        let watch = RedisWatch(logger: logger)
        var nextCheck: UInt64 = 0
        var nextRefresh = now() + refreshNanos
        var backoff: UInt64 = 0
        var retryAt: UInt64 = 0
        var loggedCodes: Set<String> = []
        while true {
            let stopping = stopped.load(ordering: .acquiring)
            var t = now()
            if t >= nextCheck && !stopping {
                if let loss = watch.check(redis) {
                    metrics.republished[loss]!.increment()
                    rewrites.add(1, ordering: .relaxed)
                    rewriteAll(full: true)
                }
                nextCheck = t + checkNanos
            }
            if t >= nextRefresh && !stopping {
                rewriteAll(full: false)
                nextRefresh = t + refreshNanos
            }
            if t < retryAt && !stopping {
                _ = wake.wait(timeout: .now() + .nanoseconds(Int(min(retryAt - t, checkNanos))))
                continue
            }
            let batch = dirty.withLock { d -> [(String, Pending)] in
                // An array of keys first: a live slice of the keys would make every removal
                // copy the whole dictionary.
                let tokens = Array(d.keys.prefix(batchSize))
                return tokens.map { ($0, d.removeValue(forKey: $0)!) }
            }
            if batch.isEmpty {
                if stopping { break }
                t = now()
                let until = min(nextCheck, nextRefresh)
                _ = wake.wait(timeout: .now() + .nanoseconds(Int(until > t ? min(until - t, 100_000_000) : 0)))
                continue
            }
            // Each token's commands, and how many of the pipeline's replies are its.
            var commands: [[[UInt8]]] = []
            var spans: [(token: String, pending: Pending, count: Int)] = []
            for (token, pending) in batch {
                let written: [[[UInt8]]]
                switch pending {
                case .update(let u): written = self.commands(u, message: true, rankings: true)
                case .rewrite(let full):
                    // The board's current update: never older than one queued before it.
                    guard let u = local.heldUpdate(token) else { continue }
                    written = self.commands(u, message: full, rankings: full)
                }
                commands += written
                spans.append((token, pending, written.count))
            }
            let started = now()
            do {
                let replies = try redis.pipeline(commands)
                metrics.latency.recordNanoseconds(Int64(now() - started))
                metrics.batch.record(spans.count)
                var retry: [(String, Pending)] = []
                var i = 0
                for span in spans {
                    let mine = replies[i..<i + span.count]
                    i += span.count
                    if let transient = mine.first(where: \.isTransientError) {
                        metrics.transientErrors.increment()
                        retry.append((span.token, span.pending))
                        if loggedCodes.insert(transient.errorCode!).inserted {
                            logger.warning("redis is not taking writes now, retrying: \(transient)")
                        }
                    } else if let refused = mine.first(where: { $0.errorCode != nil }) {
                        metrics.permanentErrors.increment()
                        if loggedCodes.insert(refused.errorCode!).inserted {
                            logger.error(
                                "redis refused a snapshot write; counted in swapstats_redis_publish_errors_total{kind=\"permanent\"}, logged once per error code",
                                metadata: ["token": "\(span.token)", "reply": "\(refused)"])
                        }
                    }
                }
                if retry.isEmpty {
                    backoff = 0
                } else {
                    putBack(retry)
                    backoff = backoff == 0 ? 50_000_000 : min(5_000_000_000, backoff * 2)
                    retryAt = now() + backoff
                }
            } catch {
                metrics.connectionErrors.increment()
                putBack(batch)
                if case .backingOff(let seconds) = error {
                    retryAt = now() + UInt64(min(1, max(0.05, seconds)) * 1e9)
                } else {
                    logger.warning("redis snapshot publish failed: \(error)")
                    retryAt = now() + 50_000_000
                }
                if stopping { break }
            }
            metrics.depth.record(dirtyTokens)
        }
        redis.close()
        done.signal()
    }

    /// Back in the set, unless a newer update of the token came meanwhile.
    private func putBack(_ batch: [(String, Pending)]) {
        dirty.withLock { d in
            for (token, p) in batch {
                switch d[token] {
                case nil: d[token] = p
                case .rewrite? where p.replaces(d[token]): d[token] = p
                default: break
                }
            }
        }
    }

    /// The commands that write one update.
    private func commands(_ u: StatsUpdate, message: Bool, rankings: Bool) -> [[[UInt8]]] {
        let token = Array(u.token.utf8)
        let snap = RedisKeys.snapshot(u.token)
        var out: [[[UInt8]]] = []
        if let stats = u.stats {
            out.append([b("SET"), snap, u.body, b("PX"), b("\(ttlMillis)")])
            if message { out.append([b("PUBLISH"), RedisKeys.updates(u.token), u.body]) }
            guard rankings else { return out }
            for window in windows {
                let w = stats.window(window)
                for by in RankBy.allCases {
                    let key = RedisKeys.ranking(window: window, by: by)
                    if let w, let value = by.value(of: w) {
                        out.append([b("ZADD"), key, b(RedisKeys.score(value)), token])
                    } else {
                        out.append([b("ZREM"), key, token])
                    }
                }
            }
        } else {
            out.append([b("DEL"), snap])
            for window in windows {
                for by in RankBy.allCases { out.append([b("ZREM"), RedisKeys.ranking(window: window, by: by), token]) }
            }
        }
        return out
    }
}

private func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

private func b(_ s: String) -> [UInt8] { Array(s.utf8) }

/// The Redis names of contract §5. The `{…}` parts are hash tags, so a Redis Cluster client
/// could shard by token (and rankings by window) later.
public enum RedisKeys {
    public static func snapshot(_ token: String) -> [UInt8] { Array("swapstats:snap:{\(token)}".utf8) }
    public static func updates(_ token: String) -> [UInt8] { Array("swapstats:upd:{\(token)}".utf8) }
    public static func ranking(window: String, by: RankBy) -> [UInt8] {
        Array("swapstats:rank:{\(window)}:\(by.rawValue)".utf8)
    }
    /// A key that exists while this Redis still holds what the publisher `instance` wrote.
    public static func marker(_ instance: String) -> [UInt8] { Array("swapstats:alive:\(instance)".utf8) }
    /// A sorted-set score that round-trips the double exactly.
    public static func score(_ v: Double) -> String { "\(v)" }
}
