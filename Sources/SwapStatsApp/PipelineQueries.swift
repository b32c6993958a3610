import Dispatch
import NIOCore
import SwapStatsCore
import SwapStatsHTTP
import SwapStatsPipeline
import SwapStatsRedis

/// Answers HTTP questions for `serve`: stats and rankings from the ``StatsBoard`` the shards
/// publish to (no shard is asked), candles from the token's own shard, ahead of its queued
/// batches.
struct PipelineQueries: StatsQuerying {
    let pipeline: IngestPipeline
    let board: StatsBoard
    /// Other instances' snapshots and the shared rankings (with `REDIS_URL`).
    var remote: RedisReader?

    var windows: [WindowSpec] { pipeline.configuration.engine.windows }
    var bucketStep: Int64 { pipeline.configuration.engine.bucketStep }
    var isReady: Bool { pipeline.isReady }

    func statsBody(token: String) -> ByteBuffer? { board.entry(token)?.body }

    func top(window: String, by: RankBy, limit: Int) -> (asOf: Int64?, tokens: [RankedToken]) {
        board.top(window: window, by: by, limit: limit, now: DispatchTime.now().uptimeNanoseconds)
    }

    var hasRemote: Bool { remote != nil }

    func remoteStatsBody(token: String) async -> ByteBuffer? {
        await remote?.snapshot(token).map { ByteBuffer(bytes: $0) }
    }

    func remoteTop(window: String, by: RankBy, limit: Int) async -> (asOf: Int64?, tokens: [RankedToken])? {
        guard let tokens = await remote?.top(window: window, by: by, limit: limit) else { return nil }
        // The shared sorted sets hold values, not times: this instance's newest asOf.
        return (board.newestAsOf, tokens)
    }

    func candles(token: String, interval: Int64, limit: Int) async -> (asOf: Int64, candles: [Candle])? {
        guard let partition = board.entry(token)?.partition else { return nil }
        return await pipeline.ask(partition: partition) { engine in
            engine.candles(token: token, interval: interval, limit: limit).map { (engine.asOf ?? 0, $0) }
        }
    }
}
