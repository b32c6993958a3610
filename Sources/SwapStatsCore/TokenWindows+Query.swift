extension TokenWindows {
    /// Whether the token has a trade in the largest window ending at bucket `q`.
    func isLive(at q: Int64, spans: [Int64]) -> Bool { position > q - spans[spans.count - 1] }

    /// The answer at the end of bucket `q` (>= `position`), without mutating.
    func stats(at q: Int64, windows specs: [WindowSpec], spans: [Int64], step: Int64) -> TokenStats {
        let asOf = (q + 1) * step
        let current = buckets.count - 1
        var out: [WindowStats] = []
        out.reserveCapacity(specs.count)
        for i in specs.indices {
            var w = WindowStats(name: specs[i].name, from: asOf - specs[i].millis, to: asOf)
            let bound = q - spans[i]
            var body: WindowBody
            var s: Int
            if isSliding {
                body = windows[i].body
                s = windows[i].start
                while s < buckets.count && buckets[s].index <= bound {
                    if s != current { body.subtract(buckets[s].totals) }
                    s += 1
                }
                if position > bound { body.add(buckets[current].totals) }
                if body.collapsed { body = self.body(of: s..<buckets.count) }
            } else {
                s = position(after: bound)
                body = self.body(of: s..<buckets.count)
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
                let open = buckets[s].open.price
                let close = buckets[current].close.price
                w.open = open
                w.close = close
                if isSliding {
                    w.high = highs.extreme(after: bound)
                    w.low = lows.extreme(after: bound)
                } else {
                    w.high = buckets[s...].lazy.map(\.high).max()
                    w.low = buckets[s...].lazy.map(\.low).min()
                }
                w.priceChangePct = open != 0 ? (close - open) / open * 100 : nil
                w.vwap = amount > 0 ? volume / amount : nil
                w.priceStdDev = body.priceStdDev
            }
            out.append(w)
        }
        return TokenStats(token: token, asOf: asOf, lastTrade: lastTrade, windows: out)
    }

    /// Up to `limit` newest candles of `interval` buckets each, oldest first, from the
    /// buckets inside the largest window ending at bucket `q`. Empty candles are left out.
    func candles(at q: Int64, interval: Int64, limit: Int, spans: [Int64], step: Int64) -> [Candle] {
        let bound = q - spans[spans.count - 1]
        var out: [Candle] = []
        var p = buckets.count - 1
        while p >= head && buckets[p].index > bound && out.count <= limit {
            let b = buckets[p]
            let key = b.index / interval
            if let last = out.last, last.start == key * interval * step {
                var c = last
                c.open = b.open.price
                c.high = max(c.high, b.high)
                c.low = min(c.low, b.low)
                c.volumeUSD += b.totals.buyUSD + b.totals.sellUSD
                c.volumeToken += b.totals.amount
                c.txns += Int(b.totals.txns)
                out[out.count - 1] = c
            } else {
                out.append(
                    Candle(
                        start: key * interval * step, open: b.open.price, high: b.high, low: b.low,
                        close: b.close.price, volumeUSD: b.totals.buyUSD + b.totals.sellUSD,
                        volumeToken: b.totals.amount, txns: Int(b.totals.txns)))
            }
            p -= 1
        }
        if out.count > limit { out.removeLast(out.count - limit) }
        return out.reversed()
    }

    /// Approximate heap bytes held by this token.
    var bytes: Int {
        var n = MemoryLayout<TokenWindows>.stride + 32 * 6
        n += buckets.capacity * MemoryLayout<Bucket>.stride
        n += windows.capacity * MemoryLayout<WindowState>.stride
        n += highs.bytes + lows.bytes + wallets.bytes
        for b in buckets[head...] {
            n += Self.heapBytes(b.open.id)
            if b.close.id != b.open.id { n += Self.heapBytes(b.close.id) }
        }
        n += Self.heapBytes(token) + Self.heapBytes(lastTrade.id) + Self.heapBytes(lastTrade.who)
        return n
    }

    /// Heap bytes of a native string (0 for small inline strings).
    static func heapBytes(_ s: String) -> Int { s.utf8.count > 15 ? 32 + s.utf8.count : 0 }

    #if SWAPSTATS_INTERNAL_CHECKS
        /// Recomputes every body from its buckets and checks it against the running one.
        func checkInvariants(spans: [Int64]) {
            precondition(buckets[buckets.count - 1].index == position)
            for p in (head + 1)..<max(head + 1, buckets.count) {
                precondition(buckets[p - 1].index < buckets[p].index, "buckets out of order")
            }
            precondition(buckets[head].index > position - spans[spans.count - 1], "a dead bucket is live")
            guard isSliding else { return }
            for i in spans.indices {
                let first = position(after: position - spans[i])
                let body = self.body(of: first..<max(first, buckets.count - 1))
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
