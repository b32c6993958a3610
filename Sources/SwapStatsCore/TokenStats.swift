/// One swap as answers show it (`lastTrade`, the trade feed).
public struct Trade: Sendable, Hashable {
    public var id: String
    public var ts: Int64
    public var side: Side
    public var price: Double
    public var usd: Double
    public var who: String

    public init(id: String, ts: Int64, side: Side, price: Double, usd: Double, who: String) {
        self.id = id
        self.ts = ts
        self.side = side
        self.price = price
        self.usd = usd
        self.who = who
    }

    public init(_ e: SwapEvent) {
        self.init(id: e.id, ts: e.ts, side: e.side, price: e.price, usd: e.usd, who: e.who)
    }
}

/// One window of a stats answer (contract §3). Price fields are nil when the window is empty.
public struct WindowStats: Sendable, Equatable {
    public var name: String
    /// Inclusive start, `asOf - L`.
    public var from: Int64
    /// Exclusive end, `asOf`.
    public var to: Int64
    public var txns = 0
    public var buys = 0
    public var sells = 0
    public var volumeUSD = 0.0
    public var buyVolumeUSD = 0.0
    public var sellVolumeUSD = 0.0
    public var volumeToken = 0.0
    public var uniqueWallets = 0
    public var uniqueBuyers = 0
    public var uniqueSellers = 0
    public var open: Double?
    public var high: Double?
    public var low: Double?
    public var close: Double?
    /// `(close - open) / open * 100`; nil when empty or `open` is 0.
    public var priceChangePct: Double?
    /// `volumeUsd / volumeToken`.
    public var vwap: Double?
    /// Population standard deviation of the trade prices.
    public var priceStdDev: Double?

    public init(name: String, from: Int64, to: Int64) {
        self.name = name
        self.from = from
        self.to = to
    }
}

/// A token's stats answer: all windows share one `asOf`.
public struct TokenStats: Sendable, Equatable {
    public var token: String
    /// Exclusive end of the newest bucket.
    public var asOf: Int64
    public var lastTrade: Trade?
    /// Shortest window first, as configured.
    public var windows: [WindowStats]

    public init(token: String, asOf: Int64, lastTrade: Trade?, windows: [WindowStats]) {
        self.token = token
        self.asOf = asOf
        self.lastTrade = lastTrade
        self.windows = windows
    }

    /// The window named `name`.
    public func window(_ name: String) -> WindowStats? { windows.first { $0.name == name } }
}

/// One OHLCV candle; `start` is inclusive, `start + interval` exclusive.
public struct Candle: Sendable, Equatable {
    public var start: Int64
    public var open: Double
    public var high: Double
    public var low: Double
    public var close: Double
    public var volumeUSD: Double
    public var volumeToken: Double
    public var txns: Int

    public init(
        start: Int64, open: Double, high: Double, low: Double, close: Double, volumeUSD: Double,
        volumeToken: Double, txns: Int
    ) {
        self.start = start
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.volumeUSD = volumeUSD
        self.volumeToken = volumeToken
        self.txns = txns
    }
}
