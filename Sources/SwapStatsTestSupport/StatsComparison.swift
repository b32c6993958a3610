public import SwapStatsCore

/// Compares an engine answer with the oracle's: counts, distinct wallets, open/close/high/
/// low and `lastTrade` exactly; sums and ratios within `relative` (1e-9) of their
/// magnitude; the price standard deviation also within 1e-12 of the price scale.
public enum StatsComparison {
    public static func mismatches(_ got: TokenStats?, _ want: TokenStats?, relative: Double = 1e-9) -> [String] {
        guard let got, let want else {
            return got == nil && want == nil
                ? [] : ["presence: got \(got == nil ? "none" : "stats"), want \(want == nil ? "none" : "stats")"]
        }
        var out: [String] = []
        func exact<T: Equatable>(_ name: String, _ a: T, _ b: T) {
            if a != b { out.append("\(name): got \(a), want \(b)") }
        }
        func close(_ name: String, _ a: Double?, _ b: Double?, scale: Double = 0) {
            guard let a, let b else {
                if (a == nil) != (b == nil) {
                    out.append("\(name): got \(String(describing: a)), want \(String(describing: b))")
                }
                return
            }
            let tolerance = relative * max(abs(a), abs(b)) + 1e-12 * scale
            if abs(a - b) > tolerance { out.append("\(name): got \(a), want \(b) (diff \(abs(a - b)))") }
        }
        exact("token", got.token, want.token)
        exact("asOf", got.asOf, want.asOf)
        exact("lastTrade", got.lastTrade, want.lastTrade)
        exact("window count", got.windows.count, want.windows.count)
        for (g, w) in zip(got.windows, want.windows) {
            let n = w.name
            exact("\(n).from", g.from, w.from)
            exact("\(n).to", g.to, w.to)
            exact("\(n).txns", g.txns, w.txns)
            exact("\(n).buys", g.buys, w.buys)
            exact("\(n).sells", g.sells, w.sells)
            exact("\(n).uniqueWallets", g.uniqueWallets, w.uniqueWallets)
            exact("\(n).uniqueBuyers", g.uniqueBuyers, w.uniqueBuyers)
            exact("\(n).uniqueSellers", g.uniqueSellers, w.uniqueSellers)
            exact("\(n).open", g.open, w.open)
            exact("\(n).close", g.close, w.close)
            exact("\(n).high", g.high, w.high)
            exact("\(n).low", g.low, w.low)
            close("\(n).volumeUsd", g.volumeUSD, w.volumeUSD)
            close("\(n).buyVolumeUsd", g.buyVolumeUSD, w.buyVolumeUSD)
            close("\(n).sellVolumeUsd", g.sellVolumeUSD, w.sellVolumeUSD)
            close("\(n).volumeToken", g.volumeToken, w.volumeToken)
            close("\(n).priceChangePct", g.priceChangePct, w.priceChangePct)
            close("\(n).vwap", g.vwap, w.vwap)
            close("\(n).priceStdDev", g.priceStdDev, w.priceStdDev, scale: max(abs(w.high ?? 0), abs(w.low ?? 0)))
        }
        return out
    }
}
