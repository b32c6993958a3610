import Foundation
import Logging
import RedisClient
import SwapStatsCore
import SwapStatsRedis
import SwapStatsTestSupport
import Synchronization
import Testing

/// Counts what reached the local sink behind the publisher.
private final class LocalSink: SnapshotSink {
    let tradeWatch = TradeWatch()
    let received = Mutex<Int>(0)
    func publish(stats: [StatsUpdate], trades: [TradeUpdate]) { received.withLock { $0 += stats.count } }
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
            url: url, local: local, windows: ["5m", "1h", "24h"], logger: logger)
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
        Thread.sleep(forTimeInterval: 0.3)
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
        let publisher = RedisSnapshotPublisher(url: url, local: LocalSink(), windows: ["5m"], logger: logger)
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
}
