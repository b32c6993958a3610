/// The buckets whose high (or low) beats every newer bucket's: the suffix extremes.
///
/// Every window ends at the newest bucket, so the high of the window that starts after
/// bucket `b` is the value of the first entry with a larger index: one binary search
/// answers all windows at once. Appending is amortised O(1); a late trade that raises an
/// old bucket's high edits the middle (rare).
struct ExtremeStack: Sendable {
    struct Entry: Sendable {
        var index: Int64
        var value: Double
    }

    /// Entries from `head` on: indices increasing, values strictly decreasing for a max
    /// stack (increasing for a min stack).
    private(set) var entries: [Entry] = []
    private var head = 0
    let isMax: Bool

    init(isMax: Bool) { self.isMax = isMax }

    /// Whether `a` is at least as extreme as `b`.
    @inline(__always)
    private func covers(_ a: Double, _ b: Double) -> Bool { isMax ? a >= b : a <= b }

    /// Records that bucket `index` now has extreme `value` (never less extreme than before).
    mutating func update(index: Int64, value: Double) {
        var p = entries.count
        if p > head && entries[p - 1].index >= index {
            p = firstPosition(after: index - 1)
        }
        if p < entries.count && entries[p].index == index {
            entries[p].value = value
        } else if p < entries.count && covers(entries[p].value, value) {
            return
        } else if p == entries.count {
            entries.append(Entry(index: index, value: value))
        } else {
            entries.insert(Entry(index: index, value: value), at: p)
        }
        var q = p
        while q > head && covers(value, entries[q - 1].value) { q -= 1 }
        if q < p { entries.removeSubrange(q..<p) }
    }

    /// The extreme over buckets with index > `bound`, or nil when there are none.
    func extreme(after bound: Int64) -> Double? {
        let p = firstPosition(after: bound)
        return p < entries.count ? entries[p].value : nil
    }

    /// Drops entries with index <= `bound`.
    mutating func evict(through bound: Int64) {
        while head < entries.count && entries[head].index <= bound { head += 1 }
        if head == entries.count {
            entries.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 32 && head * 2 > entries.count {
            entries.removeFirst(head)
            head = 0
        }
    }

    /// Heap bytes held.
    var bytes: Int { entries.capacity * MemoryLayout<Entry>.stride }

    private func firstPosition(after bound: Int64) -> Int {
        var lo = head
        var hi = entries.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if entries[mid].index > bound { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }
}
