/// What `/tokens/top` ranks by (the contract's `by` values).
public enum RankBy: String, Sendable, CaseIterable {
    case volumeUSD = "volumeUsd"
    case txns
    case uniqueWallets
    case priceChangePct
    case priceStdDev

    /// The value a window contributes to the ranking; nil (left out) when it has none.
    public func value(of w: WindowStats) -> Double? {
        switch self {
        case .volumeUSD: w.txns > 0 ? w.volumeUSD : nil
        case .txns: w.txns > 0 ? Double(w.txns) : nil
        case .uniqueWallets: w.txns > 0 ? Double(w.uniqueWallets) : nil
        case .priceChangePct: w.priceChangePct
        case .priceStdDev: w.priceStdDev
        }
    }
}

/// One entry of a ranking.
public struct RankedToken: Sendable, Equatable {
    public var token: String
    public var value: Double

    public init(token: String, value: Double) {
        self.token = token
        self.value = value
    }
}

/// Top-N across tokens: highest value first, ties by token id.
public enum TopTokens {
    /// The `limit` best of `stats` for window `window` by `by`.
    public static func rank(
        _ stats: some Sequence<TokenStats>, window: String, by: RankBy, limit: Int
    ) -> [RankedToken] {
        var best: [RankedToken] = []
        guard limit > 0 else { return best }
        for s in stats {
            guard let w = s.window(window), let v = by.value(of: w) else { continue }
            let entry = RankedToken(token: s.token, value: v)
            if best.count == limit, let last = best.last, !Self.precedes(entry, last) { continue }
            let at = best.firstIndex { Self.precedes(entry, $0) } ?? best.count
            best.insert(entry, at: at)
            if best.count > limit { best.removeLast() }
        }
        return best
    }

    /// The `limit` best of several rankings (each already ranked, of disjoint tokens).
    public static func rank(merging rankings: [[RankedToken]], limit: Int) -> [RankedToken] {
        Array(rankings.joined().sorted(by: precedes).prefix(limit))
    }

    static func precedes(_ a: RankedToken, _ b: RankedToken) -> Bool {
        a.value != b.value ? a.value > b.value : a.token < b.token
    }
}
