/// A token in checkpoints: its header (newest bucket, last trade, running bodies bit for
/// bit), its buckets (trades, extremes, open and close with their ids in packed form) and
/// its wallets by fingerprint. Distinct-wallet counters are not stored: they follow from the
/// wallet entries (each wallet counts in the bucket of its newest trade), so a load derives
/// them (``finishLoad(_:)``), and a checkpoint delta need not record every counter a trade
/// moves in an older bucket.
extension TokenState {
    /// Slot bits a checkpoint keeps (the rest is derived on load).
    static let storedBits = BucketSlot.multi | BucketSlot.sell

    /// Writes the token's header: name, newest bucket, what the last trade keeps beyond the
    /// newest bucket's close (wallet, USD, side), running bodies.
    func writeHeader(into w: inout BinaryWriter, numbers: WalletDirectory) {
        w.string(name)
        w.i64(position)
        w.u64(numbers.fingerprint(lastWallet))
        w.string(numbers.who(lastWallet))
        w.f64(lastUSD)
        w.u8(lastSide.rawValue)
        w.u8(UInt8(windows.count))
        for window in windows {
            let body = window.body
            for c in [body.txns, body.buys, body.wallets, body.buyers, body.sellers] { w.int(c) }
            for v in [body.buyUSD, body.sellUSD, body.amount, body.mean, body.m2] { w.dd(v) }
            for v in [body.peaks.buyUSD, body.peaks.sellUSD, body.peaks.amount, body.peaks.m2] { w.f64(v) }
        }
    }

    /// Writes the bucket at ring position `p`.
    func writeBucket(_ p: Int, into w: inout BinaryWriter) {
        let s = ring[p]
        w.u32(s.index)
        w.u8(UInt8(s.bits & Self.storedBits))
        w.u32(s.openTs)
        ids.writeEncoded(s.openId, into: &w)
        if s.isMulti {
            let r = records[s.record]
            w.f64(s.b)
            w.f64(s.c)
            w.u32(r.txns)
            w.u32(r.buys)
            w.u32(r.closeTs)
            ids.writeEncoded(r.closeId, into: &w)
            for v in [r.amount, r.mean, r.m2, r.high, r.low, r.openPrice, r.closePrice] { w.f64(v) }
        } else {
            w.f64(s.usd)
            w.f64(s.amount)
            w.f64(s.price)
        }
    }

    /// Writes one wallet entry, by the wallet's fingerprint.
    static func writeWallet(_ e: WalletTable.Entry, fingerprint: UInt64, into w: inout BinaryWriter) {
        w.u64(fingerprint)
        w.u8(UInt8(truncatingIfNeeded: e.key >> 30))
        w.u32(e.buy)
        w.u32(e.sell)
    }

    /// Writes the whole token: header, every bucket, every wallet.
    func writeWhole(into w: inout BinaryWriter, numbers: WalletDirectory) {
        writeHeader(into: &w, numbers: numbers)
        w.u32(UInt32(ring.count))
        for p in 0..<ring.count { writeBucket(p, into: &w) }
        w.u32(UInt32(wallets.count))
        wallets.forEach { e in Self.writeWallet(e, fingerprint: numbers.fingerprint(e.number), into: &w) }
    }

    /// A token with the header ``writeHeader(into:numbers:)`` wrote and no buckets or
    /// wallets yet; numbers the last trade's wallet.
    static func readHeader(
        _ r: inout BinaryReader, _ c: TokenContext, numbers: inout WalletDirectory
    ) throws(SnapshotError) -> TokenState {
        let name = try r.string()
        let position = try r.i64()
        let limit = (Int64(1) << 52) / max(c.step, 1)
        guard !name.isEmpty, name.utf8.count <= 128, position > -limit, position < limit else {
            throw .corrupt("token header")
        }
        let fp = try r.u64()
        let who = try r.string()
        let usd = try r.f64()
        guard fp != 0, !who.isEmpty, let side = Side(rawValue: try r.u8()) else { throw .corrupt("last trade") }
        var t = TokenState(name: name, bucket: position)
        t.lastWallet = numbers.number(fp, bucket: position, who: who)
        t.lastUSD = usd
        t.lastSide = side
        let windowCount = Int(try r.u8())
        guard windowCount == 0 || windowCount == c.spans.count else { throw .corrupt("window count \(windowCount)") }
        for _ in 0..<windowCount {
            var body = WindowBody()
            body.txns = Int(try r.i64())
            body.buys = Int(try r.i64())
            body.wallets = Int(try r.i64())
            body.buyers = Int(try r.i64())
            body.sellers = Int(try r.i64())
            body.buyUSD = try r.dd()
            body.sellUSD = try r.dd()
            body.amount = try r.dd()
            body.mean = try r.dd()
            body.m2 = try r.dd()
            body.peaks = WindowBody.Peaks(
                buyUSD: try r.f64(), sellUSD: try r.f64(), amount: try r.f64(), m2: try r.f64())
            guard body.txns >= 0, body.buys >= 0, body.buys <= body.txns else { throw .corrupt("window body") }
            t.windows.append(WindowState(start: 0, body: body))
        }
        return t
    }

    /// Takes the header fields of `other` (the same token, later): newest bucket, last
    /// trade, running bodies.
    mutating func takeHeader(of other: TokenState) {
        position = other.position
        lastWallet = other.lastWallet
        lastUSD = other.lastUSD
        lastSide = other.lastSide
        windows = other.windows
    }

    /// Reads one bucket as ``writeBucket(_:into:)`` wrote it and puts it in place of any
    /// bucket of the same index (or among the others, in order).
    mutating func readBucket(_ r: inout BinaryReader, _ c: TokenContext) throws(SnapshotError) {
        let index32 = try r.u32()
        let bits = UInt32(try r.u8())
        let openTs = try r.u32()
        guard bits & ~Self.storedBits == 0, Int64(openTs) < c.step else { throw .corrupt("bucket header") }
        let index = widen(index32)
        guard index <= position, index > position - c.largestSpan else { throw .corrupt("bucket outside the window") }
        let openId = try ids.readEncoded(&r)
        var slot: BucketSlot
        if bits & BucketSlot.multi == 0 {
            let usd = try r.f64()
            let amount = try r.f64()
            let price = try r.f64()
            slot = BucketSlot(
                index: index32, bits: bits, openTs: openTs, openId: openId, a: usd.bitPattern, b: amount, c: price)
        } else {
            let buyUSD = try r.f64()
            let sellUSD = try r.f64()
            var m = MultiBucket.vacant
            m.txns = try r.u32()
            m.buys = try r.u32()
            m.closeTs = try r.u32()
            guard m.txns >= 2, m.buys <= m.txns, Int64(m.closeTs) < c.step, m.closeTs >= openTs else {
                throw .corrupt("bucket counts")
            }
            m.closeId = try ids.readEncoded(&r)
            m.amount = try r.f64()
            m.mean = try r.f64()
            m.m2 = try r.f64()
            m.high = try r.f64()
            m.low = try r.f64()
            m.openPrice = try r.f64()
            m.closePrice = try r.f64()
            records.append(m)
            slot = BucketSlot(
                index: index32, bits: bits, openTs: openTs, openId: openId, a: UInt64(records.count - 1), b: buyUSD,
                c: sellUSD)
        }
        if ring.count == 0 || bucketIndex(ring.count - 1) < index {
            ring.append(slot)
            return
        }
        let p = position(of: index)
        if bucketIndex(p) == index {
            free(p)
            ring[p] = slot
        } else {
            ring.insert(slot, at: p)
        }
    }

    /// Reads one wallet entry: its fingerprint and its entry (without a number).
    static func readWallet(_ r: inout BinaryReader) throws(SnapshotError) -> (UInt64, WalletTable.Entry) {
        let fp = try r.u64()
        let flags = UInt32(try r.u8())
        guard fp != 0, flags & ~3 == 0, flags != 0 else { throw .corrupt("wallet entry") }
        return (fp, WalletTable.Entry(key: flags << 30, buy: try r.u32(), sell: try r.u32()))
    }

    /// Adds (or replaces) a wallet entry read from a checkpoint.
    mutating func restoreWallet(
        _ fp: UInt64, _ entry: WalletTable.Entry, numbers: inout WalletDirectory
    ) throws(SnapshotError) {
        let newest = Self.lastAny(entry, newest: position)
        guard newest <= position else { throw .corrupt("wallet after the newest bucket") }
        let n = numbers.number(fp, bucket: newest, who: nil)
        var e = entry
        e.key = (entry.key & ~WalletTable.Entry.wallet) | (n + 1)
        if let slot = wallets.find(n) {
            wallets[slot] = e
            return
        }
        if wallets.isFull { wallets.rebuild(reserving: max(1, wallets.count / 2)) { _ in true } }
        wallets[wallets.insert(n)] = e
    }

    /// Makes a loaded token whole: drops buckets behind the largest window and wallets with
    /// no live bucket, derives the distinct-wallet counters from the wallet entries, and
    /// rebuilds what checkpoints leave out (where each window starts, the bodies' wallet
    /// counts, the extreme stacks); compacts the ids.
    mutating func finishLoad(_ c: TokenContext) {
        var expired = 0
        while expired < ring.count && bucketIndex(expired) <= position - c.largestSpan { expired += 1 }
        if expired > 0 {
            for p in 0..<expired { free(p) }
            ring.removeFirst(expired)
        }
        let wipe = BucketSlot.walletLast | BucketSlot.buyerLast | BucketSlot.sellerLast
        for p in 0..<ring.count {
            if ring[p].isMulti {
                let r = ring[p].record
                records[r].walletsLast = 0
                records[r].buyersLast = 0
                records[r].sellersLast = 0
            } else {
                ring[p].bits &= ~wipe
            }
        }
        let oldest = ring.count > 0 ? bucketIndex(0) : .max
        let newest = position
        var stale = false
        wallets.forEach { e in if Self.lastAny(e, newest: newest) < oldest { stale = true } }
        if stale { wallets.rebuild(reserving: 0) { e in Self.lastAny(e, newest: newest) >= oldest } }
        let entries = wallets.slots
        for e in entries where e.key != 0 {
            let buy = e.key & WalletTable.Entry.hasBuy != 0 ? widen(e.buy) : Int64.min
            let sell = e.key & WalletTable.Entry.hasSell != 0 ? widen(e.sell) : Int64.min
            count(buy, buyers: 1, sellers: 0, wallets: 0)
            count(sell, buyers: 0, sellers: 1, wallets: 0)
            count(max(buy, sell), buyers: 0, sellers: 0, wallets: 1)
        }
        if isSliding {
            for i in c.spans.indices {
                let start = position(after: position - c.spans[i])
                windows[i].start = start
                var wallets = 0
                var buyers = 0
                var sellers = 0
                for p in start..<max(start, ring.count - 1) {
                    let t = totals(p)
                    wallets += Int(t.walletsLast)
                    buyers += Int(t.buyersLast)
                    sellers += Int(t.sellersLast)
                }
                windows[i].body.wallets = wallets
                windows[i].body.buyers = buyers
                windows[i].body.sellers = sellers
            }
            highs = ExtremeStack(isMax: true)
            lows = ExtremeStack(isMax: false)
            for p in 0..<ring.count {
                let (high, low) = extremes(p)
                highs.update(index: bucketIndex(p), value: high)
                lows.update(index: bucketIndex(p), value: low)
            }
        }
        if ids.garbage > 0 { compactIds() }
    }

    /// Adds to the counters of live bucket `index` (no-op for a bucket not held).
    private mutating func count(_ index: Int64, buyers: UInt32, sellers: UInt32, wallets: UInt32) {
        guard index != .min, ring.count > 0, index >= bucketIndex(0) else { return }
        let p = position(of: index)
        guard p < ring.count, bucketIndex(p) == index else { return }
        if ring[p].isMulti {
            let r = ring[p].record
            records[r].walletsLast &+= wallets
            records[r].buyersLast &+= buyers
            records[r].sellersLast &+= sellers
        } else {
            if wallets > 0 { ring[p].bits |= BucketSlot.walletLast }
            if buyers > 0 { ring[p].bits |= BucketSlot.buyerLast }
            if sellers > 0 { ring[p].bits |= BucketSlot.sellerLast }
        }
    }
}
