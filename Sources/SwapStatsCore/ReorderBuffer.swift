/// Holds a partition's events until its watermark passes them, then releases them in
/// `(ts, id)` order.
///
/// Time-sliced, not a heap: held events always lie in `[watermark, newest]`, at most
/// `ALLOWED_LATENESS` wide, so a ring of slices of `width` ms covering that span gives each
/// event its place in O(1). Events live in a slab, each slice is a linked list through it,
/// and a slice is sorted only when released (almost always one or two events), so a stream
/// that arrives in order costs O(1) per event.
public struct ReorderBuffer: Sendable {
    /// Slab slot of each slice's first event (-1: empty).
    private var heads: [Int32]
    /// One bit per slice: whether it holds an event (so releasing skips empty time fast).
    private var occupied: [UInt64]
    /// Per slab slot: the next event of its slice (-1: none), or the next free slot.
    private var next: [Int32] = []
    private var slab: [SwapEvent] = []
    private var freeSlot: Int32 = -1
    /// Milliseconds per slice.
    let width: Int64
    /// The first time not yet released (all held events are at or after it).
    private var cursor: Int64 = .min
    public private(set) var count = 0
    /// Slots of the slice being released, sorted before their events go out.
    private var order: [Int32] = []

    /// What a partition keeps in place of its buffer while the buffer hands out events.
    static let parked = ReorderBuffer(lateness: 0)

    /// Fills free slots: its strings are empty, so moving it costs no reference counting.
    static let vacant = SwapEvent(id: "", token: "", who: "", side: .buy, amount: 1, usd: 0, ts: 0)

    /// A buffer for held events at most `lateness` ms apart.
    public init(lateness: Int64) {
        let span = lateness + 1
        let w = max(1, (span + 8_190) / 8_191)
        width = w
        let n = Int((span + w - 1) / w) + 1
        heads = Array(repeating: -1, count: n)
        occupied = Array(repeating: 0, count: (n + 63) / 64)
    }

    public var isEmpty: Bool { count == 0 }

    @inline(__always)
    private func slice(_ ts: Int64) -> Int {
        let q = ts >= 0 ? ts / width : (ts - width + 1) / width
        let n = Int64(heads.count)
        let r = q % n
        return Int(r < 0 ? r + n : r)
    }

    /// The held events, in no particular order.
    public var events: [SwapEvent] {
        var out: [SwapEvent] = []
        out.reserveCapacity(count)
        for h in heads {
            var i = h
            while i >= 0 {
                out.append(slab[Int(i)])
                i = next[Int(i)]
            }
        }
        return out
    }

    /// Holds `e`, whose `ts` must be at or after the last release bound.
    public mutating func push(_ e: consuming SwapEvent) {
        let ts = e.ts
        if count == 0 || ts < cursor { cursor = ts }
        let slot: Int32
        if freeSlot >= 0 {
            slot = freeSlot
            freeSlot = next[Int(slot)]
            slab[Int(slot)] = e
        } else {
            slot = Int32(slab.count)
            slab.append(e)
            next.append(-1)
        }
        let s = slice(ts)
        next[Int(slot)] = heads[s]
        heads[s] = slot
        occupied[s >> 6] |= 1 << UInt64(s & 63)
        count += 1
    }

    /// Removes the held events with `ts` before `bound` and hands each to `body`, in
    /// `(ts, id)` order. `body` must not touch this buffer (its owner moves it aside first).
    public mutating func release(before bound: Int64, _ body: (SwapEvent) -> Void) {
        guard count > 0, cursor < bound else { return }
        // Occupied slices in time order from the cursor's: those wholly before the bound,
        // then the one it falls in. All held events lie within one turn of the ring.
        var t = cursor - (cursor >= 0 ? cursor % width : ((cursor % width) + width) % width)
        var s = slice(t)
        var scanned = 0
        while count > 0 && scanned < heads.count {
            guard let d = nextOccupied(from: s, within: heads.count - scanned) else { break }
            t += Int64(d) * width
            guard t < bound else { break }
            s += d
            if s >= heads.count { s -= heads.count }
            take(slice: s, before: bound, body)
            scanned += d + 1
            t += width
            s += 1
            if s == heads.count { s = 0 }
        }
        cursor = count == 0 ? .min : max(cursor, bound)
        if count == 0 {
            slab.removeAll(keepingCapacity: true)
            next.removeAll(keepingCapacity: true)
            freeSlot = -1
        }
    }

    /// Hands the events of slice `s` with `ts` before `bound` to `body`, sorted, and frees
    /// their slots.
    private mutating func take(slice s: Int, before bound: Int64, _ body: (SwapEvent) -> Void) {
        var i = heads[s]
        guard i >= 0 else { return }
        order.removeAll(keepingCapacity: true)
        var kept: Int32 = -1
        while i >= 0 {
            let n = next[Int(i)]
            if slab[Int(i)].ts < bound {
                order.append(i)
                count -= 1
            } else {
                next[Int(i)] = kept
                kept = i
            }
            i = n
        }
        heads[s] = kept
        if kept < 0 { occupied[s >> 6] &= ~(1 << UInt64(s & 63)) }
        if order.count > 1 { sortOrder() }
        for k in order.indices {
            let slot = Int(order[k])
            var e = Self.vacant
            swap(&e, &slab[slot])
            next[slot] = freeSlot
            freeSlot = Int32(slot)
            body(e)
        }
    }

    /// Sorts `order` (the slots of one slice) by their events' `(ts, id)`. A slice's list is
    /// newest first: reversed, events that arrived in order are sorted already, which the
    /// insertion sort of a few slots finds in one pass; a burst (many events within one
    /// slice, e.g. a replay with equal timestamps) is sorted in O(n log n).
    private mutating func sortOrder() {
        order.reverse()
        guard order.count <= 32 else {
            var slots = order
            order = []
            slots.sort { precedes(Int($0), Int($1)) }
            order = slots
            return
        }
        for i in 1..<order.count {
            var j = i
            while j > 0 && precedes(Int(order[j]), Int(order[j - 1])) {
                order.swapAt(j, j - 1)
                j -= 1
            }
        }
    }

    @inline(__always)
    private func precedes(_ a: Int, _ b: Int) -> Bool {
        let ta = slab[a].ts
        let tb = slab[b].ts
        return ta != tb ? ta < tb : IdOrder.precedes(slab[a].id, slab[b].id)
    }

    /// How many slices after `s` (0: `s` itself) the next occupied one is, looking at most
    /// `limit` slices ahead around the ring; nil when none is.
    private func nextOccupied(from s: Int, within limit: Int) -> Int? {
        var distance = 0
        var i = s
        while distance < limit {
            let word = occupied[i >> 6] >> UInt64(i & 63)
            if word != 0 {
                let d = distance + word.trailingZeroBitCount
                return d < limit ? d : nil
            }
            let step = 64 - (i & 63)
            distance += step
            i += step
            if i >= heads.count {
                // The last word's bits past the ring's end are never set: wrap to slice 0.
                distance -= i - heads.count
                i = 0
            }
        }
        return nil
    }

    /// Heap bytes held (events and their strings, approximately).
    public var bytes: Int {
        heads.capacity * 4 + next.capacity * 4 + slab.capacity * MemoryLayout<SwapEvent>.stride
            + slab.reduce(0) {
                $0 + StringBytes.heap($1.id) + StringBytes.heap($1.token) + StringBytes.heap($1.who)
            }
    }
}

/// Heap bytes of native strings.
enum StringBytes {
    /// 0 for small strings stored inline; header and bytes otherwise.
    static func heap(_ s: String) -> Int { s.utf8.count > 15 ? 32 + s.utf8.count : 0 }
}

extension ReorderBuffer {
    /// Whether some held event has `ts` before `bound` (a cheap check before releasing).
    @inline(__always)
    func holds(before bound: Int64) -> Bool { count > 0 && cursor < bound }
}
