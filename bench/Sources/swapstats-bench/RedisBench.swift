import Dispatch
import Foundation
import Logging
import RedisClient
import SwapStatsCore
import SwapStatsPublishing
import SwapStatsRedis
import SwapStatsTestSupport

/// Snapshots published per second to a local redis-server (started here on a free port,
/// stopped by pid): `tokens` distinct tokens with real stats bodies, each written as SET with
/// TTL, PUBLISH, and a ZADD per window × ranking, pipelined in batches, by the
/// `RedisSnapshotPublisher` `serve` uses.
func redisPublishBench(tokens: Int) throws {
    let server = try RedisServer()
    var engine = PartitionEngine(configuration: configuration)
    var stream = ZipfStream(seed: 9, tokens: tokens, wallets: 10_000, events: tokens * 4, span: 3_600_000)
    for _ in 0..<(tokens * 4) { engine.ingest(stream.next()) }
    engine.flush()
    let stats = engine.allStats()
    let updates = stats.map {
        StatsUpdate(token: $0.token, stats: $0, body: StatsJSON.encode($0), partition: 0, readyAt: 0)
    }
    print("redis-publish: \(updates.count) tokens, bodies \(updates[0].body.count) B, 17 commands each")
    /// Holds nothing: the bench measures writes of updates, not rewrites after a Redis loss.
    final class Sink: SnapshotHolding {
        let tradeWatch = TradeWatch()
        func publish(stats: [StatsUpdate], trades: [TradeUpdate]) {}
        func heldTokens() -> [String] { [] }
        func heldUpdate(_ token: String) -> StatsUpdate? { nil }
    }
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    let redis = RedisConnection(url: RedisURL(server.url)!)
    for round in 0..<3 {
        _ = try redis.command(["FLUSHALL"])
        let publisher = RedisSnapshotPublisher(
            url: RedisURL(server.url)!, topic: "swaps", local: Sink(), windows: configuration.windows.map(\.name),
            logger: logger)
        publisher.start()
        let began = now()
        publisher.publish(stats: updates, trades: [])
        while publisher.dirtyTokens > 0 { usleep(200) }
        // The last batch is written once its keys exist.
        while (try? redis.command(["EXISTS", "swapstats:snap:{\(updates.last!.token)}"])) != .integer(1)
            || (try? redis.command(["DBSIZE"])) == .integer(0)
        {
            usleep(200)
        }
        publisher.stop()
        let elapsed = now() - began
        report("round \(round): snapshots/s", Double(updates.count) / elapsed, "snap/s")
    }
    server.stop()
}
