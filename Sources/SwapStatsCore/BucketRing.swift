/// A token's bucket slots in one buffer, as a double-ended array: append and remove-first
/// are O(1), an insert shifts the shorter side. Grows and shrinks by a quarter, not by
/// doubling, so a long-lived token's buckets carry little slack.
///
/// Positions are logical (0 is the first slot).
struct BucketRing: RandomAccessCollection, Sendable {
    typealias Element = BucketSlot
    private var storage: [Element] = []
    private var first = 0
    private(set) var count = 0
    private static let placeholder = BucketSlot.empty

    init() {}

    /// A ring holding `slots`, in order, with a little room to grow.
    init(slots: [BucketSlot]) {
        storage = slots
        count = slots.count
        if slots.count > 0 { storage.reserveCapacity(slots.count + slots.count / 8 + 4) }
        storage += repeatElement(Self.placeholder, count: storage.capacity - storage.count)
    }

    /// The slots in order, as one array.
    var slots: [BucketSlot] {
        var out: [BucketSlot] = []
        out.reserveCapacity(count)
        for i in 0..<count { out.append(self[i]) }
        return out
    }

    var startIndex: Int { 0 }
    var endIndex: Int { count }
    var capacity: Int { storage.count }

    @inline(__always)
    private func physical(_ i: Int) -> Int {
        let p = first + i
        return p >= storage.count ? p - storage.count : p
    }

    subscript(i: Int) -> Element {
        @inline(__always) get { storage[physical(i)] }
        @inline(__always) _modify { yield &storage[physical(i)] }
        @inline(__always) set { storage[physical(i)] = newValue }
    }

    var last: Element? { count == 0 ? nil : self[count - 1] }

    mutating func append(_ x: Element) {
        if count == storage.count { resize(to: Self.grown(count)) }
        storage[physical(count)] = x
        count += 1
    }

    /// Inserts `x` at position `i` (0...count).
    mutating func insert(_ x: Element, at i: Int) {
        if count == storage.count { resize(to: Self.grown(count)) }
        if i < count / 2 {
            first = first == 0 ? storage.count - 1 : first - 1
            count += 1
            for j in 0..<i { self[j] = self[j + 1] }
        } else {
            count += 1
            var j = count - 1
            while j > i {
                self[j] = self[j - 1]
                j -= 1
            }
        }
        self[i] = x
    }

    mutating func removeFirst(_ n: Int) {
        precondition(n <= count)
        for i in 0..<n { self[i] = Self.placeholder }
        first = count == n ? 0 : physical(n)
        count -= n
        if storage.count > 16 && count < storage.count / 4 { resize(to: count + count / 4 + 4) }
    }

    /// Makes room for `n` slots in all (growing by a quarter at least).
    mutating func reserve(_ n: Int) {
        if n > storage.count { resize(to: Swift.max(n, storage.count + storage.count / 4 + 4)) }
    }

    mutating func removeAll() {
        storage = []
        first = 0
        count = 0
    }

    /// Heap bytes held.
    var bytes: Int { storage.capacity * MemoryLayout<Element>.stride }

    /// The capacity after `count` slots filled it: one slot for a token's first bucket (most
    /// tokens of a long tail never get a second), then a quarter more plus four.
    @inline(__always)
    private static func grown(_ count: Int) -> Int { count == 0 ? 1 : count + count / 4 + 4 }

    private mutating func resize(to capacity: Int) {
        var fresh: [Element] = []
        fresh.reserveCapacity(capacity)
        for i in 0..<count { fresh.append(self[i]) }
        while fresh.count < capacity { fresh.append(Self.placeholder) }
        storage = fresh
        first = 0
    }
}
