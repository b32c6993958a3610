public import CoreMetrics
import Dispatch
import Foundation
public import Logging
public import RedisClient
public import SwapStatsCore
public import SwapStatsPublishing
import Synchronization

/// Mirrors every published stats update into Redis (contract §5), behind the local sink it
/// wraps (the in-process board keeps serving, whatever Redis does):
/// - `SET swapstats:snap:{token} <body> PX <ttl>` and `PUBLISH swapstats:upd:{token} <body>`;
/// - `ZADD swapstats:rank:{window}:{by} <value> <token>` for every window and ranking, or
///   `ZREM` when the window has no value (and for a token that left);
/// - a token that left the largest window: `DEL` of its snapshot. A token whose partition
///   moved to another instance is left to its new owner (and its pending write dropped).
///
/// Each token's commands run as one fenced script (``RedisFence``): the instance claims a
/// partition's owner epoch before its first write for it, and a write whose epoch is older
/// than the partition's newest claim is refused (`swapstats_redis_fenced_writes_total`), so
/// a former owner's late write never overwrites its successor's.
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
///
/// Its thread runs from ``start()`` to ``stop()``.
public final class RedisSnapshotPublisher: SnapshotSink, @unchecked Sendable {
    public var tradeWatch: TradeWatch { local.tradeWatch }
    private let local: any SnapshotHolding
    private let url: RedisURL
    private let topic: String
    private let windows: [String]
    private let ttlMillis: Int64
    private let refreshNanos: UInt64
    private let checkNanos: UInt64
    private let batchSize: Int
    private let logger: Logger
    private let dirty = Mutex<[String: Pending]>([:])
    private let wake = DispatchSemaphore(value: 0)
    /// Partitions that left this instance since the thread last looked: their claims go.
    private let released = Mutex<Set<Int32>>([])
    private let started = Atomic<Bool>(false)
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
        let fenced: Counter
        let depth: Gauge
        let republished: [RedisWatch.Loss: Counter]

        init(factory: any MetricsFactory) {
            latency = CoreMetrics.Timer(label: "swapstats_redis_publish_seconds", factory: factory)
            batch = Recorder(label: "swapstats_redis_publish_batch_size", aggregate: true, factory: factory)
            let errors = "swapstats_redis_publish_errors_total"
            connectionErrors = Counter(label: errors, dimensions: [("kind", "connection")], factory: factory)
            transientErrors = Counter(label: errors, dimensions: [("kind", "transient")], factory: factory)
            permanentErrors = Counter(label: errors, dimensions: [("kind", "permanent")], factory: factory)
            fenced = Counter(label: "swapstats_redis_fenced_writes_total", factory: factory)
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

    /// A publisher; its thread starts with ``start()``.
    /// - Parameters:
    ///   - topic: the Kafka topic (partitions' owner keys are per topic).
    ///   - local: the in-process board; every update goes to it first, and it is what is
    ///     written again when Redis lost it.
    ///   - windows: the configured window names (the rankings' keys).
    ///   - ttlMillis: lifetime of a snapshot key (`REDIS_SNAPSHOT_TTL`): a token whose owner
    ///     is gone disappears after it.
    ///   - refreshMillis: how often every held snapshot is written again
    ///     (`REDIS_REFRESH_INTERVAL`; default a third of the TTL).
    ///   - checkSeconds: how often Redis is asked whether it lost data.
    public init(
        url: RedisURL, topic: String, local: any SnapshotHolding, windows: [String], ttlMillis: Int64 = 120_000,
        refreshMillis: Int64? = nil, checkSeconds: Double = 1, batchSize: Int = 500, logger: Logger,
        metricsFactory: (any MetricsFactory)? = nil
    ) {
        self.url = url
        self.topic = topic
        self.local = local
        self.windows = windows
        self.ttlMillis = max(1, ttlMillis)
        refreshNanos = UInt64(max(10, refreshMillis ?? ttlMillis / 3)) * 1_000_000
        checkNanos = UInt64(max(0.01, checkSeconds) * 1e9)
        self.batchSize = batchSize
        self.logger = logger
        metrics = Metrics(factory: metricsFactory ?? MetricsSystem.factory)
    }

    /// Starts the publishing thread (once).
    public func start() {
        guard !started.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let thread = Thread { [self] in run() }
        thread.name = "swapstats-redis-publisher"
        thread.start()
    }

    public func publish(stats: [StatsUpdate], trades: [TradeUpdate]) {
        local.publish(stats: stats, trades: trades)
        guard !stats.isEmpty else { return }
        var left: Set<Int32> = []
        let depth = dirty.withLock { d in
            for u in stats {
                // The partition moved: its new owner writes the token now; ours must not
                // land after theirs (and its claim goes).
                d[u.token] = u.released ? nil : .update(u)
                if u.released { left.insert(u.partition) }
            }
            return d.count
        }
        if !left.isEmpty { released.withLock { $0.formUnion(left) } }
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
        guard started.load(ordering: .acquiring) else { return }
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
        var scripts: RedisFence.Loaded?
        /// The epoch this instance claimed for each partition it writes (``RedisFence``).
        var epochs: [Int32: Int64] = [:]
        var fencedLogged: Set<Int32> = []
        var nextCheck: UInt64 = 0
        var nextRefresh = now() + refreshNanos
        var backoff: UInt64 = 0
        var retryAt: UInt64 = 0
        var loggedCodes: Set<String> = []
        while true {
            let stopping = stopped.load(ordering: .acquiring)
            let gone = released.withLock { r in
                defer { r = [] }
                return r
            }
            for p in gone {
                epochs[p] = nil
                fencedLogged.remove(p)
            }
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
            // What each token writes: its update, and whether with a message and rankings.
            var writes: [(token: String, pending: Pending, update: StatsUpdate, full: Bool)] = []
            for (token, pending) in batch {
                switch pending {
                case .update(let u): writes.append((token, pending, u, true))
                case .rewrite(let full):
                    // The board's current update: never older than one queued before it.
                    guard let u = local.heldUpdate(token) else { continue }
                    writes.append((token, pending, u, full))
                }
            }
            let started = now()
            do throws(RedisError) {
                if scripts == nil { scripts = try RedisFence.Loaded.load(redis) }
                guard let loaded = scripts else { throw RedisError.io("SCRIPT LOAD did not answer a digest") }
                // Partitions written for the first time since they came here: claim them.
                let unclaimed = Array(Set(writes.map(\.update.partition)).filter { epochs[$0] == nil })
                if !unclaimed.isEmpty {
                    let replies = try redis.pipeline(
                        unclaimed.map {
                            [b("EVALSHA"), loaded.claim, b("1"), RedisKeys.owner(topic: topic, partition: $0)]
                        })
                    for (p, reply) in zip(unclaimed, replies) {
                        if case .integer(let epoch) = reply { epochs[p] = epoch }
                    }
                    if replies.contains(where: { $0.errorCode == "NOSCRIPT" }) { scripts = nil }
                }
                var commands: [[[UInt8]]] = []
                var sent: [(token: String, pending: Pending, partition: Int32)] = []
                var unsent: [(String, Pending)] = []
                for w in writes {
                    guard let epoch = epochs[w.update.partition] else {
                        unsent.append((w.token, w.pending))
                        continue
                    }
                    commands.append(write(w.update, epoch: epoch, full: w.full, script: loaded.write))
                    sent.append((w.token, w.pending, w.update.partition))
                }
                let replies = try redis.pipeline(commands)
                metrics.latency.recordNanoseconds(Int64(now() - started))
                metrics.batch.record(sent.count)
                var retry = unsent
                for (w, reply) in zip(sent, replies) {
                    switch reply {
                    case .integer(1): continue
                    case .integer:
                        metrics.fenced.increment()
                        if fencedLogged.insert(w.partition).inserted {
                            logger.warning(
                                "redis refused this instance's snapshot writes: another instance owns the partition now",
                                metadata: ["partition": "\(w.partition)"])
                        }
                    case _ where reply.errorCode == "NOSCRIPT":
                        // Redis restarted since the scripts were loaded.
                        scripts = nil
                        retry.append((w.token, w.pending))
                    case _ where reply.isTransientError:
                        metrics.transientErrors.increment()
                        retry.append((w.token, w.pending))
                        if loggedCodes.insert(reply.errorCode!).inserted {
                            logger.warning("redis is not taking writes now, retrying: \(reply)")
                        }
                    default:
                        metrics.permanentErrors.increment()
                        if let code = reply.errorCode, loggedCodes.insert(code).inserted {
                            logger.error(
                                "redis refused a snapshot write; counted in swapstats_redis_publish_errors_total{kind=\"permanent\"}, logged once per error code",
                                metadata: ["token": "\(w.token)", "reply": "\(reply)"])
                        }
                    }
                }
                if retry.isEmpty {
                    backoff = 0
                } else {
                    putBack(retry)
                    backoff = backoff == 0 ? 50_000_000 : min(5_000_000_000, backoff * 2)
                    retryAt = now() + (scripts == nil ? 0 : backoff)
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

    /// The fenced write of one update (``RedisFence/writeScript``): its snapshot (or its
    /// removal), and when `full` its message and every ranking.
    private func write(_ u: StatsUpdate, epoch: Int64, full: Bool, script: [UInt8]) -> [[UInt8]] {
        var keys = [RedisKeys.owner(topic: topic, partition: u.partition), RedisKeys.snapshot(u.token)]
        var scores: [[UInt8]] = []
        let removed = u.stats == nil
        if full || removed {
            for window in windows {
                let w = u.stats?.window(window)
                for by in RankBy.allCases {
                    keys.append(RedisKeys.ranking(window: window, by: by))
                    scores.append(w.flatMap(by.value(of:)).map { b(RedisKeys.score($0)) } ?? [])
                }
            }
        }
        let channel = full && !removed ? RedisKeys.updates(u.token) : []
        return [b("EVALSHA"), script, b("\(keys.count)")] + keys + [
            b("\(epoch)"), u.body, b("\(ttlMillis)"), channel, Array(u.token.utf8), b(full || removed ? "1" : "0"),
        ] + scores
    }
}

private func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

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
