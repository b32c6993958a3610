/// Numbers the wallets of one partition (interning), so every token's ``WalletTable`` keys
/// on a 32-bit number instead of a 64-bit fingerprint or a string. Remembers the newest
/// bucket each wallet traded in; ``collect(deadThrough:)`` frees the numbers of wallets that
/// have not traded since, once no token holds them any more.
struct WalletDirectory: Sendable {
    private var numbers = FingerprintTable<UInt32>(placeholder: 0)
    /// By number: the wallet's fingerprint (0 while free) and newest bucket (low 32 bits).
    private(set) var fingerprints: [UInt64] = []
    private var lastSeen: [UInt32] = []
    private var free: [UInt32] = []

    /// Wallets numbered.
    var count: Int { numbers.count }

    /// Heap bytes held.
    var bytes: Int { numbers.bytes + fingerprints.capacity * 8 + lastSeen.capacity * 4 + free.capacity * 4 }

    /// The number of the wallet with fingerprint `fp`, numbering it when new; records that it
    /// traded in `bucket`.
    @inline(__always)
    mutating func number(_ fp: UInt64, bucket: Int64) -> UInt32 {
        let b = UInt32(truncatingIfNeeded: bucket)
        if let slot = numbers.find(fp) {
            let n = numbers.value(at: slot)
            if Int32(bitPattern: b &- lastSeen[Int(n)]) > 0 { lastSeen[Int(n)] = b }
            return n
        }
        let n: UInt32
        if let f = free.popLast() {
            n = f
            fingerprints[Int(n)] = fp
            lastSeen[Int(n)] = b
        } else {
            precondition(
                fingerprints.count < Int(WalletTable.Entry.wallet) - 1, "more than 2^30 wallets in one partition")
            n = UInt32(fingerprints.count)
            fingerprints.append(fp)
            lastSeen.append(b)
        }
        numbers.insert(fp, n)
        return n
    }

    /// The fingerprint of wallet number `n`.
    @inline(__always)
    func fingerprint(_ n: UInt32) -> UInt64 { fingerprints[Int(n)] }

    /// Frees the numbers of wallets whose newest trade is in a bucket at or before
    /// `deadThrough` (no token may hold them any more).
    mutating func collect(deadThrough: Int64) {
        let bound = UInt32(truncatingIfNeeded: deadThrough)
        let seen = lastSeen
        var dead: [UInt32] = []
        numbers.removeAll { _, n in
            guard Int32(bitPattern: seen[Int(n)] &- bound) <= 0 else { return false }
            dead.append(n)
            return true
        }
        for n in dead {
            fingerprints[Int(n)] = 0
            free.append(n)
        }
    }
}
