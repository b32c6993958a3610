/// Numbers the wallets of one partition (interning), so every token's ``WalletTable`` keys
/// on a 32-bit number instead of a 64-bit fingerprint or a string. Remembers the newest
/// bucket each wallet traded in (beside its number, one probe finds both) and its string
/// (what `lastTrade.who` shows); ``collect(deadThrough:)`` frees the numbers of wallets that
/// have not traded since, once no token holds them any more.
///
/// Numbers are part of the state: checkpoints store wallet entries by number, and the
/// directory journals every number it gives or frees (``log``), so a restored directory
/// numbers every wallet as the one it was taken from.
struct WalletDirectory: Sendable {
    struct Entry: Sendable {
        /// The number; the top bit says whether `whos` holds its string.
        var number: UInt32
        /// Newest bucket it traded in (low 32 bits).
        var lastSeen: UInt32

        static let known: UInt32 = 1 << 31
    }

    private var entries = FingerprintTable<Entry>(placeholder: Entry(number: 0, lastSeen: 0))
    /// By number: the wallet's fingerprint (0 while free) and string ("" while unknown).
    private(set) var fingerprints: [UInt64] = []
    private var whos: [String] = []
    private var free: [UInt32] = []
    /// Numbers given (`fingerprint` ≠ 0) and freed (0), in order, while journaling.
    var log: [Numbering]?

    /// A number given to a wallet, or freed.
    struct Numbering: Sendable {
        var number: UInt32
        /// The wallet's fingerprint; 0: the number was freed.
        var fingerprint: UInt64
    }

    /// Wallets numbered.
    var count: Int { entries.count }

    /// Heap bytes held.
    var bytes: Int {
        entries.bytes + fingerprints.capacity * 8 + free.capacity * 4 + whos.capacity * 16
            + whos.reduce(0) { $0 + StringBytes.heap($1) }
    }

    /// The number of the wallet with fingerprint `fp`, numbering it when new; records that it
    /// traded in `bucket`. `who` is its string (nil when unknown, as for wallets restored
    /// from a checkpoint's wallet tables).
    @inline(__always)
    mutating func number(_ fp: UInt64, bucket: Int64, who: String?) -> UInt32 {
        let b = UInt32(truncatingIfNeeded: bucket)
        if let slot = entries.find(fp) {
            var e = entries.value(at: slot)
            let n = e.number & ~Entry.known
            if Int32(bitPattern: b &- e.lastSeen) > 0 { e.lastSeen = b }
            if e.number & Entry.known == 0, let who {
                whos[Int(n)] = who
                e.number |= Entry.known
            }
            entries.setValue(e, at: slot)
            return n
        }
        let n: UInt32
        if let f = free.popLast() {
            n = f
            fingerprints[Int(n)] = fp
            whos[Int(n)] = who ?? ""
        } else {
            precondition(
                fingerprints.count < Int(WalletTable.Entry.wallet) - 1, "more than 2^30 wallets in one partition")
            n = UInt32(fingerprints.count)
            fingerprints.append(fp)
            whos.append(who ?? "")
        }
        entries.insert(fp, Entry(number: who == nil ? n : n | Entry.known, lastSeen: b))
        if log != nil { log!.append(Numbering(number: n, fingerprint: fp)) }
        return n
    }

    /// The fingerprint of wallet number `n`.
    @inline(__always)
    func fingerprint(_ n: UInt32) -> UInt64 { fingerprints[Int(n)] }

    /// The string of wallet number `n` ("" when not seen since a restore).
    func who(_ n: UInt32) -> String { Int(n) < whos.count ? whos[Int(n)] : "" }

    /// Frees the numbers of wallets whose newest trade is in a bucket at or before
    /// `deadThrough` (no token may hold them any more).
    mutating func collect(deadThrough: Int64) {
        let bound = UInt32(truncatingIfNeeded: deadThrough)
        var dead: [UInt32] = []
        entries.removeAll { _, e in
            guard Int32(bitPattern: e.lastSeen &- bound) <= 0 else { return false }
            dead.append(e.number & ~Entry.known)
            return true
        }
        for n in dead {
            fingerprints[Int(n)] = 0
            whos[Int(n)] = ""
            free.append(n)
            if log != nil { log!.append(Numbering(number: n, fingerprint: 0)) }
        }
    }

    // MARK: Checkpoints

    /// Gives number `n` to the wallet `fp`, or frees `n` (`fp` 0), as a journal recorded it.
    mutating func replay(_ change: Numbering) throws(SnapshotError) {
        let n = Int(change.number)
        guard n < Int(WalletTable.Entry.wallet) - 1 else { throw .corrupt("wallet number \(n)") }
        if n >= fingerprints.count {
            fingerprints += [UInt64](repeating: 0, count: n + 1 - fingerprints.count)
            whos += [String](repeating: "", count: n + 1 - whos.count)
        }
        let old = fingerprints[n]
        if old != 0, let slot = entries.find(old) { entries.remove(at: slot) }
        fingerprints[n] = change.fingerprint
        whos[n] = ""
        if change.fingerprint != 0 {
            if let slot = entries.find(change.fingerprint) {
                // The wallet had another number (freed since, in a journal cut short).
                let other = Int(entries.value(at: slot).number & ~Entry.known)
                if other != n { fingerprints[other] = 0 }
                entries.remove(at: slot)
            }
            entries.insert(change.fingerprint, Entry(number: change.number, lastSeen: 0))
        }
    }

    /// Sets the string of wallet number `n` (from a token's last trade in a checkpoint; a
    /// compaction's loader has strings for such numbers only).
    mutating func setWho(_ n: UInt32, _ who: String) {
        let i = Int(n)
        if i >= whos.count { whos += [String](repeating: "", count: i + 1 - whos.count) }
        whos[i] = who
        guard i < fingerprints.count, fingerprints[i] != 0, let slot = entries.find(fingerprints[i]) else { return }
        var e = entries.value(at: slot)
        e.number |= Entry.known
        entries.setValue(e, at: slot)
    }

    /// Whether number `n` is given to a wallet.
    func isAssigned(_ n: UInt32) -> Bool { Int(n) < fingerprints.count && fingerprints[Int(n)] != 0 }

    /// After a load: the free numbers, and each wallet's newest bucket (`newest[n]`, where
    /// `seen[n]`).
    mutating func finishLoad(newest: [UInt32], seen: [Bool]) {
        free = fingerprints.indices.reversed().filter { fingerprints[$0] == 0 }.map { UInt32($0) }
        for n in seen.indices where seen[n] && isAssigned(UInt32(n)) {
            guard let slot = entries.find(fingerprints[n]) else { continue }
            var e = entries.value(at: slot)
            e.lastSeen = newest[n]
            entries.setValue(e, at: slot)
        }
    }

    /// Writes every number's fingerprint (0 for free ones).
    func write(into w: inout BinaryWriter) {
        w.u32(UInt32(fingerprints.count))
        for fp in fingerprints { w.u64(fp) }
    }

    /// Reads what ``write(into:)`` wrote, replacing everything.
    mutating func read(_ r: inout BinaryReader) throws(SnapshotError) {
        let n = Int(try r.u32())
        guard n <= r.remaining / 8 else { throw .corrupt("wallet count \(n)") }
        self = WalletDirectory()
        fingerprints.reserveCapacity(n)
        whos = [String](repeating: "", count: n)
        for i in 0..<n {
            let fp = try r.u64()
            fingerprints.append(fp)
            if fp != 0 {
                guard entries.find(fp) == nil else { throw .corrupt("a wallet numbered twice") }
                entries.insert(fp, Entry(number: UInt32(i), lastSeen: 0))
            }
        }
    }
}
