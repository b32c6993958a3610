/// Numbers the wallets of one partition (interning), so every token's ``WalletTable`` keys
/// on a 32-bit number instead of a 64-bit fingerprint or a string. Remembers the newest
/// bucket each wallet traded in (beside its number, one probe finds both) and its string
/// (what `lastTrade.who` shows); ``collect(deadThrough:)`` frees the numbers of wallets that
/// have not traded since, once no token holds them any more.
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
        return n
    }

    /// The fingerprint of wallet number `n`.
    @inline(__always)
    func fingerprint(_ n: UInt32) -> UInt64 { fingerprints[Int(n)] }

    /// The string of wallet number `n` ("" when not seen since a restore).
    func who(_ n: UInt32) -> String { whos[Int(n)] }

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
        }
    }
}
