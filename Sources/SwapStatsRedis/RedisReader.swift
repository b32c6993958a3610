import Dispatch
public import RedisClient
public import SwapStatsCore

/// Reads other instances' published state from Redis for the serving layer: a token's
/// snapshot and the rankings. One connection on a serial queue of its own; callers suspend
/// (never block an event loop) and get nil when Redis cannot answer.
public final class RedisReader: @unchecked Sendable {
    private let queue = DispatchQueue(label: "swapstats.redis.reader")
    /// Touched only on `queue`.
    private let connection: RedisConnection

    public init(url: RedisURL, commandTimeout: Double = 0.5) {
        connection = RedisConnection(url: url, connectTimeout: commandTimeout, commandTimeout: commandTimeout)
    }

    /// The snapshot body of `token`, or nil (none, or Redis unavailable).
    public func snapshot(_ token: String) async -> [UInt8]? {
        let reply = await run([Array("GET".utf8), RedisKeys.snapshot(token)])
        if case .string(let body)? = reply { return body }
        return nil
    }

    /// The `limit` best tokens of `window` by `by` across every instance, highest first
    /// (ties by token, as `/tokens/top` orders them); nil when Redis is unavailable.
    public func top(window: String, by: RankBy, limit: Int) async -> [RankedToken]? {
        // Fetch a little more than asked, so ties at the boundary are ordered our way.
        let reply = await run([
            Array("ZREVRANGE".utf8), RedisKeys.ranking(window: window, by: by), Array("0".utf8),
            Array("\(limit + 50)".utf8), Array("WITHSCORES".utf8),
        ])
        guard case .array(let items)? = reply else { return nil }
        var ranked: [RankedToken] = []
        var i = 0
        while i + 1 < items.count {
            if let token = items[i].text, let value = items[i + 1].text.flatMap(Double.init) {
                ranked.append(RankedToken(token: token, value: value))
            }
            i += 2
        }
        return Array(TopTokens.rank(merging: [ranked], limit: limit))
    }

    private func run(_ command: [[UInt8]]) async -> RedisReply? {
        await withCheckedContinuation { continuation in
            queue.async { [self] in
                continuation.resume(returning: try? connection.command(bytes: command))
            }
        }
    }
}
