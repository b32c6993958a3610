/// One token's wallets, by their partition-wide number (``WalletDirectory``), with the
/// bucket of each wallet's newest buy and newest sell of the token: what distinct-wallet
/// counting by last appearance needs. 8 bytes a wallet when the largest window spans at most
/// 32,000 buckets (16-bit buckets above a base the table moves up as the token goes on),
/// 12 otherwise.
///
/// Open addressing with linear probing; homes by multiply-shift over any capacity, so the
/// table grows by half, not by doubling. Entries are read and written as ``Entry`` (buckets as
/// their low 32 bits, widened against the token's newest bucket) whatever the storage.
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

    /// Wide storage: entries as they are.
    private var wide: [Entry] = []
    /// Narrow storage: key, then buy and sell as 16 bits above `base`.
    private var narrow: [UInt64] = []
    let isNarrow: Bool
    /// Narrow buckets are `base + stored`; `base` is always behind the largest window.
    private var base: Int64 = .min
    private(set) var count = 0

    init(narrow: Bool = false) { isNarrow = narrow }

    /// Heap bytes held.
    var bytes: Int { wide.capacity * MemoryLayout<Entry>.stride + narrow.capacity * 8 }

    var capacity: Int { isNarrow ? narrow.count : wide.count }

    @inline(__always)
    private func home(_ wallet: UInt32) -> Int {
        Int((UInt64(wallet &* 0x9E37_79B1) &* UInt64(capacity)) >> 32)
    }

    @inline(__always)
    private func keyAt(_ i: Int) -> UInt32 { isNarrow ? UInt32(truncatingIfNeeded: narrow[i]) : wide[i].key }

    /// The slot of `wallet`, or nil.
    @inline(__always)
    func find(_ wallet: UInt32) -> Int? {
        let n = capacity
        guard n > 0 else { return nil }
        let key = wallet + 1
        var i = home(wallet)
        while true {
            let k = keyAt(i) & Entry.wallet
            if k == key { return i }
            if k == 0 { return nil }
            i += 1
            if i == n { i = 0 }
        }
    }

    subscript(slot: Int) -> Entry {
        @inline(__always) get {
            guard isNarrow else { return wide[slot] }
            let raw = narrow[slot]
            return Entry(
                key: UInt32(truncatingIfNeeded: raw),
                buy: UInt32(truncatingIfNeeded: base &+ Int64(UInt16(truncatingIfNeeded: raw >> 32))),
                sell: UInt32(truncatingIfNeeded: base &+ Int64(UInt16(truncatingIfNeeded: raw >> 48))))
        }
        @inline(__always) set {
            guard isNarrow else {
                wide[slot] = newValue
                return
            }
            narrow[slot] = pack(newValue)
        }
    }

    /// A narrow slot's value; moves the base up first when a bucket is too new for it.
    @inline(__always)
    private mutating func pack(_ e: Entry) -> UInt64 {
        var buy = e.key & Entry.hasBuy != 0 ? absolute(e.buy) : Int64.min
        var sell = e.key & Entry.hasSell != 0 ? absolute(e.sell) : Int64.min
        let newest = max(buy, sell)
        if base == .min && newest != .min { base = newest - 32_768 }
        if newest != .min && newest - base > 65_535 {
            rebase(to: newest - 32_768)
            buy = e.key & Entry.hasBuy != 0 ? absolute(e.buy) : Int64.min
            sell = e.key & Entry.hasSell != 0 ? absolute(e.sell) : Int64.min
        }
        return UInt64(e.key) | UInt64(offset(buy)) << 32 | UInt64(offset(sell)) << 48
    }

    /// A stored low-32-bit bucket, widened against the base (they are within 2³¹ of it).
    @inline(__always)
    private func absolute(_ low: UInt32) -> Int64 {
        base == .min ? Int64(low) : base &+ Int64(Int32(bitPattern: low &- UInt32(truncatingIfNeeded: base)))
    }

    /// 16 bits above the base (0: at or before it, which is behind every window).
    @inline(__always)
    private func offset(_ bucket: Int64) -> UInt16 {
        guard bucket != .min else { return 0 }
        let d = bucket &- base
        return d <= 0 ? 0 : UInt16(min(d, 65_535))
    }

    /// Moves the base up to `newBase` (still behind the largest window): buckets before it
    /// are behind every window, and become 0.
    private mutating func rebase(to newBase: Int64) {
        let shift = newBase - base
        for i in narrow.indices where narrow[i] != 0 {
            let raw = narrow[i]
            let buy = Int64(UInt16(truncatingIfNeeded: raw >> 32))
            let sell = Int64(UInt16(truncatingIfNeeded: raw >> 48))
            let b = UInt64(UInt16(max(0, buy - shift)))
            let s = UInt64(UInt16(max(0, sell - shift)))
            narrow[i] = (raw & 0xFFFF_FFFF) | b << 32 | s << 48
        }
        base = newBase
    }

    /// Whether an insert would pass the 80 % load.
    var isFull: Bool { (count + 1) * 5 > capacity * 4 }

    /// Inserts `wallet` (absent) with no trades yet; returns its slot. Call only when not
    /// ``isFull``.
    @inline(__always)
    mutating func insert(_ wallet: UInt32) -> Int {
        let n = capacity
        var i = home(wallet)
        while keyAt(i) != 0 {
            i += 1
            if i == n { i = 0 }
        }
        if isNarrow { narrow[i] = UInt64(wallet + 1) } else { wide[i] = Entry(key: wallet + 1, buy: 0, sell: 0) }
        count += 1
        return i
    }

    /// Rebuilds the table with the entries that `keep` accepts, sized for them and `extra`
    /// more: at most two-thirds full afterwards (four slots at least).
    mutating func rebuild(reserving extra: Int, keeping keep: (Entry) -> Bool) {
        var kept: [Entry] = []
        kept.reserveCapacity(count)
        for i in 0..<capacity where keyAt(i) != 0 {
            let e = self[i]
            if keep(e) { kept.append(e) }
        }
        let size = max(4, (kept.count + extra) * 3 / 2)
        if isNarrow {
            narrow = Array(repeating: 0, count: size)
        } else {
            wide = Array(repeating: .init(key: 0, buy: 0, sell: 0), count: size)
        }
        count = 0
        for e in kept { self[insert(e.number)] = e }
    }

    /// The entries slot by slot (empty slots have key 0), as checkpoints store them.
    var slots: [Entry] { (0..<capacity).map { keyAt($0) == 0 ? Entry(key: 0, buy: 0, sell: 0) : self[$0] } }

    /// A table with these slots, `count` of them used (a checkpoint's, checked).
    init(slots: [Entry], count: Int, narrow isNarrow: Bool) {
        self.isNarrow = isNarrow
        if isNarrow {
            narrow = Array(repeating: 0, count: slots.count)
            for (i, e) in slots.enumerated() where e.key != 0 { self[i] = e }
        } else {
            wide = slots
        }
        self.count = count
    }

    /// Calls `body` with every entry.
    func forEach(_ body: (Entry) -> Void) {
        for i in 0..<capacity where keyAt(i) != 0 { body(self[i]) }
    }
}
