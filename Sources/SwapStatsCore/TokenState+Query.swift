extension TokenState {
    /// Whether the token has a trade in the largest window ending at bucket `q`.
    func isLive(at q: Int64, _ c: TokenContext) -> Bool { position > q - c.largestSpan }

    /// The token's last trade (`who`: its wallet, from the partition's wallet numbers).
    func lastTrade(who: String, _ c: TokenContext) -> Trade {
        let (ts, price, id) = newestClose(c)
        return Trade(id: ids.string(at: id), ts: ts, side: lastSide, price: price, usd: lastUSD, who: who)
    }

    /// The answer at the end of bucket `q` (>= `position`), without mutating; `who` is the
    /// last trade's wallet.
    func stats(at q: Int64, windows specs: [WindowSpec], who: String, _ c: TokenContext) -> TokenStats {
        let asOf = (q + 1) * c.step
        let current = ring.count - 1
        var out: [WindowStats] = []
        out.reserveCapacity(specs.count)
        for i in specs.indices {
            var w = WindowStats(name: specs[i].name, from: asOf - specs[i].millis, to: asOf)
            let bound = q - c.spans[i]
            var body: WindowBody
            var s: Int
            if isSliding {
                body = windows[i].body
                s = windows[i].start
                while s < ring.count && bucketIndex(s) <= bound {
                    if s != current { body.subtract(totals(s)) }
                    s += 1
                }
                if position > bound { body.add(totals(current)) }
                if body.collapsed { body = self.body(of: s..<ring.count) }
            } else {
                s = position(after: bound)
                body = self.body(of: s..<ring.count)
            }
            if body.txns > 0 {
                let buyUSD = body.buyUSD.value
                let sellUSD = body.sellUSD.value
                let volume = (body.buyUSD + body.sellUSD).value
                let amount = body.amount.value
                w.txns = body.txns
                w.buys = body.buys
                w.sells = body.txns - body.buys
                w.volumeUSD = volume
                w.buyVolumeUSD = buyUSD
                w.sellVolumeUSD = sellUSD
                w.volumeToken = amount
                w.uniqueWallets = body.wallets
                w.uniqueBuyers = body.buyers
                w.uniqueSellers = body.sellers
                let open = view(s).openPrice
                let close = view(current).closePrice
                w.open = open
                w.close = close
                if isSliding {
                    w.high = highs.extreme(after: bound)
                    w.low = lows.extreme(after: bound)
                } else {
                    var high = -Double.infinity
                    var low = Double.infinity
                    for p in s..<ring.count {
                        let (h, l) = extremes(p)
                        high = max(high, h)
                        low = min(low, l)
                    }
                    w.high = high
                    w.low = low
                }
                w.priceChangePct = open != 0 ? (close - open) / open * 100 : nil
                w.vwap = amount > 0 ? volume / amount : nil
                w.priceStdDev = body.priceStdDev
            }
            out.append(w)
        }
        return TokenStats(token: name, asOf: asOf, lastTrade: lastTrade(who: who, c), windows: out)
    }

    /// Up to `limit` newest candles of `interval` buckets each, oldest first, from the
    /// buckets inside the largest window ending at bucket `q`. Empty candles are left out.
    func candles(at q: Int64, interval: Int64, limit: Int, _ c: TokenContext) -> [Candle] {
        let bound = q - c.largestSpan
        var out: [Candle] = []
        var p = ring.count - 1
        while p >= 0 && bucketIndex(p) > bound && out.count <= limit {
            let b = view(p)
            let key = b.index / interval
            let volume = b.totals.buyUSD + b.totals.sellUSD
            if let last = out.last, last.start == key * interval * c.step {
                var candle = last
                candle.open = b.openPrice
                candle.high = max(candle.high, b.high)
                candle.low = min(candle.low, b.low)
                candle.volumeUSD += volume
                candle.volumeToken += b.totals.amount
                candle.txns += Int(b.totals.txns)
                out[out.count - 1] = candle
            } else {
                out.append(
                    Candle(
                        start: key * interval * c.step, open: b.openPrice, high: b.high, low: b.low,
                        close: b.closePrice, volumeUSD: volume, volumeToken: b.totals.amount, txns: Int(b.totals.txns)))
            }
            p -= 1
        }
        if out.count > limit { out.removeLast(out.count - limit) }
        return out.reversed()
    }

    /// Approximate heap bytes held by this token.
    var bytes: Int {
        MemoryLayout<TokenState>.stride + ring.bytes + records.capacity * MemoryLayout<MultiBucket>.stride
            + ids.capacityBytes + wallets.bytes + windows.capacity * MemoryLayout<WindowState>.stride + highs.bytes
            + lows.bytes + StringBytes.heap(name)
    }

    #if SWAPSTATS_INTERNAL_CHECKS
        /// Recomputes every body from its buckets and checks it against the running one.
        func checkInvariants(_ c: TokenContext) {
            precondition(ring.count > 0 && bucketIndex(ring.count - 1) == position, "newest bucket is not position")
            for p in 1..<max(1, ring.count) {
                precondition(bucketIndex(p - 1) < bucketIndex(p), "buckets out of order")
            }
            precondition(bucketIndex(0) > position - c.largestSpan, "a dead bucket is live")
            guard isSliding else { return }
            for i in c.spans.indices {
                let first = position(after: position - c.spans[i])
                let body = self.body(of: first..<max(first, ring.count - 1))
                precondition(
                    first == windows[i].start, "start of window \(i) is \(windows[i].start), expected \(first)")
                let b = windows[i].body
                precondition(
                    b.txns == body.txns && b.buys == body.buys && b.wallets == body.wallets
                        && b.buyers == body.buyers && b.sellers == body.sellers,
                    "counts of window \(i) drifted: \(b) vs \(body)")
            }
        }
    #endif
}
