/// Holds a partition's events until its watermark passes them, then releases them in
/// `(ts, id)` order.
///
/// A binary min-heap of plain `(ts, slot)` entries over a slab of events, so sifting moves
/// 16-byte values and touches an id only to break a tie of timestamps.
public struct ReorderBuffer: Sendable {
    struct Entry: Sendable {
        var ts: Int64
        var slot: Int32
    }

    private var heap: [Entry] = []
    /// Events by slot; a free slot holds `vacant`.
    private var slab: [SwapEvent] = []
    /// Fills free slots: its strings are empty, so moving it costs no reference counting.
    private static let vacant = SwapEvent(id: "", token: "", who: "", side: .buy, amount: 1, usd: 0, ts: 0)
    private var free: [Int32] = []

    public init() {}

    public var count: Int { heap.count }
    public var isEmpty: Bool { heap.isEmpty }

    /// The held events, in no particular order.
    public var events: [SwapEvent] { heap.map { slab[Int($0.slot)] } }

    @inline(__always)
    private func precedes(_ a: Entry, _ b: Entry) -> Bool {
        a.ts != b.ts ? a.ts < b.ts : slab[Int(a.slot)].id < slab[Int(b.slot)].id
    }

    public mutating func push(_ e: SwapEvent) {
        let slot: Int32
        if let f = free.popLast() {
            slot = f
            slab[Int(f)] = e
        } else {
            slot = Int32(slab.count)
            slab.append(e)
        }
        heap.append(Entry(ts: e.ts, slot: slot))
        var i = heap.count - 1
        let entry = heap[i]
        while i > 0 {
            let parent = (i - 1) / 2
            guard precedes(entry, heap[parent]) else { break }
            heap[i] = heap[parent]
            i = parent
        }
        heap[i] = entry
    }

    /// Removes and returns the earliest event if its `ts` is before `watermark`.
    public mutating func pop(before watermark: Int64) -> SwapEvent? {
        guard !heap.isEmpty, heap[0].ts < watermark else { return nil }
        return popFirst()
    }

    /// Removes and returns the earliest event.
    public mutating func popFirst() -> SwapEvent? {
        guard !heap.isEmpty else { return nil }
        let top = heap[0]
        let last = heap.removeLast()
        let n = heap.count
        if n > 0 {
            var i = 0
            while true {
                let l = 2 * i + 1
                if l >= n { break }
                var m = l
                if l + 1 < n && precedes(heap[l + 1], heap[l]) { m = l + 1 }
                guard precedes(heap[m], last) else { break }
                heap[i] = heap[m]
                i = m
            }
            heap[i] = last
        }
        var event = Self.vacant
        swap(&event, &slab[Int(top.slot)])
        free.append(top.slot)
        if heap.isEmpty {
            slab.removeAll(keepingCapacity: true)
            free.removeAll(keepingCapacity: true)
        }
        return event
    }

    /// Heap bytes held (events and their strings, approximately).
    public var bytes: Int {
        heap.capacity * MemoryLayout<Entry>.stride + slab.capacity * MemoryLayout<SwapEvent>.stride
            + free.capacity * 4
            + slab.reduce(0) {
                $0 + TokenWindows.heapBytes($1.id) + TokenWindows.heapBytes($1.token) + TokenWindows.heapBytes($1.who)
            }
    }
}
