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

/// One window of one sliding token: where it starts among the token's buckets (behind its
/// newest one) and its running body.
struct WindowState: Sendable, Equatable {
    var start: Int
    var body: WindowBody
}
