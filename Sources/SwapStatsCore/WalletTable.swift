/// One token's wallets, by their partition-wide number (``WalletDirectory``), with the
/// bucket of each wallet's newest buy and newest sell of the token: what distinct-wallet
/// counting by last appearance needs (12 bytes a wallet).
///
/// Open addressing with linear probing; homes by multiply-shift over any capacity, so the
/// table grows by half, not by doubling. Buckets are kept as their low 32 bits and widened
/// against the token's newest bucket.
struct WalletTable: Sendable {
    struct Entry: Sendable {
        /// The wallet's number + 1 (0: empty slot), with the flags in the top bits.
        var key: UInt32
        var buy: UInt32
        var sell: UInt32

        static let hasBuy: UInt32 = 1 << 31
        static let hasSell: UInt32 = 1 << 30
        static let wallet: UInt32 = (1 << 30) - 1

        @inline(__always) var number: UInt32 { (key & Self.wallet) &- 1 }
    }

    private(set) var slots: [Entry] = []
    private(set) var count = 0

    /// Heap bytes held.
    var bytes: Int { slots.capacity * MemoryLayout<Entry>.stride }

    var capacity: Int { slots.count }

    @inline(__always)
    private func home(_ wallet: UInt32) -> Int {
        Int((UInt64(wallet &* 0x9E37_79B1) &* UInt64(slots.count)) >> 32)
    }

    /// The slot of `wallet`, or nil.
    @inline(__always)
    func find(_ wallet: UInt32) -> Int? {
        guard !slots.isEmpty else { return nil }
        let key = wallet + 1
        var i = home(wallet)
        while true {
            let k = slots[i].key & Entry.wallet
            if k == key { return i }
            if k == 0 { return nil }
            i += 1
            if i == slots.count { i = 0 }
        }
    }

    subscript(slot: Int) -> Entry {
        @inline(__always) get { slots[slot] }
        @inline(__always) _modify { yield &slots[slot] }
    }

    /// Whether an insert would pass the 80 % load.
    var isFull: Bool { (count + 1) * 5 > slots.count * 4 }

    /// Inserts `wallet` (absent) with no trades yet; returns its slot. Call only when not
    /// ``isFull``.
    @inline(__always)
    mutating func insert(_ wallet: UInt32) -> Int {
        var i = home(wallet)
        while slots[i].key != 0 {
            i += 1
            if i == slots.count { i = 0 }
        }
        slots[i] = Entry(key: wallet + 1, buy: 0, sell: 0)
        count += 1
        return i
    }

    /// Rebuilds the table with the entries that `keep` accepts, sized for them and `extra`
    /// more: at most two-thirds full afterwards.
    mutating func rebuild(reserving extra: Int, keeping keep: (Entry) -> Bool) {
        var kept: [Entry] = []
        kept.reserveCapacity(count)
        for e in slots where e.key != 0 && keep(e) { kept.append(e) }
        let capacity = max(8, (kept.count + extra) * 3 / 2)
        slots = Array(repeating: Entry(key: 0, buy: 0, sell: 0), count: capacity)
        count = 0
        for e in kept {
            var i = home(e.number)
            while slots[i].key != 0 {
                i += 1
                if i == slots.count { i = 0 }
            }
            slots[i] = e
            count += 1
        }
    }

    init() {}

    /// A table with these slots, `count` of them used (a checkpoint's, checked).
    init(slots: [Entry], count: Int) {
        self.slots = slots
        self.count = count
    }

    /// An empty table for `count` entries (two-thirds full with them).
    static func reserved(_ count: Int) -> WalletTable {
        var t = WalletTable()
        if count > 0 { t.slots = Array(repeating: Entry(key: 0, buy: 0, sell: 0), count: max(8, count * 3 / 2)) }
        return t
    }

    /// Calls `body` with every entry.
    func forEach(_ body: (Entry) -> Void) {
        for e in slots where e.key != 0 { body(e) }
    }
}
