/// The newest trade per wallet and side, as bucket indices (`.min` for none).
struct WalletLast: Sendable, Equatable {
    var buy: Int64
    var sell: Int64
    static let none = WalletLast(buy: .min, sell: .min)
    var any: Int64 { max(buy, sell) }
}

/// One window of one token: the position in `buckets` of its oldest bucket (behind the
/// token's newest bucket) and its running body.
struct WindowState: Sendable, Equatable {
    var start: Int
    var body: WindowBody
}

/// One token's sliding windows: a sparse, sorted run of buckets covering the largest window
/// behind its newest bucket.
///
/// A token with few live buckets (the long tail of a Zipf stream) keeps nothing else and
/// answers by scanning them: at most ``defaultSlidingThreshold`` buckets. Once it holds more, it
/// *slides*: one running ``WindowBody`` per window plus suffix-extreme stacks for high and
/// low. Each body holds the buckets of its window *except the newest one* (`position`),
/// which keeps changing; an answer adds it in. When the newest bucket moves on, the old one
/// joins the bodies and the buckets that fell out are subtracted. Answers at a later `asOf`
/// subtract the buckets that would fall out, without mutating anything.
struct TokenWindows: Sendable {
    /// Live buckets above which a token keeps running bodies instead of scanning.
    static let defaultSlidingThreshold = 24

    let token: String
    /// Live buckets are `buckets[head...]`, sorted by index, all within the largest window
    /// behind `position`.
    var buckets: [Bucket]
    var head = 0
    /// Per window: where it starts in `buckets` and its running body; empty while the token
    /// is small.
    var windows: [WindowState] = []
    var highs = ExtremeStack(isMax: true)
    var lows = ExtremeStack(isMax: false)
    var wallets = FingerprintTable<WalletLast>(placeholder: .none)
    var lastTrade: Trade
    /// Index of the newest bucket.
    var position: Int64

    /// A token with one trade.
    init(first e: SwapEvent, bucket: Int64) {
        token = e.token
        buckets = [Bucket(index: bucket)]
        lastTrade = Trade(e)
        position = bucket
    }

    /// Whether running bodies are kept (see the type's documentation).
    var isSliding: Bool { !windows.isEmpty }

    /// Live buckets.
    var liveCount: Int { buckets.count - head }

    /// Applies an accepted trade in bucket `x` (> `position` − largest span).
    /// - Parameters:
    ///   - spans: each window's length in buckets, shortest first.
    ///   - threshold: live buckets above which the token slides (a quarter of it stops).
    mutating func apply(
        _ e: SwapEvent, bucket x: Int64, spans: [Int64], threshold: Int = defaultSlidingThreshold
    ) {
        if x > position { advance(to: x, spans: spans, threshold: threshold) }
        var pos = buckets.count - 1
        if buckets[pos].index != x { pos = insertionPoint(x, spans: spans) }
        let sliding = isSliding
        let isCurrent = x == position
        if sliding && !isCurrent {
            for i in spans.indices where x > position - spans[i] { windows[i].body.subtract(buckets[pos].totals) }
        }
        buckets[pos].add(e)
        if sliding && !isCurrent {
            for i in spans.indices where x > position - spans[i] { windows[i].body.add(buckets[pos].totals) }
        }
        track(wallet: e.whoHash, side: e.side, bucket: x, spans: spans)
        if sliding {
            highs.update(index: x, value: buckets[pos].high)
            lows.update(index: x, value: buckets[pos].low)
        } else if liveCount > threshold {
            startSliding(spans: spans)
        }
        if e.ts > lastTrade.ts || (e.ts == lastTrade.ts && e.id > lastTrade.id) { lastTrade = Trade(e) }
        #if SWAPSTATS_INTERNAL_CHECKS
            checkInvariants(spans: spans)
        #endif
    }

    /// Builds the running bodies and extreme stacks from the live buckets.
    mutating func startSliding(spans: [Int64]) {
        windows = spans.map { span in
            let start = position(after: position - span)
            return WindowState(start: start, body: body(of: start..<buckets.count - 1))
        }
        highs = ExtremeStack(isMax: true)
        lows = ExtremeStack(isMax: false)
        for p in head..<buckets.count {
            highs.update(index: buckets[p].index, value: buckets[p].high)
            lows.update(index: buckets[p].index, value: buckets[p].low)
        }
    }

    /// Drops the running bodies and stacks of a token that became small again.
    private mutating func stopSliding() {
        windows = []
        highs = ExtremeStack(isMax: true)
        lows = ExtremeStack(isMax: false)
    }

    /// Moves the newest bucket to `x`: the old newest joins the bodies, buckets that fall
    /// out are subtracted, and buckets behind the largest window are freed.
    private mutating func advance(to x: Int64, spans: [Int64], threshold: Int) {
        let largest = x - spans[spans.count - 1]
        if isSliding {
            let current = buckets.count - 1
            for i in spans.indices {
                let bound = x - spans[i]
                if position > bound { windows[i].body.add(buckets[current].totals) }
                var s = windows[i].start
                while s < buckets.count && buckets[s].index <= bound {
                    if s != current { windows[i].body.subtract(buckets[s].totals) }
                    s += 1
                }
                windows[i].start = s
                if windows[i].body.collapsed { windows[i].body = body(of: s..<buckets.count) }
            }
            head = windows[spans.count - 1].start
            highs.evict(through: largest)
            lows.evict(through: largest)
        } else {
            while head < buckets.count && buckets[head].index <= largest { head += 1 }
        }
        if head == buckets.count {
            buckets.removeAll(keepingCapacity: buckets.capacity <= 4)
            for i in windows.indices { windows[i].start = 0 }
            head = 0
        } else if head > 16 && head * 2 > buckets.count {
            buckets.removeFirst(head)
            for i in windows.indices { windows[i].start -= head }
            head = 0
        }
        buckets.append(Bucket(index: x))
        position = x
        if isSliding && liveCount < threshold / 4 { stopSliding() }
    }

    /// A body built afresh from the buckets at `positions`.
    func body(of positions: Range<Int>) -> WindowBody {
        var body = WindowBody.empty
        for p in positions { body.add(buckets[p].totals) }
        return body
    }

    /// The position of bucket `x` (< `position`), inserted empty when absent.
    private mutating func insertionPoint(_ x: Int64, spans: [Int64]) -> Int {
        let p = position(of: x)
        if p < buckets.count && buckets[p].index == x { return p }
        buckets.insert(Bucket(index: x), at: p)
        for i in windows.indices where x <= position - spans[i] { windows[i].start += 1 }
        return p
    }

    /// First live position whose bucket index is > `bound`.
    func position(after bound: Int64) -> Int { bound == .max ? buckets.count : position(of: bound + 1) }

    /// First live position whose bucket index is >= `x`. Indices are distinct and
    /// increasing, so bucket `x` lies within `newest.index - x` positions of the end: a
    /// recent bucket is found in a few steps, a busy token's at once.
    func position(of x: Int64) -> Int {
        let last = buckets.count - 1
        let back = buckets[last].index - x
        if back < 0 { return buckets.count }
        var lo = back <= Int64(last - head) ? last - Int(back) : head
        if buckets[lo].index >= x { return lo }
        var hi = last
        while lo < hi {
            let mid = (lo + hi) / 2
            if buckets[mid].index < x { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// Which distinct-wallet counter a bump moves.
    enum WalletCounter { case buyers, sellers, wallets }

    /// Moves the wallet's last-appearance counters to bucket `x` when `x` is newer.
    private mutating func track(wallet: UInt64, side: Side, bucket x: Int64, spans: [Int64]) {
        var slot = wallets.find(wallet)
        if slot == nil {
            if wallets.isFull {
                let oldest = buckets[head].index
                wallets.removeAll(where: { _, last in last.any < oldest })
            }
            slot = wallets.insert(wallet, .none)
        }
        let before = wallets.value(at: slot!)
        var after = before
        if side == .buy {
            if x > before.buy {
                bump(before.buy, by: -1, .buyers, spans: spans)
                bump(x, by: 1, .buyers, spans: spans)
                after.buy = x
            }
        } else if x > before.sell {
            bump(before.sell, by: -1, .sellers, spans: spans)
            bump(x, by: 1, .sellers, spans: spans)
            after.sell = x
        }
        if after.any > before.any {
            bump(before.any, by: -1, .wallets, spans: spans)
            bump(x, by: 1, .wallets, spans: spans)
        }
        if after != before { wallets.setValue(after, at: slot!) }
    }

    /// Changes a distinct-wallet counter of bucket `index` (if still live) and of every
    /// body that holds it.
    @inline(__always)
    private mutating func bump(_ index: Int64, by delta: Int, _ counter: WalletCounter, spans: [Int64]) {
        guard index >= buckets[head].index else { return }
        let p = buckets[buckets.count - 1].index == index ? buckets.count - 1 : position(of: index)
        let d = UInt32(bitPattern: Int32(delta))
        switch counter {
        case .buyers: buckets[p].totals.buyersLast &+= d
        case .sellers: buckets[p].totals.sellersLast &+= d
        case .wallets: buckets[p].totals.walletsLast &+= d
        }
        guard index != position else { return }
        for i in windows.indices where index > position - spans[i] {
            switch counter {
            case .buyers: windows[i].body.buyers += delta
            case .sellers: windows[i].body.sellers += delta
            case .wallets: windows[i].body.wallets += delta
            }
        }
    }
}
