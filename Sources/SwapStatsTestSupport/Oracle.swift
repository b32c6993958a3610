public import SwapStatsCore

/// The contract's semantics written as plainly as possible: keep every event in arrays and
/// recompute each answer by scanning them. Tests compare the engine against it.
public struct Oracle {
    public let configuration: EngineConfiguration
    /// Accepted ids with the newest bucket each was accepted in.
    var acceptedIDs: [String: Int64] = [:]
    /// Accepted events not yet released by the watermark.
    var pending: [SwapEvent] = []
    /// Released (or late-applied) events: what answers count.
    public private(set) var visible: [SwapEvent] = []
    public private(set) var counters = IngestCounters()
    var newestEventTime: Int64?
    var watermark: Int64?
    var clock: Int64?
    var lastActivityWall: Int64?
    var acceptedAtLastTick = 0

    public init(configuration: EngineConfiguration) { self.configuration = configuration }

    var step: Int64 { configuration.bucketStep }

    /// `asOf` of this partition: end of the clock's bucket.
    public var asOf: Int64? { clock.map { ($0 / step + 1) * step } }

    public mutating func ingest(_ e: SwapEvent) -> IngestOutcome {
        let bucket = e.ts / step
        if let clock, bucket <= clock / step - configuration.largestWindow.millis / step {
            counters.expired += 1
            return .expired
        }
        if let seen = acceptedIDs[e.id], let clock, seen > clock / step - configuration.dedupTTL / step {
            counters.duplicate += 1
            return .duplicate
        }
        if let w = watermark, e.ts < w {
            if configuration.latePolicy == .drop {
                counters.lateDropped += 1
                return .lateDropped
            }
            acceptedIDs[e.id] = max(acceptedIDs[e.id] ?? .min, bucket)
            counters.accepted += 1
            counters.lateApplied += 1
            visible.append(e)
            return .lateApplied
        }
        acceptedIDs[e.id] = max(acceptedIDs[e.id] ?? .min, bucket)
        counters.accepted += 1
        pending.append(e)
        if newestEventTime == nil || e.ts > newestEventTime! {
            newestEventTime = e.ts
            watermark = max(watermark ?? .min, e.ts - configuration.allowedLateness)
            clock = max(clock ?? .min, e.ts)
        }
        let w = watermark!
        visible += pending.filter { $0.ts < w }
        pending.removeAll { $0.ts < w }
        return .buffered
    }

    public mutating func tick(wallNow: Int64) {
        if counters.accepted != acceptedAtLastTick || lastActivityWall == nil {
            acceptedAtLastTick = counters.accepted
            lastActivityWall = wallNow
        } else if !pending.isEmpty, wallNow - lastActivityWall! >= configuration.idleFlush {
            visible += pending
            pending = []
            if let n = newestEventTime { watermark = max(watermark ?? .min, n + 1) }
        }
        if configuration.clock == .wall { clock = max(clock ?? .min, wallNow) }
    }

    /// The answer for `token` at `asOf`, or nil when it has no visible trade in the largest
    /// window.
    public func stats(token: String, asOf: Int64) -> TokenStats? {
        let mine = visible.filter { $0.token == token }
        let largest = configuration.largestWindow.millis
        let live = mine.filter { $0.ts >= asOf - largest && $0.ts < asOf }
        guard let last = live.max(by: { SwapEvent.precedes($0, $1) }) else { return nil }
        let windows = configuration.windows.map { spec in
            Self.window(spec, of: live.filter { $0.ts >= asOf - spec.millis }, asOf: asOf)
        }
        return TokenStats(token: token, asOf: asOf, lastTrade: Trade(last), windows: windows)
    }

    static func window(_ spec: WindowSpec, of events: [SwapEvent], asOf: Int64) -> WindowStats {
        var w = WindowStats(name: spec.name, from: asOf - spec.millis, to: asOf)
        guard !events.isEmpty else { return w }
        let ordered = events.sorted { SwapEvent.precedes($0, $1) }
        w.txns = events.count
        w.buys = events.filter { $0.side == .buy }.count
        w.sells = w.txns - w.buys
        w.volumeUSD = ordered.reduce(0) { $0 + $1.usd }
        w.buyVolumeUSD = ordered.filter { $0.side == .buy }.reduce(0) { $0 + $1.usd }
        w.sellVolumeUSD = ordered.filter { $0.side == .sell }.reduce(0) { $0 + $1.usd }
        w.volumeToken = ordered.reduce(0) { $0 + $1.amount }
        w.uniqueWallets = Set(events.map(\.who)).count
        w.uniqueBuyers = Set(events.filter { $0.side == .buy }.map(\.who)).count
        w.uniqueSellers = Set(events.filter { $0.side == .sell }.map(\.who)).count
        let prices = ordered.map(\.price)
        w.open = prices.first
        w.close = prices.last
        w.high = prices.max()
        w.low = prices.min()
        w.priceChangePct = w.open! != 0 ? (w.close! - w.open!) / w.open! * 100 : nil
        w.vwap = w.volumeToken > 0 ? w.volumeUSD / w.volumeToken : nil
        let mean = prices.reduce(0, +) / Double(prices.count)
        let variance = prices.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(prices.count)
        w.priceStdDev = variance.squareRoot()
        return w
    }

    /// Every token with an answer at `asOf`.
    public func tokens(asOf: Int64) -> Set<String> {
        let largest = configuration.largestWindow.millis
        return Set(visible.filter { $0.ts >= asOf - largest && $0.ts < asOf }.map(\.token))
    }
}
