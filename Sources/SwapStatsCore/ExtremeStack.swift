/// The buckets whose high (or low) beats every newer bucket's: the suffix extremes.
///
/// Every window ends at the newest bucket, so the high of the window that starts after
/// bucket `b` is the value of the first entry with a larger index: one binary search
/// answers all windows at once. Appending is amortised O(1); a late trade that raises an
/// old bucket's high edits the middle (rare).
struct ExtremeStack: Sendable {
    /// Entries from `head` on: indices increasing, values strictly decreasing for a max
    /// stack (increasing for a min stack).
    private(set) var indices: [Int64] = []
    private(set) var values: [Double] = []
    private var head = 0
    let isMax: Bool

    init(isMax: Bool) { self.isMax = isMax }

    /// Whether `a` is at least as extreme as `b`.
    @inline(__always)
    private func covers(_ a: Double, _ b: Double) -> Bool { isMax ? a >= b : a <= b }

    /// Records that bucket `index` now has extreme `value` (never less extreme than before).
    mutating func update(index: Int64, value: Double) {
        var p = indices.count
        if p > head && indices[p - 1] >= index {
            p = firstPosition(after: index - 1)
        }
        if p < indices.count && indices[p] == index {
            values[p] = value
        } else if p < indices.count && covers(values[p], value) {
            return
        } else {
            indices.insert(index, at: p)
            values.insert(value, at: p)
        }
        var q = p
        while q > head && covers(value, values[q - 1]) { q -= 1 }
        if q < p {
            indices.removeSubrange(q..<p)
            values.removeSubrange(q..<p)
        }
    }

    /// The extreme over buckets with index > `bound`, or nil when there are none.
    func extreme(after bound: Int64) -> Double? {
        let p = firstPosition(after: bound)
        return p < indices.count ? values[p] : nil
    }

    /// Drops entries with index <= `bound`.
    mutating func evict(through bound: Int64) {
        while head < indices.count && indices[head] <= bound { head += 1 }
        if head > 32 && head * 2 > indices.count {
            indices.removeFirst(head)
            values.removeFirst(head)
            head = 0
        }
    }

    /// Heap bytes held.
    var bytes: Int { (indices.capacity + values.capacity) * 8 }

    private func firstPosition(after bound: Int64) -> Int {
        var lo = head
        var hi = indices.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if indices[mid] > bound { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }
}
