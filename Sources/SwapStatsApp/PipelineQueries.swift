import Dispatch
import NIOCore
import SwapStatsCore
import SwapStatsHTTP
import SwapStatsPipeline

/// Answers HTTP questions for `serve`: stats and rankings from the ``StatsBoard`` the shards
/// publish to (no shard is asked), candles from the token's own shard, ahead of its queued
/// batches.
struct PipelineQueries: StatsQuerying {
    let pipeline: IngestPipeline
    let board: StatsBoard

    var windows: [WindowSpec] { pipeline.configuration.engine.windows }
    var bucketStep: Int64 { pipeline.configuration.engine.bucketStep }
    var isReady: Bool { pipeline.isReady }

    func statsBody(token: String) -> ByteBuffer? { board.entry(token)?.body }

    func top(window: String, by: RankBy, limit: Int) -> (asOf: Int64?, tokens: [RankedToken]) {
        board.top(window: window, by: by, limit: limit, now: DispatchTime.now().uptimeNanoseconds)
    }

    func candles(token: String, interval: Int64, limit: Int) async -> (asOf: Int64, candles: [Candle])? {
        guard let partition = board.entry(token)?.partition else { return nil }
        return await pipeline.ask(partition: partition) { engine in
            engine.candles(token: token, interval: interval, limit: limit).map { (engine.asOf ?? 0, $0) }
        }
    }
}
