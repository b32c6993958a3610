/// Distinct wallets by last appearance (see ``BucketSlot``).
extension TokenState {
    /// Which distinct-wallet counter a bump moves.
    enum WalletCounter { case buyers, sellers, wallets }

    /// Moves wallet `n`'s last-appearance counters to bucket `x` when `x` is newer.
    mutating func track(wallet n: UInt32, side: Side, bucket x: Int64, _ c: TokenContext) {
        var slot = wallets.find(n)
        if slot == nil {
            if wallets.isFull {
                let oldest = bucketIndex(0)
                let newest = position
                wallets.rebuild(reserving: 1) { e in Self.lastAny(e, newest: newest) >= oldest }
            }
            slot = wallets.insert(n)
        }
        let before = wallets[slot!]
        var after = before
        let buy = before.key & WalletTable.Entry.hasBuy != 0 ? widen(before.buy) : Int64.min
        let sell = before.key & WalletTable.Entry.hasSell != 0 ? widen(before.sell) : Int64.min
        let x32 = UInt32(truncatingIfNeeded: x)
        if side == .buy {
            if x > buy {
                bump(buy, by: -1, .buyers, c)
                bump(x, by: 1, .buyers, c)
                after.buy = x32
                after.key |= WalletTable.Entry.hasBuy
            }
        } else if x > sell {
            bump(sell, by: -1, .sellers, c)
            bump(x, by: 1, .sellers, c)
            after.sell = x32
            after.key |= WalletTable.Entry.hasSell
        }
        let any = max(buy, sell)
        if x > any {
            bump(any, by: -1, .wallets, c)
            bump(x, by: 1, .wallets, c)
        }
        wallets[slot!] = after
    }

    /// The newest bucket of either side of a wallet entry (`Int64.min` for none), its
    /// buckets widened against the token's newest bucket `newest`.
    @inline(__always)
    static func lastAny(_ e: WalletTable.Entry, newest: Int64) -> Int64 {
        max(
            e.key & WalletTable.Entry.hasBuy != 0 ? widen(e.buy, against: newest) : .min,
            e.key & WalletTable.Entry.hasSell != 0 ? widen(e.sell, against: newest) : .min)
    }

    /// Changes a distinct-wallet counter of bucket `index` (if still live) and of every
    /// body that holds it.
    @inline(__always)
    private mutating func bump(_ index: Int64, by delta: Int, _ counter: WalletCounter, _ c: TokenContext) {
        guard index != .min, index >= bucketIndex(0) else { return }
        let last = ring.count - 1
        let p = ring[last].index == UInt32(truncatingIfNeeded: index) ? last : position(of: index)
        if ring[p].isMulti {
            let r = ring[p].record
            let d = UInt32(bitPattern: Int32(delta))
            switch counter {
            case .buyers: records[r].buyersLast &+= d
            case .sellers: records[r].sellersLast &+= d
            case .wallets: records[r].walletsLast &+= d
            }
        } else {
            let bit =
                switch counter {
                case .buyers: BucketSlot.buyerLast
                case .sellers: BucketSlot.sellerLast
                case .wallets: BucketSlot.walletLast
                }
            if delta > 0 { ring[p].bits |= bit } else { ring[p].bits &= ~bit }
        }
        guard index != position else { return }
        for i in windows.indices where index > position - c.spans[i] {
            switch counter {
            case .buyers: windows[i].body.buyers += delta
            case .sellers: windows[i].body.sellers += delta
            case .wallets: windows[i].body.wallets += delta
            }
        }
    }

    /// Drops wallet entries whose newest trade is in a bucket at or before `deadThrough`
    /// (no window can count them again).
    mutating func forgetWallets(deadThrough: Int64) {
        guard wallets.count > 0 else { return }
        let newest = position
        var stale = false
        wallets.forEach { e in if Self.lastAny(e, newest: newest) <= deadThrough { stale = true } }
        guard stale else { return }
        wallets.rebuild(reserving: 0) { e in Self.lastAny(e, newest: newest) > deadThrough }
    }
}
