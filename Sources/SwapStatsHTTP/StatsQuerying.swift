public import NIOCore
public import SwapStatsCore

/// What the HTTP layer reads: answers, never engine state. The App implements it over the
/// ``StatsBoard`` and the pipeline, and other instances' tokens through ``RemoteTokens``
/// (Redis); tests over an in-memory engine.
public protocol StatsQuerying: Sendable {
    /// The configured windows, shortest first, and the bucket step (ms): requests are
    /// validated against them.
    var windows: [WindowSpec] { get }
    var bucketStep: Int64 { get }
    /// Assigned partitions restored and consuming (`/readyz`).
    var isReady: Bool { get }
    /// The encoded stats body of `token` (already lowercased), or nil when it has no trade
    /// in the largest window.
    /// - Important: called on an event loop: it must return at once (a lookup, no I/O).
    func statsBody(token: String) -> ByteBuffer?
    /// The `limit` best tokens of `window` by `by`, with the `asOf` they were ranked at (nil
    /// when nothing has been seen).
    /// - Important: called on an event loop: it must return at once.
    func top(window: String, by: RankBy, limit: Int) -> (asOf: Int64?, tokens: [RankedToken])
    /// Candles of `interval` ms (a multiple of the step), newest `limit`, or nil for an
    /// unknown token. Called from a task; it may wait for the owning shard.
    func candles(token: String, interval: Int64, limit: Int) async -> (asOf: Int64, candles: [Candle])?
    /// Whether tokens this instance does not hold can be read elsewhere (Redis).
    var hasRemote: Bool { get }
    /// The stats body of a token another instance owns, or nil. Called from a task.
    func remoteStatsBody(token: String) async -> ByteBuffer?
    /// The ranking across every instance, or nil to rank this instance's tokens.
    func remoteTop(window: String, by: RankBy, limit: Int) async -> (asOf: Int64?, tokens: [RankedToken])?
}

extension StatsQuerying {
    public var hasRemote: Bool { false }
    public func remoteStatsBody(token: String) async -> ByteBuffer? { nil }
    public func remoteTop(window: String, by: RankBy, limit: Int) async -> (asOf: Int64?, tokens: [RankedToken])? {
        nil
    }
}

/// Tokens other instances own, for WebSocket subscribers here (the App backs it with Redis
/// pub/sub and snapshots). Their updates arrive through ``StatsBoard/remoteUpdate(token:body:)``.
public protocol RemoteTokens: Sendable {
    /// Someone here follows `token` (reference-counted).
    func watch(_ token: String)
    func unwatch(_ token: String)
    /// The token's current snapshot body, or nil.
    func snapshot(_ token: String) async -> ByteBuffer?
}
