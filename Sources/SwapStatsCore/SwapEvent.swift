/// The side of a swap, from the trader's point of view.
public enum Side: UInt8, Sendable, Hashable, CaseIterable {
    case buy = 0
    case sell = 1

    /// The wire name (`"buy"` / `"sell"`).
    public var name: String { self == .buy ? "buy" : "sell" }
}

/// One validated swap (contract §1): token already lowercased, `price` resolved.
///
/// The three 64-bit fingerprints are computed once, at construction, with the stable
/// ``Fingerprint`` hash: the dedup cache, the token table and the wallet table key on them,
/// and they are persisted in snapshots, so they never depend on a per-process seed.
public struct SwapEvent: Sendable, Hashable {
    /// Unique swap id, the dedup key (1–256 bytes).
    public let id: String
    /// Lowercased token id (1–128 bytes).
    public let token: String
    /// Trader wallet (1–128 bytes).
    public let who: String
    public let side: Side
    /// Token units, > 0.
    public let amount: Double
    /// USD value, >= 0.
    public let usd: Double
    /// Event time in milliseconds since the Unix epoch.
    public let ts: Int64
    /// USD per token: as given, else `usd / amount`.
    public let price: Double
    public let idHash: UInt64
    public let tokenHash: UInt64
    public let whoHash: UInt64

    /// Creates an event from already-validated values; `price` defaults to `usd / amount`.
    /// - Important: `token` must already be lowercased (``EventDecoder`` does it); this
    ///   initializer does not validate.
    public init(
        id: String, token: String, who: String, side: Side, amount: Double, usd: Double, ts: Int64,
        price: Double? = nil
    ) {
        self.id = id
        self.token = token
        self.who = who
        self.side = side
        self.amount = amount
        self.usd = usd
        self.ts = ts
        self.price = price ?? usd / amount
        self.idHash = Fingerprint.of(id)
        self.tokenHash = Fingerprint.of(token)
        self.whoHash = Fingerprint.of(who)
    }

    /// `(ts, id)` order: the order of release, of the trade feed and of open/close (ids
    /// compare by their UTF-8 bytes, ``IdOrder``).
    @inlinable
    public static func precedes(_ a: SwapEvent, _ b: SwapEvent) -> Bool {
        a.ts != b.ts ? a.ts < b.ts : IdOrder.precedes(a.id, b.id)
    }
}
