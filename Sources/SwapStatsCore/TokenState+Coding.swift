/// A token in checkpoints, in two forms:
///
/// - **Whole** (bases, and tokens new since the last delta): the header, then the token's
///   arrays as fixed-size records: bucket slots (36 bytes: `u32` index low bits, `u32`
///   bits, `u32` open time, `u32` open id, `u64`, `f64`, `f64`), busy-bucket records (88
///   bytes: seven `u32` — trades, buys, wallets/buyers/sellers counted last here, close
///   time, close id — a pad `u32`, seven `f64` — amount, price mean, M2, high, low, open,
///   close), the id arena's bytes (ids named by their offset), and the wallet table's
///   slots (12 bytes: `u32` wallet number + 1 with flags, newest buy and sell bucket) with
///   its capacity. A load copies them in and checks every record, never trusting a
///   handle or an index it has not checked.
/// - **Update** (deltas): the header, the buckets whose trades changed (each field by
///   field, counters left out), and the wallet entries that moved; laid over the token.
///   Distinct-wallet counters follow from the wallet entries (each wallet counts in the
///   bucket of its newest trade), so a load derives them for the tokens deltas touched.
///
/// The header: name, newest bucket, the last trade's wallet number, string, USD and side,
/// and the running window bodies bit for bit (so restored answers are exactly the same).
extension TokenState {
    /// Slot bits an update keeps (counters are derived on load).
    static let storedBits = BucketSlot.multi | BucketSlot.sell

    // MARK: Header

    /// Writes the header; `who` is the last trade's wallet string.
    func writeHeader(into w: inout BinaryWriter, who: String) {
        w.string(name)
        w.i64(position)
        w.u32(lastWallet)
        w.string(who)
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

    /// A token with the header ``writeHeader(into:who:)`` wrote and no buckets yet, and the
    /// last trade's wallet string.
    static func readHeader(_ r: inout BinaryReader, _ c: TokenContext) throws(SnapshotError) -> (TokenState, String) {
        let name = try r.string()
        let position = try r.i64()
        let limit = (Int64(1) << 52) / max(c.step, 1)
        guard !name.isEmpty, name.utf8.count <= 128, position > -limit, position < limit else {
            throw .corrupt("token header")
        }
        let wallet = try r.u32()
        let who = try r.string()
        let usd = try r.f64()
        guard wallet < WalletTable.Entry.wallet - 1, !who.isEmpty, let side = Side(rawValue: try r.u8()) else {
            throw .corrupt("last trade")
        }
        var t = TokenState(name: name, bucket: position, narrowWallets: c.narrowWallets)
        t.lastWallet = wallet
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
        return (t, who)
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

    // MARK: Whole

    /// Writes the whole token: header and arrays (records and ids without garbage).
    func writeWhole(into w: inout BinaryWriter, who: String) {
        writeHeader(into: &w, who: who)
        var slots = ring.slots
        var liveRecords: [MultiBucket] = []
        var arena = IdArena.reserved(ids.count - ids.garbage)
        for i in slots.indices {
            slots[i].openId = ids.copy(slots[i].openId, into: &arena)
            if slots[i].isMulti {
                var r = records[slots[i].record]
                r.closeId = ids.copy(r.closeId, into: &arena)
                r.nextFree = 0
                slots[i].a = UInt64(liveRecords.count)
                liveRecords.append(r)
            }
        }
        w.u32(UInt32(slots.count))
        slots.withUnsafeBytes { w.raw($0) }
        w.u32(UInt32(liveRecords.count))
        liveRecords.withUnsafeBytes { w.raw($0) }
        w.u32(UInt32(arena.count))
        arena.bytes.withUnsafeBytes { w.raw($0) }
        var table = wallets
        if table.capacity > 8 + table.count * 3 { table.rebuild(reserving: 0) { _ in true } }
        w.u32(UInt32(table.capacity))
        w.u32(UInt32(table.count))
        table.slots.withUnsafeBytes { w.raw($0) }
    }

    /// Reads a whole token as ``writeWhole(into:who:)`` wrote it, checking every record;
    /// returns it and its last trade's wallet string. Its window starts and stacks are
    /// rebuilt when the load finishes (``finishSliding(_:)``).
    static func readWhole(_ r: inout BinaryReader, _ c: TokenContext) throws(SnapshotError) -> (TokenState, String) {
        var (t, who) = try readHeader(&r, c)
        let slotCount = Int(try r.u32())
        guard slotCount >= 1, slotCount <= r.remaining / 36 else { throw .corrupt("bucket count") }
        var slots = [BucketSlot](repeating: .empty, count: slotCount)
        let slotBytes = try r.bytes(slotCount * 36)
        slots.withUnsafeMutableBytes { $0.copyMemory(from: slotBytes) }
        let recordCount = Int(try r.u32())
        guard recordCount <= slotCount, recordCount <= r.remaining / 88 else { throw .corrupt("record count") }
        var records = [MultiBucket](repeating: .vacant, count: recordCount)
        let recordBytes = try r.bytes(recordCount * 88)
        records.withUnsafeMutableBytes { $0.copyMemory(from: recordBytes) }
        let idBytes = Int(try r.u32())
        var ids = IdArena()
        let starts = try ids.readArena(try r.bytes(idBytes))
        let capacity = Int(try r.u32())
        let walletCount = Int(try r.u32())
        guard walletCount < max(capacity, 1), capacity <= r.remaining / 12, capacity <= 8 + walletCount * 4 else {
            throw .corrupt("wallet table")
        }
        var table = [WalletTable.Entry](repeating: .init(key: 0, buy: 0, sell: 0), count: capacity)
        let walletBytes = try r.bytes(capacity * 12)
        table.withUnsafeMutableBytes { $0.copyMemory(from: walletBytes) }

        // Buckets in order, inside the window; handles at ids; records used once.
        var last = Int64.min
        var used = [Bool](repeating: false, count: recordCount)
        for s in slots {
            let index = t.widen(s.index)
            guard index > last, index <= t.position, index > t.position - c.largestSpan, Int64(s.openTs) < c.step,
                starts.contains(s.openId)
            else { throw .corrupt("bucket") }
            last = index
            if s.isMulti {
                guard s.a < UInt64(recordCount), !used[s.record] else { throw .corrupt("bucket record") }
                used[s.record] = true
                let m = records[s.record]
                guard m.txns >= 2, m.buys <= m.txns, m.walletsLast <= m.txns, m.buyersLast <= m.buys,
                    m.sellersLast <= m.txns - m.buys, Int64(m.closeTs) < c.step, m.closeTs >= s.openTs,
                    starts.contains(m.closeId)
                else { throw .corrupt("bucket record") }
            }
        }
        guard last == t.position, used.allSatisfy({ $0 }) else { throw .corrupt("token without its newest bucket") }
        var n = 0
        for e in table where e.key != 0 {
            // (An entry with no side left: its trades are all behind the window.)
            guard e.key & WalletTable.Entry.wallet != 0,
                Self.lastAny(e, newest: t.position) <= t.position
            else { throw .corrupt("wallet entry") }
            n += 1
        }
        guard n == walletCount else { throw .corrupt("wallet count") }
        t.ring = BucketRing(slots: slots)
        t.records = records
        t.ids = ids
        t.wallets = WalletTable(slots: table, count: walletCount, narrow: c.narrowWallets)
        return (t, who)
    }

    // MARK: Update

    /// Writes the bucket at ring position `p`, field by field (an update's bucket).
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

    /// Writes one wallet entry (its number and flags, newest buy and sell bucket).
    static func writeWallet(_ e: WalletTable.Entry, into w: inout BinaryWriter) {
        w.u32(e.key)
        w.u32(e.buy)
        w.u32(e.sell)
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

    /// Reads one wallet entry as ``writeWallet(_:into:)`` wrote it.
    static func readWallet(_ r: inout BinaryReader) throws(SnapshotError) -> WalletTable.Entry {
        let key = try r.u32()
        let e = WalletTable.Entry(key: key, buy: try r.u32(), sell: try r.u32())
        guard key & (WalletTable.Entry.hasBuy | WalletTable.Entry.hasSell) != 0, key & WalletTable.Entry.wallet != 0,
            e.number < WalletTable.Entry.wallet - 1
        else { throw .corrupt("wallet entry") }
        return e
    }

    /// Adds (or replaces) a wallet entry read from a checkpoint.
    mutating func upsertWallet(_ e: WalletTable.Entry) throws(SnapshotError) {
        guard Self.lastAny(e, newest: position) <= position else { throw .corrupt("wallet after the newest bucket") }
        if let slot = wallets.find(e.number) {
            wallets[slot] = e
            return
        }
        if wallets.isFull { wallets.rebuild(reserving: max(1, wallets.count / 2)) { _ in true } }
        wallets[wallets.insert(e.number)] = e
    }

    // MARK: Finishing a load

    /// Makes a token that deltas updated whole again: drops buckets behind the largest
    /// window and wallets with no live bucket (or none inside the largest window behind
    /// `clock`), derives the distinct-wallet counters from the wallet entries, recounts the
    /// bodies' wallets, rebuilds window starts and stacks, and drops the ids' garbage.
    mutating func finishUpdates(_ c: TokenContext, clock: Int64) {
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
        // Entries a running engine would have dropped (no live bucket, or collected with
        // the wallet's number): they no longer name the wallet they were written for.
        let oldest = max(ring.count > 0 ? bucketIndex(0) : .max, clock == .min ? .min : clock - c.largestSpan + 1)
        let newest = position
        var stale = false
        wallets.forEach { e in if Self.lastAny(e, newest: newest) < oldest { stale = true } }
        if stale { wallets.rebuild(reserving: 0) { e in Self.lastAny(e, newest: newest) >= oldest } }
        // Ring position by bucket index, as an array when there are many entries to place.
        let first = ring.count > 0 ? bucketIndex(0) : position
        var place: [Int32] = []
        if wallets.count > 64 && Int64(wallets.count) * 16 > position - first && position - first < 1 << 21 {
            place = [Int32](repeating: -1, count: Int(position - first) + 1)
            for p in 0..<ring.count { place[Int(bucketIndex(p) - first)] = Int32(p) }
        }
        let entries = wallets.slots
        for e in entries where e.key != 0 {
            let buy = e.key & WalletTable.Entry.hasBuy != 0 ? widen(e.buy) : Int64.min
            let sell = e.key & WalletTable.Entry.hasSell != 0 ? widen(e.sell) : Int64.min
            count(buy, buyers: 1, sellers: 0, wallets: 0, place, first)
            count(sell, buyers: 0, sellers: 1, wallets: 0, place, first)
            count(max(buy, sell), buyers: 0, sellers: 0, wallets: 1, place, first)
        }
        if isSliding {
            for i in c.spans.indices {
                let start = position(after: position - c.spans[i])
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
        }
        finishSliding(c)
        if ids.garbage > 0 { compactIds() }
    }

    /// Rebuilds where each window starts and the extreme stacks (a sliding token's).
    mutating func finishSliding(_ c: TokenContext) {
        guard isSliding else { return }
        for i in c.spans.indices { windows[i].start = position(after: position - c.spans[i]) }
        rebuildExtremes()
    }

    /// Adds to the counters of live bucket `index` (no-op for a bucket not held); `place`
    /// maps indices from `first` to ring positions when not empty.
    private mutating func count(
        _ index: Int64, buyers: UInt32, sellers: UInt32, wallets: UInt32, _ place: [Int32], _ first: Int64
    ) {
        guard index != .min, ring.count > 0, index >= bucketIndex(0) else { return }
        let p: Int
        if place.isEmpty {
            p = position(of: index)
            guard p < ring.count, bucketIndex(p) == index else { return }
        } else {
            guard index - first < place.count, place[Int(index - first)] >= 0 else { return }
            p = Int(place[Int(index - first)])
        }
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
