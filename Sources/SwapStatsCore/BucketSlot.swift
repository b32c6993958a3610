/// One bucket of one token in 36 bytes: its index, and either its only trade (a *lone*
/// bucket, the common case in the long tail) or a link to a ``MultiBucket`` record.
///
/// Distinct wallets are counted by *last appearance*: each wallet of a token counts in the
/// bucket of its newest trade (per side and overall), so a window's distinct count is the sum
/// of these counters over its buckets and can be added and subtracted like any sum. A lone
/// bucket's counters are 0 or 1, so they are bits.
struct BucketSlot: Sendable {
    /// Low 32 bits of the bucket index (``TokenState`` widens it against its newest bucket).
    var index: UInt32
    /// The flags below in the low five bits, the open time above them.
    var bits: UInt32
    /// The open trade's id in the token's ``IdArena``.
    var openId: UInt32
    // Three 64-bit values as 32-bit halves, so the slot needs 4-byte alignment only (36
    // bytes, not 40).
    private var a0: UInt32
    private var a1: UInt32
    private var b0: UInt32
    private var b1: UInt32
    private var c0: UInt32
    private var c1: UInt32

    init(index: UInt32, bits: UInt32, openTs: UInt32, openId: UInt32, a: UInt64, b: Double, c: Double) {
        self.index = index
        self.bits = bits & Self.flags | openTs << 5
        self.openId = openId
        (a0, a1) = (UInt32(truncatingIfNeeded: a), UInt32(truncatingIfNeeded: a >> 32))
        let bb = b.bitPattern
        (b0, b1) = (UInt32(truncatingIfNeeded: bb), UInt32(truncatingIfNeeded: bb >> 32))
        let cc = c.bitPattern
        (c0, c1) = (UInt32(truncatingIfNeeded: cc), UInt32(truncatingIfNeeded: cc >> 32))
    }

    /// Lone: the trade's USD bits. Multi: the ``MultiBucket`` record's position.
    var a: UInt64 {
        @inline(__always) get { UInt64(a1) << 32 | UInt64(a0) }
        @inline(__always) set {
            (a0, a1) = (UInt32(truncatingIfNeeded: newValue), UInt32(truncatingIfNeeded: newValue >> 32))
        }
    }
    /// Lone: the trade's amount. Multi: buy USD.
    var b: Double {
        @inline(__always) get { Double(bitPattern: UInt64(b1) << 32 | UInt64(b0)) }
        @inline(__always) set {
            let v = newValue.bitPattern
            (b0, b1) = (UInt32(truncatingIfNeeded: v), UInt32(truncatingIfNeeded: v >> 32))
        }
    }
    /// Lone: the trade's price. Multi: sell USD.
    var c: Double {
        @inline(__always) get { Double(bitPattern: UInt64(c1) << 32 | UInt64(c0)) }
        @inline(__always) set {
            let v = newValue.bitPattern
            (c0, c1) = (UInt32(truncatingIfNeeded: v), UInt32(truncatingIfNeeded: v >> 32))
        }
    }

    static let multi: UInt32 = 1
    static let sell: UInt32 = 1 << 1
    static let walletLast: UInt32 = 1 << 2
    static let buyerLast: UInt32 = 1 << 3
    static let sellerLast: UInt32 = 1 << 4
    static let flags: UInt32 = 0x1F
    /// Open times fit 27 bits: a bucket step of up to 37 hours.
    static let maxOpenTs: UInt32 = (1 << 27) - 1

    /// Milliseconds from the bucket's start to the open trade (a lone bucket: its trade).
    var openTs: UInt32 {
        @inline(__always) get { bits >> 5 }
        @inline(__always) set { bits = bits & Self.flags | newValue << 5 }
    }

    static let empty = BucketSlot(index: 0, bits: 0, openTs: 0, openId: IdArena.none, a: 0, b: 0, c: 0)

    @inline(__always) var isMulti: Bool { bits & Self.multi != 0 }
    @inline(__always) var record: Int { Int(truncatingIfNeeded: a) }

    /// A lone bucket holding one trade, `offset` ms into its bucket.
    static func lone(index: UInt32, _ e: SwapEvent, offset: UInt32, id: UInt32) -> BucketSlot {
        BucketSlot(
            index: index, bits: e.side == .sell ? sell : 0, openTs: offset, openId: id, a: e.usd.bitPattern,
            b: e.amount, c: e.price)
    }

    /// Lone only: the trade's fields.
    @inline(__always) var usd: Double { Double(bitPattern: a) }
    @inline(__always) var amount: Double { b }
    @inline(__always) var price: Double { c }
    @inline(__always) var side: Side { bits & Self.sell != 0 ? .sell : .buy }
}

/// What a bucket with two or more trades needs beyond its ``BucketSlot``: counts, the price
/// moments, extremes, and the close trade (88 bytes).
struct MultiBucket: Sendable {
    var txns: UInt32
    var buys: UInt32
    var walletsLast: UInt32
    var buyersLast: UInt32
    var sellersLast: UInt32
    /// Milliseconds from the bucket's start to the close trade.
    var closeTs: UInt32
    /// The close trade's id (for the newest bucket: the token's last trade).
    var closeId: UInt32
    /// The next free record while this one is free.
    var nextFree: UInt32
    var amount: Double
    /// Welford running mean and sum of squared deviations of the prices in the bucket.
    var mean: Double
    var m2: Double
    var high: Double
    var low: Double
    var openPrice: Double
    var closePrice: Double

    static let vacant = MultiBucket(
        txns: 0, buys: 0, walletsLast: 0, buyersLast: 0, sellersLast: 0, closeTs: 0, closeId: IdArena.none,
        nextFree: .max, amount: 0, mean: 0, m2: 0, high: 0, low: 0, openPrice: 0, closePrice: 0)
}

/// The additive part of a bucket: what windows add when it enters and subtract when it
/// leaves.
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

/// A read-only view of one bucket, whatever its form: what answers and candles read.
struct BucketView: Sendable {
    var index: Int64
    var totals: BucketTotals
    var high: Double
    var low: Double
    var openPrice: Double
    var closePrice: Double
}
