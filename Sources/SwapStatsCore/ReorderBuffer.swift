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
    /// Per slab slot: the next event of its slice (-1: none), or the next free slot.
    private var next: [Int32] = []
    private var slab: [SwapEvent] = []
    private var freeSlot: Int32 = -1
    /// Milliseconds per slice.
    let width: Int64
    /// The first time not yet released (all held events are at or after it).
    private var cursor: Int64 = .min
    public private(set) var count = 0
    private var scratch: [SwapEvent] = []

    /// Fills free slots: its strings are empty, so moving it costs no reference counting.
    private static let vacant = SwapEvent(id: "", token: "", who: "", side: .buy, amount: 1, usd: 0, ts: 0)

    /// A buffer for held events at most `lateness` ms apart.
    public init(lateness: Int64) {
        let span = lateness + 1
        let w = max(1, (span + 8_190) / 8_191)
        width = w
        heads = Array(repeating: -1, count: Int((span + w - 1) / w) + 1)
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
    public mutating func push(_ e: SwapEvent) {
        if count == 0 || e.ts < cursor { cursor = e.ts }
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
        let s = slice(e.ts)
        next[Int(slot)] = heads[s]
        heads[s] = slot
        count += 1
    }

    /// Removes the held events with `ts` before `bound`, in `(ts, id)` order, into `out`
    /// (which it empties first).
    public mutating func release(before bound: Int64, into out: inout [SwapEvent]) {
        out.removeAll(keepingCapacity: true)
        guard count > 0, cursor < bound else { return }
        // Slices whose whole range is before the bound, then the one it falls in.
        var t = cursor - (cursor >= 0 ? cursor % width : ((cursor % width) + width) % width)
        var visited = 0
        while t < bound && count > 0 && visited < heads.count {
            take(slice: slice(t), before: bound, into: &out)
            t += width
            visited += 1
        }
        cursor = count == 0 ? .min : max(cursor, bound)
    }

    /// Removes every held event, in `(ts, id)` order, into `out` (emptied first).
    public mutating func releaseAll(into out: inout [SwapEvent]) {
        out.removeAll(keepingCapacity: true)
        guard count > 0 else { return }
        for h in heads.indices where heads[h] >= 0 { take(slice: h, before: .max, into: &out) }
        out.sort(by: SwapEvent.precedes)
        cursor = .min
        slab.removeAll(keepingCapacity: true)
        next.removeAll(keepingCapacity: true)
        freeSlot = -1
    }

    /// Moves the events of slice `s` with `ts` before `bound` to `out`, sorted.
    private mutating func take(slice s: Int, before bound: Int64, into out: inout [SwapEvent]) {
        var i = heads[s]
        guard i >= 0 else { return }
        scratch.removeAll(keepingCapacity: true)
        var kept: Int32 = -1
        while i >= 0 {
            let n = next[Int(i)]
            if slab[Int(i)].ts < bound {
                var e = Self.vacant
                swap(&e, &slab[Int(i)])
                scratch.append(e)
                next[Int(i)] = freeSlot
                freeSlot = i
                count -= 1
            } else {
                next[Int(i)] = kept
                kept = i
            }
            i = n
        }
        heads[s] = kept
        if scratch.count > 1 { scratch.sort(by: SwapEvent.precedes) }
        out.append(contentsOf: scratch)
    }

    /// Heap bytes held (events and their strings, approximately).
    public var bytes: Int {
        heads.capacity * 4 + next.capacity * 4 + scratch.capacity * MemoryLayout<SwapEvent>.stride
            + slab.capacity * MemoryLayout<SwapEvent>.stride
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
