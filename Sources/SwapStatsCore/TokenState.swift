/// What every token of a partition shares: window lengths, the step, the sliding threshold.
struct TokenContext: Sendable {
    /// Each window's length in buckets, shortest first.
    let spans: [Int64]
    let step: Int64
    /// Live buckets above which a token keeps running bodies (a quarter of it stops).
    let threshold: Int

    var largestSpan: Int64 { spans[spans.count - 1] }

    /// Whether wallet tables keep 16-bit buckets (the largest window spans few enough).
    var narrowWallets: Bool { largestSpan <= 32_000 }
}

/// One token's sliding windows: its buckets inside the largest window behind its newest
/// bucket, in one ring of 40-byte ``BucketSlot``s (busy buckets add an 88-byte
/// ``MultiBucket`` record), the ids their open and close trades need for the tie-break, and
/// its wallets.
///
/// A token with few live buckets (the long tail of a Zipf stream) keeps nothing else and
/// answers by scanning them: at most ``defaultSlidingThreshold`` buckets. Once it holds more,
/// it *slides*: one running ``WindowBody`` per window plus suffix-extreme stacks for high and
/// low. Each body holds the buckets of its window *except the newest one* (`position`), which
/// keeps changing; an answer adds it in. When the newest bucket moves on, the old one joins
/// the bodies and the buckets that fell out are subtracted. Answers at a later `asOf`
/// subtract the buckets that would fall out, without mutating anything.
struct TokenState: Sendable {
    /// Live buckets above which a token keeps running bodies instead of scanning.
    static let defaultSlidingThreshold = 24

    var name: String
    /// Index of the newest bucket.
    var position: Int64
    /// The last trade's wallet number, USD value and side (``lastSide``, stored last). Its
    /// time, price and id are the close of the newest bucket: the last trade in `(ts, id)`
    /// order is always there.
    var lastWallet: UInt32 = 0
    /// Records of the buckets with several trades; free ones are chained from `freeRecord`
    /// (beside `lastWallet`, so neither is padded).
    var freeRecord: UInt32 = .max
    var lastUSD = 0.0
    /// Live buckets, sorted by index, all within the largest window behind `position`.
    var ring = BucketRing()
    var records: [MultiBucket] = []
    var ids = IdArena()
    var wallets = WalletTable()
    /// Per window: where it starts in `ring` and its running body; empty while small.
    var windows: [WindowState] = []
    var highs = ExtremeStack(isMax: true)
    var lows = ExtremeStack(isMax: false)
    /// Last, where it fills the tail of `lows` instead of padding a field of its own.
    var lastSide = Side.buy

    /// A token named `name` with no bucket yet (its first trade comes through ``apply``).
    init(name: String, bucket x: Int64, narrowWallets: Bool = false) {
        self.name = name
        position = x
        wallets = WalletTable(narrow: narrowWallets)
    }

    /// Whether running bodies are kept (see the type's documentation).
    var isSliding: Bool { !windows.isEmpty }

    /// The full index of the bucket at ring position `i`.
    @inline(__always)
    func bucketIndex(_ i: Int) -> Int64 { widen(ring[i].index) }

    /// A stored low-32-bit bucket index, widened against `position` (never after it).
    @inline(__always)
    func widen(_ stored: UInt32) -> Int64 { Self.widen(stored, against: position) }

    /// `stored` (low 32 bits of a bucket index at most 2³¹ buckets before `newest`) widened.
    @inline(__always)
    static func widen(_ stored: UInt32, against newest: Int64) -> Int64 {
        newest - Int64(Int32(bitPattern: UInt32(truncatingIfNeeded: newest) &- stored))
    }

    /// What one applied trade changed, for checkpoint journals.
    struct Applied {
        /// Ring position of the bucket it went into.
        var position: Int
        /// The wallet's new entry, when it moved.
        var wallet: WalletTable.Entry?
    }

    /// Applies an accepted trade in bucket `x` (> `position` − largest span), of wallet
    /// number `wallet`. `inOrder`: released by the reorder buffer, so after every trade
    /// applied before (a late event may fall anywhere).
    @discardableResult
    mutating func apply(
        _ e: SwapEvent, bucket x: Int64, wallet: UInt32, inOrder: Bool, _ c: TokenContext
    ) -> Applied {
        let isLast = inOrder || ring.count == 0 || x > position || (x == position && isAfterLast(e, c))
        if x > position || ring.count == 0 {
            settleLastId()
            advance(to: x, c)
        }
        let sliding = isSliding
        let isCurrent = x == position
        var p = ring.count - 1
        if p >= 0 && ring[p].index == UInt32(truncatingIfNeeded: x) {
            addTrade(e, at: p, bucket: x, sliding: sliding && !isCurrent, isLast: isLast, c)
        } else if p < 0 || bucketIndex(p) < x {
            ring.append(newSlot(e, bucket: x, c))
            p += 1
        } else {
            p = position(of: x)
            if p < ring.count && bucketIndex(p) == x {
                addTrade(e, at: p, bucket: x, sliding: sliding && !isCurrent, isLast: false, c)
            } else {
                ring.insert(newSlot(e, bucket: x, c), at: p)
                for i in windows.indices where x <= position - c.spans[i] { windows[i].start += 1 }
                if sliding && !isCurrent {
                    let t = totals(p)
                    for i in c.spans.indices where x > position - c.spans[i] { windows[i].body.add(t) }
                }
            }
        }
        let entry = track(wallet: wallet, side: e.side, bucket: x, c)
        if sliding {
            let (high, low) = extremes(p)
            highs.update(index: x, value: high)
            lows.update(index: x, value: low)
        } else if ring.count > c.threshold {
            startSliding(c)
        }
        if isLast {
            lastWallet = wallet
            lastUSD = e.usd
            lastSide = e.side
        }
        #if SWAPSTATS_INTERNAL_CHECKS
            checkInvariants(c)
        #endif
        return Applied(position: p, wallet: entry)
    }

    /// Whether `e` comes after the token's last trade (the newest bucket's close) in
    /// `(ts, id)` order.
    func isAfterLast(_ e: SwapEvent, _ c: TokenContext) -> Bool {
        let (ts, _, id) = newestClose(c)
        return e.ts > ts || (e.ts == ts && ids.compare(id, with: e.id) < 0)
    }

    /// Time, price and id handle of the newest bucket's close: the token's last trade.
    func newestClose(_ c: TokenContext) -> (ts: Int64, price: Double, id: UInt32) {
        let s = ring[ring.count - 1]
        let start = position * c.step
        if s.isMulti {
            let r = records[s.record]
            return (start + Int64(r.closeTs), r.closePrice, r.closeId)
        }
        return (start + Int64(s.openTs), s.price, s.openId)
    }

    /// Builds the running bodies and extreme stacks from the live buckets.
    mutating func startSliding(_ c: TokenContext) {
        let newest = ring.count - 1
        windows = c.spans.map { span in
            let start = position(after: position - span)
            return WindowState(start: start, body: body(of: start..<newest))
        }
        rebuildExtremes()
    }

    /// Builds the high and low stacks afresh from the live buckets.
    mutating func rebuildExtremes() {
        highs = ExtremeStack(isMax: true)
        lows = ExtremeStack(isMax: false)
        for p in 0..<ring.count {
            let (high, low) = extremes(p)
            highs.update(index: bucketIndex(p), value: high)
            lows.update(index: bucketIndex(p), value: low)
        }
    }

    /// Drops the running bodies and stacks of a token that became small again.
    private mutating func stopSliding() {
        windows = []
        highs = ExtremeStack(isMax: true)
        lows = ExtremeStack(isMax: false)
    }

    /// Moves the newest bucket to `x` (its slot is added by the caller): the old newest
    /// joins the bodies, buckets that fall out are subtracted, and buckets behind the
    /// largest window are freed.
    private mutating func advance(to x: Int64, _ c: TokenContext) {
        let largest = x - c.largestSpan
        var expired = 0
        if isSliding {
            let current = ring.count - 1
            for i in c.spans.indices {
                let bound = x - c.spans[i]
                if position > bound { windows[i].body.add(totals(current)) }
                var s = windows[i].start
                while s < ring.count && bucketIndex(s) <= bound {
                    if s != current { windows[i].body.subtract(totals(s)) }
                    s += 1
                }
                windows[i].start = s
                if windows[i].body.collapsed { windows[i].body = body(of: s..<ring.count) }
            }
            expired = windows[c.spans.count - 1].start
            highs.evict(through: largest)
            lows.evict(through: largest)
        } else {
            while expired < ring.count && bucketIndex(expired) <= largest { expired += 1 }
        }
        if expired > 0 {
            for p in 0..<expired { free(p) }
            ring.removeFirst(expired)
            for i in windows.indices { windows[i].start -= expired }
        }
        position = x
        if isSliding && ring.count < c.threshold / 4 { stopSliding() }
    }

    /// A body built afresh from the buckets at `positions`.
    func body(of positions: Range<Int>) -> WindowBody {
        var body = WindowBody.empty
        for p in positions { body.add(totals(p)) }
        return body
    }

    /// First position whose bucket index is > `bound`.
    func position(after bound: Int64) -> Int { bound == .max ? ring.count : position(of: bound + 1) }

    /// First position whose bucket index is >= `x` (which must not pass the newest
    /// bucket's, `position`). Indices are distinct and increasing, so bucket `x` lies within
    /// `newest − x` positions of the end: a recent bucket is found in a few steps, a busy
    /// token's at once.
    func position(of x: Int64) -> Int {
        let last = ring.count - 1
        guard last >= 0 else { return 0 }
        let back = position - x
        if back < 0 { return ring.count }
        var lo = back <= Int64(last) ? last - Int(back) : 0
        if bucketIndex(lo) >= x { return lo }
        var hi = last
        while lo < hi {
            let mid = (lo + hi) / 2
            if bucketIndex(mid) < x { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}

extension TokenState {
    /// What a free token slot holds.
    static let vacant = TokenState(name: "", bucket: 0)
}
