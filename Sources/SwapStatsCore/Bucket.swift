/// A trade's place in `(ts, id)` order and its price: a bucket's open or close.
public struct TradePoint: Sendable, Hashable {
    public var ts: Int64
    public var id: String
    public var price: Double
}

/// The additive part of a bucket: what windows add when it enters and subtract when it
/// leaves. Plain data, so moving it around costs no reference counting.
struct BucketTotals: Sendable, Equatable {
    var txns: UInt32 = 0
    var buys: UInt32 = 0
    /// Wallets whose newest trade (either side) of this token is in this bucket.
    var walletsLast: UInt32 = 0
    var buyersLast: UInt32 = 0
    var sellersLast: UInt32 = 0
    var buyUSD = 0.0
    var sellUSD = 0.0
    var amount = 0.0
    /// Welford running mean and sum of squared deviations of the prices in the bucket.
    var mean = 0.0
    var m2 = 0.0
}

/// Everything one `BUCKET_STEP` of one token holds: enough to add it to or take it out of a
/// window, to draw a candle, and to count distinct wallets.
///
/// Distinct wallets are counted by *last appearance*: each wallet of a token is counted in
/// the bucket of its newest trade (per side and overall), so a window's distinct count is
/// the sum of these counters over its buckets and can be added and subtracted like a sum.
struct Bucket: Sendable {
    var index: Int64
    var totals = BucketTotals()
    var high = -Double.infinity
    var low = Double.infinity
    var open = TradePoint(ts: .max, id: "", price: 0)
    var close = TradePoint(ts: .min, id: "", price: 0)

    init(index: Int64) { self.index = index }

    /// Adds one trade (distinct-wallet counters are kept by the token, not here).
    @inline(__always)
    mutating func add(_ e: SwapEvent) {
        totals.txns += 1
        if e.side == .buy {
            totals.buys += 1
            totals.buyUSD += e.usd
        } else {
            totals.sellUSD += e.usd
        }
        totals.amount += e.amount
        let p = e.price
        let delta = p - totals.mean
        totals.mean += delta / Double(totals.txns)
        totals.m2 += delta * (p - totals.mean)
        if p > high { high = p }
        if p < low { low = p }
        if totals.txns == 1 {
            open = TradePoint(ts: e.ts, id: e.id, price: p)
            close = open
        } else {
            if e.ts < open.ts || (e.ts == open.ts && e.id < open.id) { open = TradePoint(ts: e.ts, id: e.id, price: p) }
            if e.ts > close.ts || (e.ts == close.ts && e.id > close.id) {
                close = TradePoint(ts: e.ts, id: e.id, price: p)
            }
        }
    }
}

/// A window's running aggregate over a set of buckets: counts exactly; sums in
/// double-double; prices as count, mean and M2 merged with Chan's formulas, so the variance
/// survives prices like 1e-9 or 1e6 and prices that move by orders of magnitude.
///
/// `peak` remembers the largest value each sum reached since the body was last built from
/// its buckets: when a sum falls below 2⁻⁴⁰ of it (a whale left the window), the double-double
/// residue could matter, and the owner rebuilds the body from its buckets.
struct WindowBody: Sendable, Equatable {
    var txns = 0
    var buys = 0
    var wallets = 0
    var buyers = 0
    var sellers = 0
    var buyUSD = DoubleDouble.zero
    var sellUSD = DoubleDouble.zero
    var amount = DoubleDouble.zero
    var mean = DoubleDouble.zero
    var m2 = DoubleDouble.zero
    var peaks = Peaks()

    struct Peaks: Sendable, Equatable {
        var buyUSD = 0.0
        var sellUSD = 0.0
        var amount = 0.0
        var m2 = 0.0
    }

    static let empty = WindowBody()

    @inline(__always)
    mutating func add(_ b: BucketTotals) {
        let n = Double(txns)
        let nb = Double(b.txns)
        txns += Int(b.txns)
        buys += Int(b.buys)
        wallets += Int(b.walletsLast)
        buyers += Int(b.buyersLast)
        sellers += Int(b.sellersLast)
        buyUSD += DoubleDouble(b.buyUSD)
        sellUSD += DoubleDouble(b.sellUSD)
        amount += DoubleDouble(b.amount)
        let total = Double(txns)
        let delta = DoubleDouble(b.mean) - mean
        mean += delta * DoubleDouble(nb) / total
        m2 += DoubleDouble(b.m2) + delta * delta * DoubleDouble.twoProduct(n, nb) / total
        peaks.buyUSD = max(peaks.buyUSD, buyUSD.hi)
        peaks.sellUSD = max(peaks.sellUSD, sellUSD.hi)
        peaks.amount = max(peaks.amount, amount.hi)
        peaks.m2 = max(peaks.m2, m2.hi)
    }

    @inline(__always)
    mutating func subtract(_ b: BucketTotals) {
        txns -= Int(b.txns)
        buys -= Int(b.buys)
        wallets -= Int(b.walletsLast)
        buyers -= Int(b.buyersLast)
        sellers -= Int(b.sellersLast)
        if txns == 0 {
            // Nothing left: drop the double-double residue, keep the exact counters.
            self = WindowBody(wallets: wallets, buyers: buyers, sellers: sellers)
            return
        }
        buyUSD = buys == 0 ? .zero : buyUSD - DoubleDouble(b.buyUSD)
        sellUSD = buys == txns ? .zero : sellUSD - DoubleDouble(b.sellUSD)
        amount -= DoubleDouble(b.amount)
        let n = Double(txns)
        let nb = Double(b.txns)
        let before = mean
        mean = (before * DoubleDouble(n + nb) - DoubleDouble.twoProduct(b.mean, nb)) / n
        let delta = DoubleDouble(b.mean) - mean
        m2 = m2 - DoubleDouble(b.m2) - delta * delta * DoubleDouble.twoProduct(n, nb) / (n + nb)
        if buys == 0 { peaks.buyUSD = 0 }
        if buys == txns { peaks.sellUSD = 0 }
    }

    /// Whether a sum collapsed so far below its peak that the body should be rebuilt.
    var collapsed: Bool {
        let f = 0x1p-40
        return buyUSD.hi < peaks.buyUSD * f || sellUSD.hi < peaks.sellUSD * f || amount.hi < peaks.amount * f
            || m2.hi < peaks.m2 * f
    }

    /// Population standard deviation of the prices, or nil when empty.
    var priceStdDev: Double? {
        guard txns > 0 else { return nil }
        let variance = m2.value / Double(txns)
        return variance > 0 ? variance.squareRoot() : 0
    }
}
