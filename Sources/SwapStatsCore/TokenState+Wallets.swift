/// Distinct wallets by last appearance (see ``BucketSlot``).
extension TokenState {
    /// Moves wallet `n`'s last-appearance counters to bucket `x` when `x` is newer; returns
    /// the wallet's new entry when it changed.
    @inline(__always)
    mutating func track(wallet n: UInt32, side: Side, bucket x: Int64, _ c: TokenContext) -> WalletTable.Entry? {
        var slot = wallets.find(n)
        if slot == nil {
            if wallets.isFull {
                let oldest = bucketIndex(0)
                let newest = position
                wallets.rebuild(reserving: 1) { e in Self.lastAny(e, newest: newest) >= oldest }
            }
            slot = wallets.insert(n)
        }
        var entry = wallets[slot!]
        let hasBuy = entry.key & WalletTable.Entry.hasBuy != 0
        let hasSell = entry.key & WalletTable.Entry.hasSell != 0
        let buy = hasBuy ? widen(entry.buy) : Int64.min
        let sell = hasSell ? widen(entry.sell) : Int64.min
        let any = max(buy, sell)
        let x32 = UInt32(truncatingIfNeeded: x)
        // The wallet's side counter and overall counter move from their old buckets to x.
        let old = side == .buy ? buy : sell
        guard x > old else { return nil }
        let movesAny = x > any
        if side == .buy {
            entry.buy = x32
            entry.key |= WalletTable.Entry.hasBuy
        } else {
            entry.sell = x32
            entry.key |= WalletTable.Entry.hasSell
        }
        wallets[slot!] = entry
        let buyer = side == .buy ? 1 : 0
        adjust(x, wallets: movesAny ? 1 : 0, buyers: buyer, sellers: 1 - buyer, c)
        if movesAny && any == old {
            adjust(old, wallets: -1, buyers: -buyer, sellers: buyer - 1, c)
        } else {
            adjust(old, wallets: 0, buyers: -buyer, sellers: buyer - 1, c)
            if movesAny { adjust(any, wallets: -1, buyers: 0, sellers: 0, c) }
        }
        return entry
    }

    /// The newest bucket of either side of a wallet entry (`Int64.min` for none), its
    /// buckets widened against the token's newest bucket `newest`.
    @inline(__always)
    static func lastAny(_ e: WalletTable.Entry, newest: Int64) -> Int64 {
        max(
            e.key & WalletTable.Entry.hasBuy != 0 ? widen(e.buy, against: newest) : .min,
            e.key & WalletTable.Entry.hasSell != 0 ? widen(e.sell, against: newest) : .min)
    }

    /// Changes the distinct-wallet counters of bucket `index` (if still live) and of every
    /// body that holds it.
    @inline(__always)
    private mutating func adjust(_ index: Int64, wallets dw: Int, buyers db: Int, sellers ds: Int, _ c: TokenContext) {
        guard index != .min, ring.count > 0, index >= bucketIndex(0) else { return }
        let last = ring.count &- 1
        let p = ring[last].index == UInt32(truncatingIfNeeded: index) ? last : position(of: index)
        if ring[p].isMulti {
            let r = ring[p].record
            records[r].walletsLast &+= UInt32(bitPattern: Int32(truncatingIfNeeded: dw))
            records[r].buyersLast &+= UInt32(bitPattern: Int32(truncatingIfNeeded: db))
            records[r].sellersLast &+= UInt32(bitPattern: Int32(truncatingIfNeeded: ds))
        } else {
            var bits = ring[p].bits
            if dw > 0 { bits |= BucketSlot.walletLast } else if dw < 0 { bits &= ~BucketSlot.walletLast }
            if db > 0 { bits |= BucketSlot.buyerLast } else if db < 0 { bits &= ~BucketSlot.buyerLast }
            if ds > 0 { bits |= BucketSlot.sellerLast } else if ds < 0 { bits &= ~BucketSlot.sellerLast }
            ring[p].bits = bits
        }
        guard index != position, !windows.isEmpty else { return }
        for i in windows.indices where index > position &- c.spans[i] {
            windows[i].body.wallets &+= dw
            windows[i].body.buyers &+= db
            windows[i].body.sellers &+= ds
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
