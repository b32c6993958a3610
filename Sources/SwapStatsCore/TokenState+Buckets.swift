/// Reading and changing one bucket, whatever its form (lone or multi).
extension TokenState {
    /// The additive part of the bucket at ring position `p`.
    @inline(__always)
    func totals(_ p: Int) -> BucketTotals {
        let s = ring[p]
        if s.isMulti {
            let r = records[s.record]
            return BucketTotals(
                txns: r.txns, buys: r.buys, walletsLast: r.walletsLast, buyersLast: r.buyersLast,
                sellersLast: r.sellersLast, buyUSD: s.b, sellUSD: s.c, amount: r.amount, mean: r.mean, m2: r.m2)
        }
        let buy = s.bits & BucketSlot.sell == 0
        return BucketTotals(
            txns: 1, buys: buy ? 1 : 0, walletsLast: s.bits & BucketSlot.walletLast != 0 ? 1 : 0,
            buyersLast: s.bits & BucketSlot.buyerLast != 0 ? 1 : 0,
            sellersLast: s.bits & BucketSlot.sellerLast != 0 ? 1 : 0, buyUSD: buy ? s.usd : 0, sellUSD: buy ? 0 : s.usd,
            amount: s.amount, mean: s.price, m2: 0)
    }

    /// High and low price of the bucket at `p`.
    @inline(__always)
    func extremes(_ p: Int) -> (high: Double, low: Double) {
        let s = ring[p]
        if s.isMulti {
            let r = records[s.record]
            return (r.high, r.low)
        }
        return (s.price, s.price)
    }

    /// Everything an answer or a candle reads of the bucket at `p`.
    func view(_ p: Int) -> BucketView {
        let s = ring[p]
        let (high, low) = extremes(p)
        let open = s.isMulti ? records[s.record].openPrice : s.price
        let close = s.isMulti ? records[s.record].closePrice : s.price
        return BucketView(
            index: bucketIndex(p), totals: totals(p), high: high, low: low, openPrice: open, closePrice: close)
    }

    /// A lone slot holding `e`, in bucket `x`.
    mutating func newSlot(_ e: SwapEvent, bucket x: Int64, _ c: TokenContext) -> BucketSlot {
        .lone(
            index: UInt32(truncatingIfNeeded: x), e, offset: UInt32(e.ts - x * c.step), id: appendId(e.id))
    }

    /// Adds `e` to the existing bucket `x` at `p`; `sliding` when running bodies hold it;
    /// `isLast` when `e` is the token's new last trade (so the bucket's new close).
    mutating func addTrade(
        _ e: SwapEvent, at p: Int, bucket x: Int64, sliding: Bool, isLast: Bool, _ c: TokenContext
    ) {
        let t = sliding ? totals(p) : BucketTotals()
        if !ring[p].isMulti { promote(p, closedNext: isLast) }
        let offset = UInt32(truncatingIfNeeded: e.ts &- x &* c.step)
        let r = ring[p].record
        if isLast {
            // After every trade of the bucket (always so in order): the new close.
            replaceClose(of: r, with: e, offset: offset, isLast: true)
        } else {
            // A late trade: it may open the bucket, or close it, or neither.
            if offset < ring[p].openTs || (offset == ring[p].openTs && ids.compare(ring[p].openId, with: e.id) > 0) {
                let id = appendId(e.id)
                ids.release(ring[p].openId)
                ring[p].openId = id
                ring[p].openTs = offset
                records[r].openPrice = e.price
            } else if offset > records[r].closeTs
                || (offset == records[r].closeTs && ids.compare(records[r].closeId, with: e.id) < 0)
            {
                replaceClose(of: r, with: e, offset: offset, isLast: false)
            }
        }
        records[r].txns &+= 1
        if e.side == .buy {
            records[r].buys &+= 1
            ring[p].b += e.usd
        } else {
            ring[p].c += e.usd
        }
        records[r].amount += e.amount
        let price = e.price
        let delta = price - records[r].mean
        records[r].mean += delta / Double(records[r].txns)
        records[r].m2 += delta * (price - records[r].mean)
        if price > records[r].high { records[r].high = price }
        if price < records[r].low { records[r].low = price }
        if sliding {
            let after = totals(p)
            for i in c.spans.indices where x > position - c.spans[i] {
                windows[i].body.subtract(t)
                windows[i].body.add(after)
            }
        }
    }

    /// Makes `e` the close of record `r`. The token's last trade (the newest bucket's
    /// close) keeps its id in the arena's side slot.
    @inline(__always)
    private mutating func replaceClose(of r: Int, with e: SwapEvent, offset: UInt32, isLast: Bool) {
        if isLast {
            ids.release(records[r].closeId)
            ids.setLast(e.id)
            records[r].closeId = IdArena.last
        } else {
            let id = appendId(e.id)
            ids.release(records[r].closeId)
            records[r].closeId = id
        }
        records[r].closeTs = offset
        records[r].closePrice = e.price
    }

    /// Moves the newest bucket's close id from the arena's side slot into the arena, before
    /// a newer bucket opens.
    mutating func settleLastId() {
        let n = ring.count - 1
        guard n >= 0, ring[n].isMulti, records[ring[n].record].closeId == IdArena.last else { return }
        if ids.wantsCompaction { compactIds() }
        records[ring[n].record].closeId = ids.appendLast()
    }

    /// Turns the lone bucket at `p` into a multi one (with a record) holding its trade;
    /// `closedNext` when a new close follows at once (so the id is not copied).
    private mutating func promote(_ p: Int, closedNext: Bool) {
        let s = ring[p]
        var r = MultiBucket.vacant
        r.txns = 1
        r.buys = s.side == .buy ? 1 : 0
        r.walletsLast = s.bits & BucketSlot.walletLast != 0 ? 1 : 0
        r.buyersLast = s.bits & BucketSlot.buyerLast != 0 ? 1 : 0
        r.sellersLast = s.bits & BucketSlot.sellerLast != 0 ? 1 : 0
        r.closeTs = s.openTs
        r.amount = s.amount
        r.mean = s.price
        r.m2 = 0
        r.high = s.price
        r.low = s.price
        r.openPrice = s.price
        r.closePrice = s.price
        // Open and close are the same trade: each keeps its own copy of the id.
        r.closeId = closedNext ? IdArena.none : ids.duplicate(s.openId)
        let index = allocateRecord(r)
        let usd = s.usd
        let buy = s.side == .buy
        ring[p].bits = BucketSlot.multi | s.openTs << 5
        ring[p].a = UInt64(index)
        ring[p].b = buy ? usd : 0
        ring[p].c = buy ? 0 : usd
    }

    private mutating func allocateRecord(_ r: MultiBucket) -> Int {
        if freeRecord != .max {
            let i = Int(freeRecord)
            freeRecord = records[i].nextFree
            records[i] = r
            return i
        }
        if records.count == records.capacity { records.reserveCapacity(records.count + records.count / 4 + 4) }
        records.append(r)
        return records.count - 1
    }

    /// Releases what the bucket at `p` holds outside its slot (ids, record).
    mutating func free(_ p: Int) {
        let s = ring[p]
        ids.release(s.openId)
        if s.isMulti {
            ids.release(records[s.record].closeId)
            records[s.record] = .vacant
            records[s.record].nextFree = freeRecord
            freeRecord = UInt32(s.record)
        }
    }

    /// Appends an id, compacting the arena first when it is mostly garbage.
    mutating func appendId(_ id: String) -> UInt32 {
        if ids.wantsCompaction { compactIds() }
        return ids.append(id)
    }

    /// Rewrites the id arena with only the ids buckets still use.
    mutating func compactIds() {
        var fresh = IdArena.reserved((ids.count - ids.garbage) * 5 / 4 + 64)
        for p in 0..<ring.count {
            ring[p].openId = ids.copy(ring[p].openId, into: &fresh)
            if ring[p].isMulti {
                let r = ring[p].record
                if records[r].closeId < IdArena.last {
                    records[r].closeId = ids.copy(records[r].closeId, into: &fresh)
                }
            }
        }
        ids.copyLast(into: &fresh)
        ids = fresh
    }
}
