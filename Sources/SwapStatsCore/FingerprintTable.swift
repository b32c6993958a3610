/// An open-addressing hash table keyed by 64-bit fingerprints, with linear probing and
/// backward-shift deletion (no tombstones).
///
/// Keys may repeat: callers that need exact identity (the token table) store several
/// entries under one fingerprint and tell them apart with `find(_:where:)`. Zero is the
/// empty-slot marker, which ``Fingerprint`` never produces.
public struct FingerprintTable<Value> {
    /// One slot: key and value side by side, so a probe touches one cache line.
    @usableFromInline struct Slot {
        @usableFromInline var key: UInt64
        @usableFromInline var value: Value
        @usableFromInline init(key: UInt64, value: Value) {
            self.key = key
            self.value = value
        }
    }

    @usableFromInline var slots: [Slot]
    @usableFromInline let placeholder: Value
    @usableFromInline var mask: Int
    /// Number of entries.
    public private(set) var count: Int

    /// Creates an empty table that holds `minimumCapacity` entries before it grows;
    /// `placeholder` fills empty slots (it is never returned).
    public init(minimumCapacity: Int = 0, placeholder: Value) {
        self.placeholder = placeholder
        var n = 8
        while n * 7 / 10 < minimumCapacity { n *= 2 }
        self.slots = []
        mask = n - 1
        count = 0
    }

    /// Slots allocated (0 until the first insert).
    public var capacity: Int { slots.count }

    /// Heap bytes held by the table's storage.
    public var bytes: Int { slots.count * MemoryLayout<Slot>.stride }

    @inlinable @inline(__always)
    func home(_ key: UInt64) -> Int { Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 20) & mask }

    /// The slot of the first entry under `key` that satisfies `match`.
    @inlinable
    public func find(_ key: UInt64, where match: (Value) -> Bool) -> Int? {
        if slots.isEmpty { return nil }
        var i = home(key)
        while true {
            let k = slots[i].key
            if k == 0 { return nil }
            if k == key, match(slots[i].value) { return i }
            i = (i + 1) & mask
        }
    }

    /// The slot of the first entry under `key`.
    @inlinable
    public func find(_ key: UInt64) -> Int? { find(key, where: { _ in true }) }

    /// The value in an occupied slot.
    @inlinable
    public func value(at slot: Int) -> Value { slots[slot].value }

    /// Replaces the value in an occupied slot.
    @inlinable
    public mutating func setValue(_ value: Value, at slot: Int) { slots[slot].value = value }

    /// Inserts a new entry (even if `key` is present) and returns its slot.
    /// Grows first when the load would pass 70 %; slots returned earlier are then invalid.
    @discardableResult
    public mutating func insert(_ key: UInt64, _ value: Value) -> Int {
        precondition(key != 0, "fingerprint 0 is reserved")
        if slots.isEmpty {
            slots = Array(repeating: Slot(key: 0, value: placeholder), count: mask + 1)
        } else if (count + 1) * 10 > slots.count * 7 {
            resize(to: slots.count * 2)
        }
        var i = home(key)
        while slots[i].key != 0 { i = (i + 1) & mask }
        slots[i] = Slot(key: key, value: value)
        count += 1
        return i
    }

    /// Whether the next insert would grow the table.
    public var isFull: Bool { slots.isEmpty || (count + 1) * 10 > slots.count * 7 }

    /// Removes the entry in an occupied slot (backward-shift deletion).
    public mutating func remove(at slot: Int) {
        var hole = slot
        var i = (slot + 1) & mask
        while slots[i].key != 0 {
            let h = home(slots[i].key)
            // Move entry i into the hole if its home is not in (hole, i] cyclically.
            let inRange = hole <= i ? (h > hole && h <= i) : (h > hole || h <= i)
            if !inRange {
                slots[hole] = slots[i]
                hole = i
            }
            i = (i + 1) & mask
        }
        slots[hole] = Slot(key: 0, value: placeholder)
        count -= 1
    }

    /// Removes every entry for which `shouldRemove` is true, then shrinks when at most a
    /// quarter full. O(capacity).
    public mutating func removeAll(where shouldRemove: (UInt64, Value) -> Bool) {
        guard !slots.isEmpty else { return }
        var kept: [(UInt64, Value)] = []
        kept.reserveCapacity(count)
        for slot in slots where slot.key != 0 && !shouldRemove(slot.key, slot.value) {
            kept.append((slot.key, slot.value))
        }
        if kept.count == count { return }
        var slots = 8
        while slots * 7 / 10 < max(kept.count * 2, 1) { slots *= 2 }
        rebuild(slots: min(slots, self.slots.count), entries: kept)
    }

    /// Calls `body` for every entry, in slot order.
    public func forEach(_ body: (UInt64, Value) -> Void) {
        for slot in slots where slot.key != 0 { body(slot.key, slot.value) }
    }

    mutating func resize(to slots: Int) {
        var entries: [(UInt64, Value)] = []
        entries.reserveCapacity(count)
        forEach { entries.append(($0, $1)) }
        rebuild(slots: slots, entries: entries)
    }

    mutating func rebuild(slots count: Int, entries: [(UInt64, Value)]) {
        mask = count - 1
        slots = Array(repeating: Slot(key: 0, value: placeholder), count: count)
        self.count = 0
        for (k, v) in entries {
            var i = home(k)
            while slots[i].key != 0 { i = (i + 1) & mask }
            slots[i] = Slot(key: k, value: v)
            self.count += 1
        }
    }
}

extension FingerprintTable: Sendable where Value: Sendable {}
extension FingerprintTable.Slot: Sendable where Value: Sendable {}
