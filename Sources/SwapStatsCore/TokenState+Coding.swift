/// A token in checkpoints: its last trade, buckets (with their ids in packed form), running
/// bodies bit for bit, and wallets by fingerprint, so a restored token answers exactly as
/// the original and keeps counting the same way.
extension TokenState {
    /// Slot bits a checkpoint keeps.
    private static let storedBits =
        BucketSlot.multi | BucketSlot.sell | BucketSlot.walletLast | BucketSlot.buyerLast | BucketSlot.sellerLast

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
            for v in [r.txns, r.buys, r.walletsLast, r.buyersLast, r.sellersLast, r.closeTs] { w.u32(v) }
            ids.writeEncoded(r.closeId, into: &w)
            for v in [r.amount, r.mean, r.m2, r.high, r.low, r.openPrice, r.closePrice] { w.f64(v) }
        } else {
            w.f64(s.usd)
            w.f64(s.amount)
            w.f64(s.price)
        }
    }

    /// Writes one wallet entry by the wallet's fingerprint.
    static func writeWallet(_ e: WalletTable.Entry, fingerprint: UInt64, into w: inout BinaryWriter) {
        w.u64(fingerprint)
        w.u8(UInt8(truncatingIfNeeded: e.key >> 30))
        w.u32(e.buy)
        w.u32(e.sell)
    }

    /// Writes the whole token: header, every bucket, every wallet.
    func write(into w: inout BinaryWriter, numbers: WalletDirectory) {
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
            t.windows.append(WindowState(start: 0, body: body))
        }
        return t
    }

    /// Reads one bucket as ``writeBucket(_:into:)`` wrote it, into a detached slot (its
    /// ids and record in this token's arena and records); returns it and its full index.
    mutating func readBucket(_ r: inout BinaryReader, _ c: TokenContext) throws(SnapshotError) -> (BucketSlot, Int64) {
        let index32 = try r.u32()
        let bits = UInt32(try r.u8())
        let openTs = try r.u32()
        guard bits & ~Self.storedBits == 0, Int64(openTs) < c.step else { throw .corrupt("bucket header") }
        let index = widen(index32)
        guard index <= position, index > position - c.largestSpan else { throw .corrupt("bucket outside the window") }
        let openId = try ids.readEncoded(&r)
        if bits & BucketSlot.multi == 0 {
            let usd = try r.f64()
            let amount = try r.f64()
            let price = try r.f64()
            return (
                BucketSlot(
                    index: index32, bits: bits, openTs: openTs, openId: openId, a: usd.bitPattern, b: amount, c: price),
                index
            )
        }
        let buyUSD = try r.f64()
        let sellUSD = try r.f64()
        var m = MultiBucket.vacant
        m.txns = try r.u32()
        m.buys = try r.u32()
        m.walletsLast = try r.u32()
        m.buyersLast = try r.u32()
        m.sellersLast = try r.u32()
        m.closeTs = try r.u32()
        guard m.txns >= 2, m.buys <= m.txns, m.walletsLast <= m.txns, m.buyersLast <= m.buys,
            m.sellersLast <= m.txns - m.buys, Int64(m.closeTs) < c.step
        else { throw .corrupt("bucket counts") }
        m.closeId = try ids.readEncoded(&r)
        m.amount = try r.f64()
        m.mean = try r.f64()
        m.m2 = try r.f64()
        m.high = try r.f64()
        m.low = try r.f64()
        m.openPrice = try r.f64()
        m.closePrice = try r.f64()
        records.append(m)
        let slot = BucketSlot(
            index: index32, bits: bits, openTs: openTs, openId: openId, a: UInt64(records.count - 1), b: buyUSD,
            c: sellUSD)
        return (slot, index)
    }

    /// Reads one wallet entry: its fingerprint and its entry (without a number).
    static func readWallet(_ r: inout BinaryReader) throws(SnapshotError) -> (UInt64, WalletTable.Entry) {
        let fp = try r.u64()
        let flags = UInt32(try r.u8())
        guard fp != 0, flags & ~3 == 0, flags != 0 else { throw .corrupt("wallet entry") }
        return (fp, WalletTable.Entry(key: flags << 30, buy: try r.u32(), sell: try r.u32()))
    }

    /// Reads a whole token as ``write(into:numbers:)`` wrote it, numbering its wallets.
    static func read(
        _ r: inout BinaryReader, _ c: TokenContext, numbers: inout WalletDirectory
    ) throws(SnapshotError) -> TokenState {
        var t = try readHeader(&r, c, numbers: &numbers)
        let count = Int(try r.u32())
        guard count >= 1, count <= r.remaining / 30 else { throw .corrupt("bucket count \(count)") }
        var last = Int64.min
        for _ in 0..<count {
            let (slot, index) = try t.readBucket(&r, c)
            guard index > last else { throw .corrupt("buckets out of order") }
            last = index
            t.ring.append(slot)
        }
        guard last == t.position else { throw .corrupt("token without its newest bucket") }
        let wallets = Int(try r.u32())
        guard wallets <= r.remaining / 17 else { throw .corrupt("wallet count \(wallets)") }
        t.wallets = .reserved(wallets)
        for _ in 0..<wallets {
            let (fp, entry) = try readWallet(&r)
            try t.restoreWallet(fp, entry, numbers: &numbers)
        }
        t.finishRestore(c)
        return t
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
        if wallets.isFull {
            let kept = wallets.count
            wallets.rebuild(reserving: max(1, kept / 2)) { _ in true }
        }
        wallets[wallets.insert(n)] = e
    }

    /// Rebuilds what checkpoints leave out: where each window starts, the extreme stacks.
    mutating func finishRestore(_ c: TokenContext) {
        guard isSliding else { return }
        for i in c.spans.indices { windows[i].start = position(after: position - c.spans[i]) }
        highs = ExtremeStack(isMax: true)
        lows = ExtremeStack(isMax: false)
        for p in 0..<ring.count {
            let (high, low) = extremes(p)
            highs.update(index: bucketIndex(p), value: high)
            lows.update(index: bucketIndex(p), value: low)
        }
    }
}
