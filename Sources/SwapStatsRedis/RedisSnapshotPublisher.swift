public import CoreMetrics
import Dispatch
import Foundation
public import Logging
public import RedisClient
public import SwapStatsCore
import Synchronization

/// Mirrors every published stats update into Redis (contract §5), behind the local sink it
/// wraps (the in-process board keeps serving, whatever Redis does):
/// - `SET swapstats:snap:{token} <body> EX <ttl>` and `PUBLISH swapstats:upd:{token} <body>`;
/// - `ZADD swapstats:rank:{window}:{by} <value> <token>` for every window and ranking, or
///   `ZREM` when the window has no value (and for a token that left);
/// - a token that left the largest window: `DEL` of its snapshot. A token whose partition
///   moved to another instance is left to its new owner (and its pending write dropped).
///
/// Updates are coalesced per token (the newest wins) into a dirty set that one thread of its
/// own drains in pipelined batches. While Redis is down the set holds at most one entry per
/// token, never a backlog; after a failed batch its tokens go back unless a newer update
/// came, so the latest state of every dirty token is published once Redis is back.
public final class RedisSnapshotPublisher: SnapshotSink, @unchecked Sendable {
    public var tradeWatch: TradeWatch { local.tradeWatch }
    private let local: any SnapshotSink
    private let url: RedisURL
    private let windows: [String]
    private let ttlSeconds: Int
    private let batchSize: Int
    private let logger: Logger
    private let dirty = Mutex<Dirty>(Dirty())
    private let wake = DispatchSemaphore(value: 0)
    private let stopped = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)
    private let metrics: Metrics

    private struct Dirty {
        var updates: [String: StatsUpdate] = [:]
    }

    private struct Metrics {
        let latency: CoreMetrics.Timer
        let batch: Recorder
        let errors: Counter
        let depth: Gauge

        init(factory: any MetricsFactory) {
            latency = CoreMetrics.Timer(label: "swapstats_redis_publish_seconds", factory: factory)
            batch = Recorder(label: "swapstats_redis_publish_batch_size", aggregate: true, factory: factory)
            errors = Counter(label: "swapstats_redis_publish_errors_total", factory: factory)
            depth = Gauge(label: "swapstats_redis_dirty_tokens", factory: factory)
        }
    }

    /// Starts the publishing thread.
    /// - Parameters:
    ///   - windows: the configured window names (the rankings' keys).
    ///   - ttlSeconds: lifetime of a snapshot key; every token is republished at least once
    ///     per bucket step while its partition is owned, so only an orphan's keys expire.
    public init(
        url: RedisURL, local: any SnapshotSink, windows: [String], ttlSeconds: Int = 120, batchSize: Int = 500,
        logger: Logger, metricsFactory: (any MetricsFactory)? = nil
    ) {
        self.url = url
        self.local = local
        self.windows = windows
        self.ttlSeconds = ttlSeconds
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
                if u.released {
                    // The partition moved: its new owner writes the token now; ours must not
                    // land after theirs.
                    d.updates[u.token] = nil
                } else {
                    d.updates[u.token] = u
                }
            }
            return d.updates.count
        }
        metrics.depth.record(depth)
        wake.signal()
    }

    /// Tokens waiting to be written.
    public var dirtyTokens: Int { dirty.withLock { $0.updates.count } }

    /// Stops the thread after one last attempt to write what is dirty.
    public func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        wake.signal()
        done.wait()
    }

    private func run() {
        let redis = RedisConnection(url: url)
        while true {
            let stopping = stopped.load(ordering: .acquiring)
            let batch = dirty.withLock { d -> [StatsUpdate] in
                // An array of keys first: a live slice of the keys would make every removal
                // copy the whole dictionary.
                let tokens = Array(d.updates.keys.prefix(batchSize))
                return tokens.map { d.updates.removeValue(forKey: $0)! }
            }
            if batch.isEmpty {
                if stopping { break }
                _ = wake.wait(timeout: .now() + .milliseconds(100))
                continue
            }
            let started = DispatchTime.now().uptimeNanoseconds
            do {
                let replies = try redis.pipeline(batch.flatMap(commands))
                metrics.latency.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - started))
                metrics.batch.record(batch.count)
                if let refusal = replies.lazy.compactMap({ r -> String? in
                    if case .error(let m) = r { m } else { nil }
                }).first {
                    // Refused (a restarted Redis answers LOADING until its data is back): the
                    // batch goes back, or these tokens would keep their old snapshots.
                    metrics.errors.increment()
                    logger.warning("redis refused snapshot commands: \(refusal)")
                    dirty.withLock { d in for u in batch where d.updates[u.token] == nil { d.updates[u.token] = u } }
                    if stopping { break }
                    _ = wake.wait(timeout: .now() + .milliseconds(50))
                }
            } catch {
                metrics.errors.increment()
                // Back in the set, unless a newer update of the token came meanwhile.
                dirty.withLock { d in for u in batch where d.updates[u.token] == nil { d.updates[u.token] = u } }
                if case .backingOff = error {} else { logger.warning("redis snapshot publish failed: \(error)") }
                if stopping { break }
                _ = wake.wait(timeout: .now() + .milliseconds(50))
            }
            metrics.depth.record(dirtyTokens)
        }
        redis.close()
        done.signal()
    }

    /// The commands that write one update.
    private func commands(_ u: StatsUpdate) -> [[[UInt8]]] {
        let token = Array(u.token.utf8)
        let snap = RedisKeys.snapshot(u.token)
        var out: [[[UInt8]]] = []
        if let stats = u.stats {
            out.append([b("SET"), snap, u.body, b("EX"), b("\(ttlSeconds)")])
            out.append([b("PUBLISH"), RedisKeys.updates(u.token), u.body])
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

private func b(_ s: String) -> [UInt8] { Array(s.utf8) }

/// The Redis names of contract §5. The `{…}` parts are hash tags, so a Redis Cluster client
/// could shard by token (and rankings by window) later.
public enum RedisKeys {
    public static func snapshot(_ token: String) -> [UInt8] { Array("swapstats:snap:{\(token)}".utf8) }
    public static func updates(_ token: String) -> [UInt8] { Array("swapstats:upd:{\(token)}".utf8) }
    public static func ranking(window: String, by: RankBy) -> [UInt8] {
        Array("swapstats:rank:{\(window)}:\(by.rawValue)".utf8)
    }
    /// A sorted-set score that round-trips the double exactly.
    public static func score(_ v: Double) -> String { "\(v)" }
}
