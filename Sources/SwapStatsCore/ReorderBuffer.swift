/// Holds a partition's events until its watermark passes them, then releases them in
/// `(ts, id)` order. A binary min-heap.
public struct ReorderBuffer: Sendable {
    private(set) var heap: [SwapEvent] = []

    public init() {}

    public var count: Int { heap.count }
    public var isEmpty: Bool { heap.isEmpty }

    /// The earliest held event time.
    public var earliest: Int64? { heap.first?.ts }

    public mutating func push(_ e: SwapEvent) {
        heap.append(e)
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard SwapEvent.precedes(heap[i], heap[parent]) else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    /// Removes and returns the earliest event if its `ts` is before `watermark`.
    public mutating func pop(before watermark: Int64) -> SwapEvent? {
        guard let first = heap.first, first.ts < watermark else { return nil }
        return popFirst()
    }

    /// Removes and returns the earliest event.
    public mutating func popFirst() -> SwapEvent? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let e = heap.removeLast()
        var i = 0
        let n = heap.count
        while true {
            let l = 2 * i + 1
            if l >= n { break }
            var m = l
            if l + 1 < n && SwapEvent.precedes(heap[l + 1], heap[l]) { m = l + 1 }
            guard SwapEvent.precedes(heap[m], heap[i]) else { break }
            heap.swapAt(i, m)
            i = m
        }
        return e
    }

    /// Heap bytes held (events and their strings, approximately).
    public var bytes: Int {
        heap.capacity * MemoryLayout<SwapEvent>.stride
            + heap.reduce(0) { $0 + TokenWindows.heapBytes($1.id) + TokenWindows.heapBytes($1.token) + TokenWindows.heapBytes($1.who) }
    }
}
