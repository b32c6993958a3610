import SwapStatsCore
import SwapStatsHTTP
import SwapStatsPipeline

/// Answers HTTP questions from the pipeline's own partitions: each question is queued to
/// every shard and answered between batches.
///
/// - Note: interim. A question waits behind the batches already queued, and `/tokens/top`
///   computes every token's stats. Published, encode-once snapshots replace this with the
///   WebSocket work of the serving issue.
struct PipelineQueries: StatsQuerying {
    let pipeline: IngestPipeline

    var windows: [WindowSpec] { pipeline.configuration.engine.windows }
    var bucketStep: Int64 { pipeline.configuration.engine.bucketStep }
    var isReady: Bool { pipeline.isReady }

    func stats(token: String) async -> TokenStats? {
        await pipeline.ask { _, engine in engine.stats(token: token) }.first
    }

    func top(window: String, by: RankBy, limit: Int) async -> (asOf: Int64?, tokens: [RankedToken]) {
        // Answers share the newest asOf of all partitions, as one instance's ranking must.
        let asOf = await pipeline.ask { _, engine in engine.asOf }.max()
        guard let asOf else { return (nil, []) }
        let ranked = await pipeline.ask { _, engine in
            TopTokens.rank(engine.allStats(asOf: max(asOf, engine.asOf ?? asOf)), window: window, by: by, limit: limit)
        }
        return (asOf, TopTokens.rank(merging: ranked, limit: limit))
    }

    func candles(token: String, interval: Int64, limit: Int) async -> (asOf: Int64, candles: [Candle])? {
        await pipeline.ask { _, engine in
            engine.candles(token: token, interval: interval, limit: limit).map { (engine.asOf ?? 0, $0) }
        }.first
    }
}
