public import SwapStatsCore

/// What the HTTP layer reads: answers, never engine state. The pipeline (or a Redis-backed
/// view) implements it; tests use an in-memory one.
///
/// - Important: implementations must not block an event loop; they are called from tasks.
public protocol StatsQuerying: Sendable {
    /// The configured windows, shortest first, and the bucket step (ms): requests are
    /// validated against them.
    var windows: [WindowSpec] { get }
    var bucketStep: Int64 { get }
    /// Assigned partitions restored and consuming (`/readyz`).
    var isReady: Bool { get }
    /// The stats of `token` (already lowercased), or nil when it has no trade in the largest window.
    func stats(token: String) async -> TokenStats?
    /// The `limit` best tokens of `window` by `by`, with the `asOf` they were ranked at (nil
    /// when nothing has been seen).
    func top(window: String, by: RankBy, limit: Int) async -> (asOf: Int64?, tokens: [RankedToken])
    /// Candles of `interval` ms (a multiple of the step), newest `limit`, or nil for an
    /// unknown token.
    func candles(token: String, interval: Int64, limit: Int) async -> (asOf: Int64, candles: [Candle])?
}
