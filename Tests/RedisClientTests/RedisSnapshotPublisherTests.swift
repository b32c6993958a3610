import Foundation
import Logging
import MetricsTestKit
import RedisClient
import SwapStatsCore
import SwapStatsPublishing
import SwapStatsRedis
import SwapStatsTestSupport
import Synchronization
import Testing

/// Holds what reached it, as the board does: the publisher writes it again when Redis lost it.
private final class LocalSink: SnapshotHolding {
    let tradeWatch = TradeWatch()
    let received = Mutex<Int>(0)
    private let held = Mutex<[String: StatsUpdate]>([:])
    func publish(stats: [StatsUpdate], trades: [TradeUpdate]) {
        received.withLock { $0 += stats.count }
        held.withLock { h in for u in stats { h[u.token] = u.stats == nil ? nil : u } }
    }
    func heldTokens() -> [String] { held.withLock { Array($0.keys) } }
    func heldUpdate(_ token: String) -> StatsUpdate? { held.withLock { $0[token] } }
}

private let logger = Logger(label: "test")

private func update(_ s: TokenStats) -> StatsUpdate {
    StatsUpdate(token: s.token, stats: s, body: StatsJSON.encode(s), partition: 0, readyAt: 0)
}

private func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

@Suite(.serialized, .timeLimit(.minutes(2)))
struct RedisSnapshotPublisherTests {
    @Test func updatesBecomeSnapshotsMessagesAndRankings() throws {
        let server = try RedisServer()
        let url = RedisURL(server.url)!
        var engine = PartitionEngine(configuration: try EngineConfiguration.fromEnvironment(["CLOCK": "event"]))
        var stream = ZipfStream(seed: 5, tokens: 30, wallets: 80, events: 3_000, span: 30 * 60_000)
        for _ in 0..<3_000 { engine.ingest(stream.next()) }
        engine.flush()
        let stats = engine.allStats()
        let first = stats[0]
        let listener = RedisConnection(url: url)
        _ = try listener.command(["SUBSCRIBE", "swapstats:upd:{\(first.token)}"])
        let local = LocalSink()
        let publisher = RedisSnapshotPublisher(
            url: url, topic: "swaps", local: local, windows: ["5m", "1h", "24h"], logger: logger)
        publisher.start()
        defer { publisher.stop() }
        publisher.publish(stats: stats.map(update), trades: [])
        #expect(local.received.withLock { $0 } == stats.count)

        let redis = RedisConnection(url: url)
        #expect(
            waitUntil(seconds: 10) {
                (try? redis.command(["GET", "swapstats:snap:{\(stats.last!.token)}"])) != .null
                    && publisher.dirtyTokens == 0
            })
        for s in stats {
            #expect(try redis.command(["GET", "swapstats:snap:{\(s.token)}"]) == .string(StatsJSON.encode(s)))
        }
        let ttl = try redis.command(["TTL", "swapstats:snap:{\(first.token)}"])
        #expect((1...120).contains { ttl == .integer($0) }, "\(ttl)")
        // The sorted sets rank as /tokens/top does.
        for (window, by) in [("1h", RankBy.volumeUSD), ("5m", .txns), ("24h", .priceChangePct)] {
            let want = TopTokens.rank(stats, window: window, by: by, limit: 5)
            let reply = try redis.command([
                "ZREVRANGE", "swapstats:rank:{\(window)}:\(by.rawValue)", "0", "4", "WITHSCORES",
            ])
            guard case .array(let items) = reply else {
                Issue.record("not an array: \(reply)")
                continue
            }
            let pairs = stride(from: 0, to: items.count, by: 2).map { (items[$0].text!, Double(items[$0 + 1].text!)!) }
            #expect(pairs.map(\.1) == want.map(\.value), "\(window) \(by)")
            // Each ranked token carries its own value (ties may order differently).
            let valueOf = Dictionary(
                uniqueKeysWithValues: stats.compactMap { s in
                    s.window(window).flatMap(by.value(of:)).map { (s.token, $0) }
                })
            #expect(pairs.allSatisfy { valueOf[$0.0] == $0.1 })
        }
        // The channel carried the body.
        #expect(
            try listener.nextReply()
                == .array([
                    .string(bytes("message")), .string(bytes("swapstats:upd:{\(first.token)}")),
                    .string(StatsJSON.encode(first)),
                ]))
        // A token whose partition moved away stays: its new owner writes it.
        publisher.publish(
            stats: [StatsUpdate(token: first.token, stats: nil, body: [], partition: 0, readyAt: 0, released: true)],
            trades: [])
        #expect(publisher.dirtyTokens == 0)
        // A barrier: once a later update is written, everything queued before it was too.
        let later = TokenStats(token: "0xlater", asOf: 0, lastTrade: nil, windows: [])
        publisher.publish(
            stats: [StatsUpdate(token: later.token, stats: later, body: bytes("{}"), partition: 0, readyAt: 0)],
            trades: [])
        #expect(
            waitUntil(seconds: 10) {
                (try? redis.command(["GET", "swapstats:snap:{0xlater}"])) == .string(bytes("{}"))
            })
        #expect(try redis.command(["GET", "swapstats:snap:{\(first.token)}"]) == .string(StatsJSON.encode(first)))
        // A token that left the largest window is removed from the snapshots and every ranking.
        publisher.publish(
            stats: [StatsUpdate(token: first.token, stats: nil, body: [], partition: 0, readyAt: 0)], trades: [])
        #expect(waitUntil(seconds: 10) { (try? redis.command(["GET", "swapstats:snap:{\(first.token)}"])) == .null })
        #expect(
            waitUntil(seconds: 10) {
                (try? redis.command(["ZSCORE", "swapstats:rank:{24h}:txns", first.token])) == .null
            })
    }

    @Test func anOutageHoldsOneUpdatePerTokenAndTheLatestIsWrittenAfter() throws {
        let server = try RedisServer()
        let url = RedisURL(server.url)!
        let publisher = RedisSnapshotPublisher(
            url: url, topic: "swaps", local: LocalSink(), windows: ["5m"], logger: logger)
        publisher.start()
        defer { publisher.stop() }
        func round(_ r: Int) -> [StatsUpdate] {
            (0..<100).map { i in
                StatsUpdate(
                    token: "0xt\(i)", stats: TokenStats(token: "0xt\(i)", asOf: 0, lastTrade: nil, windows: []),
                    body: bytes("{\"round\":\(r)}"), partition: 0, readyAt: 0)
            }
        }
        publisher.publish(stats: round(0), trades: [])
        let redis = RedisConnection(url: url)
        #expect(waitUntil(seconds: 10) { (try? redis.command(["GET", "swapstats:snap:{0xt99}"])) != .null })
        server.stop()
        for r in 1...50 {
            publisher.publish(stats: round(r), trades: [])
            #expect(publisher.dirtyTokens <= 100)
        }
        try server.start()
        // No persistence: what is there after the restart is what was re-published.
        #expect(
            waitUntil(seconds: 20) {
                (0..<100).allSatisfy { i in
                    (try? redis.command(["GET", "swapstats:snap:{0xt\(i)}"])) == .string(bytes("{\"round\":50}"))
                }
            })
        #expect(publisher.dirtyTokens == 0)
    }

    /// `count` tokens with real stats over three windows, as the engine gives them.
    private func someStats(tokens: Int, seed: UInt64 = 7) throws -> [TokenStats] {
        var engine = PartitionEngine(configuration: try EngineConfiguration.fromEnvironment(["CLOCK": "event"]))
        var stream = ZipfStream(seed: seed, tokens: tokens, wallets: 500, events: tokens * 20, span: 30 * 60_000)
        for _ in 0..<tokens * 20 { engine.ingest(stream.next()) }
        engine.flush()
        return engine.allStats()
    }

    /// Whether Redis holds every token's snapshot body and its place in a ranking.
    private func holdsAll(_ stats: [TokenStats], _ redis: RedisConnection) -> Bool {
        stats.allSatisfy { s in
            (try? redis.command(["GET", "swapstats:snap:{\(s.token)}"])) == .string(StatsJSON.encode(s))
                && (try? redis.command(["ZSCORE", "swapstats:rank:{24h}:txns", s.token])) != .null
        }
    }

    @Test func everyHeldTokenIsWrittenAgainWhenRedisLosesIt() throws {
        let server = try RedisServer()
        let url = RedisURL(server.url)!
        let stats = try someStats(tokens: 300)
        let publisher = RedisSnapshotPublisher(
            url: url, topic: "swaps", local: LocalSink(), windows: ["5m", "1h", "24h"], refreshMillis: 3_000,
            checkSeconds: 0.2,
            logger: logger)
        publisher.start()
        defer { publisher.stop() }
        publisher.publish(stats: stats.map(update), trades: [])
        let redis = RedisConnection(url: url)
        #expect(waitUntil(seconds: 10) { holdsAll(stats, redis) })

        // FLUSHALL: nothing changes upstream, everything comes back.
        #expect(try redis.command(["FLUSHALL"]) == .status("OK"))
        #expect(waitUntil(seconds: 10) { holdsAll(stats, redis) })
        #expect(publisher.republishCount == 1)

        // Restarted empty on the same port (a cache without persistence).
        server.stop()
        try server.start()
        #expect(waitUntil(seconds: 10) { holdsAll(stats, redis) })
        #expect(publisher.republishCount == 2)

        // maxmemory evicts snapshots (volatile-lru: only keys with a TTL go, and the filler
        // has none), then memory is given back.
        guard case .string(let info) = try redis.command(["INFO", "memory"]),
            let used = String(decoding: info, as: UTF8.self).split(whereSeparator: \.isNewline)
                .first(where: { $0.hasPrefix("used_memory:") }).flatMap({ Int($0.dropFirst(12)) })
        else {
            Issue.record("no used_memory in INFO")
            return
        }
        #expect(try redis.command(["CONFIG", "SET", "maxmemory-policy", "volatile-lru"]) == .status("OK"))
        #expect(try redis.command(["CONFIG", "SET", "maxmemory", "\(used + 128 * 1024)"]) == .status("OK"))
        let filler = [UInt8](repeating: 0x78, count: 16 * 1024)
        for i in 0..<16 { _ = try redis.command(bytes: [Array("SET".utf8), Array("filler:\(i)".utf8), filler]) }
        #expect(try redis.command(["CONFIG", "SET", "maxmemory", "0"]) == .status("OK"))
        guard case .string(let statsInfo) = try redis.command(["INFO", "stats"]) else { return }
        #expect(!String(decoding: statsInfo, as: UTF8.self).contains("evicted_keys:0\r"))
        // Noticed (not only healed by the periodic refresh): a third rewrite of everything.
        #expect(waitUntil(seconds: 10) { publisher.republishCount >= 3 })
        #expect(waitUntil(seconds: 10) { holdsAll(stats, redis) })
    }

    @Test func snapshotsOutliveTheirTTLWhileNothingChanges() throws {
        let server = try RedisServer()
        let url = RedisURL(server.url)!
        let stats = try someStats(tokens: 20)
        let publisher = RedisSnapshotPublisher(
            url: url, topic: "swaps", local: LocalSink(), windows: ["5m", "1h", "24h"], ttlMillis: 1_500, logger: logger
        )
        publisher.start()
        defer { publisher.stop() }
        publisher.publish(stats: stats.map(update), trades: [])
        let redis = RedisConnection(url: url)
        #expect(waitUntil(seconds: 10) { holdsAll(stats, redis) })
        // Three lifetimes with no update: every snapshot stays, its TTL renewed.
        let end = Date().addingTimeInterval(4.5)
        var checks = 0
        while Date() < end {
            let missing = stats.filter {
                (try? redis.command(["EXISTS", "swapstats:snap:{\($0.token)}"])) != .integer(1)
            }
            #expect(missing.isEmpty, "expired: \(missing.map(\.token))")
            checks += 1
        }
        #expect(checks > 10)
    }

    @Test func aRefusedWriteIsCountedOnceAndTheRestGoOn() throws {
        let server = try RedisServer()
        let url = RedisURL(server.url)!
        let stats = try someStats(tokens: 50)
        let redis = RedisConnection(url: url)
        // A ranking key someone turned into a list: every ZADD into it is refused (WRONGTYPE).
        #expect(try redis.command(["RPUSH", "swapstats:rank:{5m}:txns", "junk"]) == .integer(1))
        let metrics = TestMetrics()
        let publisher = RedisSnapshotPublisher(
            url: url, topic: "swaps", local: LocalSink(), windows: ["5m", "1h", "24h"], checkSeconds: 0.2,
            logger: logger,
            metricsFactory: metrics)
        publisher.start()
        defer { publisher.stop() }
        publisher.publish(stats: stats.map(update), trades: [])
        // Every snapshot and every other ranking is written.
        #expect(waitUntil(seconds: 10) { holdsAll(stats, redis) && publisher.dirtyTokens == 0 })
        let refused = try metrics.expectCounter("swapstats_redis_publish_errors_total", [("kind", "permanent")])
        // One refusal per token (its ZADD or ZREM into that key), and no retry of them.
        #expect(waitUntil(seconds: 10) { refused.totalValue == Int64(stats.count) })
        publisher.publish(stats: [update(stats[0])], trades: [])
        #expect(waitUntil(seconds: 10) { refused.totalValue == Int64(stats.count) + 1 })
        #expect(publisher.dirtyTokens == 0)
        #expect(
            try redis.command(["LRANGE", "swapstats:rank:{5m}:txns", "0", "-1"]) == .array([.string(bytes("junk"))]))
    }

    @Test func aFormerOwnersLateWriteIsRefused() throws {
        let server = try RedisServer()
        let url = RedisURL(server.url)!
        let s = try someStats(tokens: 1)[0]
        func body(_ text: String, released: Bool = false) -> StatsUpdate {
            StatsUpdate(
                token: s.token, stats: released ? nil : s, body: released ? [] : bytes(text), partition: 3, readyAt: 0,
                released: released)
        }
        let redis = RedisConnection(url: url)
        func snapshot() -> RedisReply? { try? redis.command(["GET", "swapstats:snap:{\(s.token)}"]) }
        let (metricsA, metricsB) = (TestMetrics(), TestMetrics())
        let a = RedisSnapshotPublisher(
            url: url, topic: "swaps", local: LocalSink(), windows: ["5m"], logger: logger, metricsFactory: metricsA)
        let b = RedisSnapshotPublisher(
            url: url, topic: "swaps", local: LocalSink(), windows: ["5m"], logger: logger, metricsFactory: metricsB)
        a.start()
        b.start()
        defer {
            a.stop()
            b.stop()
        }
        // A owns partition 3, then B takes it over (B claims a newer epoch at its first write).
        a.publish(stats: [body("from A")], trades: [])
        #expect(waitUntil(seconds: 10) { snapshot() == .string(bytes("from A")) })
        b.publish(stats: [body("from B")], trades: [])
        #expect(waitUntil(seconds: 10) { snapshot() == .string(bytes("from B")) })
        // A's write after B's claim (A has not seen the revocation yet) is refused.
        a.publish(stats: [body("late from A")], trades: [])
        let fenced = try metricsA.expectCounter("swapstats_redis_fenced_writes_total")
        #expect(waitUntil(seconds: 10) { fenced.totalValue == 1 && a.dirtyTokens == 0 })
        #expect(snapshot() == .string(bytes("from B")))
        #expect(try metricsB.expectCounter("swapstats_redis_fenced_writes_total").totalValue == 0)
        // After a FLUSHALL the owner key is gone too; B's next write sets it again and A
        // is still refused.
        #expect(try redis.command(["FLUSHALL"]) == .status("OK"))
        b.publish(stats: [body("B again")], trades: [])
        #expect(waitUntil(seconds: 10) { snapshot() == .string(bytes("B again")) })
        a.publish(stats: [body("A again")], trades: [])
        #expect(waitUntil(seconds: 10) { fenced.totalValue == 2 && a.dirtyTokens == 0 })
        #expect(snapshot() == .string(bytes("B again")))
        // B lets the partition go and A gets it back: A claims anew and its writes land.
        b.publish(stats: [body("", released: true)], trades: [])
        a.publish(stats: [body("", released: true)], trades: [])
        a.publish(stats: [body("A owns it again")], trades: [])
        #expect(waitUntil(seconds: 10) { snapshot() == .string(bytes("A owns it again")) })
        #expect(fenced.totalValue == 2)
    }
}
