/// Remembers the ids of accepted events for `DEDUP_TTL` of event time, as 64-bit
/// fingerprints with the bucket of their event (12 bytes a slot).
///
/// 64 independent segments (by the fingerprint's low six bits, so a checkpoint piece holds
/// whole segments), each an open-addressing table with linear probing over columns of keys
/// and buckets, homed by multiply-shift of the next 32 bits so it can have any capacity. A full segment first drops its expired entries, then grows by half:
/// growth never copies more than one segment, and the table stays between about 53 % and
/// 80 % full. A fingerprint collision (≈ n²/2⁶⁵ for n live ids) would drop a distinct event
/// as a duplicate. Buckets are kept as their low 32 bits and compared by wrapping
/// difference, exact while the TTL spans fewer than 2³⁰ buckets (checked by
/// ``EngineConfiguration``).
struct DedupTable: Sendable {
    struct Segment: Sendable {
        var keys: [UInt64] = []
        var buckets: [UInt32] = []
        var count = 0
    }

    static let segmentBits = 6
    static let segmentCount = 1 << segmentBits
    private(set) var segments = [Segment](repeating: Segment(), count: 1 << segmentBits)
    /// Live and not-yet-swept entries.
    private(set) var count = 0

    /// Heap bytes held.
    var bytes: Int { segments.reduce(0) { $0 + $1.keys.capacity * 8 + $1.buckets.capacity * 4 } }

    @inline(__always)
    static func isAfter(_ stored: UInt32, _ bound: Int64) -> Bool {
        bound == .min || Int32(bitPattern: stored &- UInt32(truncatingIfNeeded: bound)) > 0
    }

    @inline(__always)
    static func segment(_ id: UInt64) -> Int { Int(id & UInt64(1 << segmentBits - 1)) }

    @inline(__always)
    private static func home(_ id: UInt64, _ capacity: Int) -> Int {
        Int((((id >> UInt64(segmentBits)) & 0xFFFF_FFFF) &* UInt64(capacity)) >> 32)
    }

    /// The slot of `id` in segment `s`, or where it would go (`found` false).
    @inline(__always)
    private func probe(_ id: UInt64, _ s: Int) -> (slot: Int, found: Bool) {
        segments[s].keys.withUnsafeBufferPointer { keys in
            var i = Self.home(id, keys.count)
            while true {
                let k = keys[i]
                if k == id { return (i, true) }
                if k == 0 { return (i, false) }
                i += 1
                if i == keys.count { i = 0 }
            }
        }
    }

    /// Whether `id` was accepted in a bucket after `deadThrough`.
    func contains(_ id: UInt64, aliveAfter deadThrough: Int64) -> Bool {
        let s = Self.segment(id)
        guard !segments[s].keys.isEmpty else { return false }
        let (slot, found) = probe(id, s)
        return found && Self.isAfter(segments[s].buckets[slot], deadThrough)
    }

    /// Records `id` as accepted in `bucket` unless it is alive (accepted in a bucket after
    /// `deadThrough`); returns false for such a duplicate.
    @inline(__always)
    mutating func insertIfAbsent(_ id: UInt64, bucket: Int64, deadThrough: Int64) -> Bool {
        let s = Self.segment(id)
        let b = UInt32(truncatingIfNeeded: bucket)
        if !segments[s].keys.isEmpty {
            let (slot, found) = probe(id, s)
            if found {
                if Self.isAfter(segments[s].buckets[slot], deadThrough) { return false }
                segments[s].buckets[slot] = b
                return true
            }
            if (segments[s].count + 1) * 5 <= segments[s].keys.count * 4 {
                segments[s].keys[slot] = id
                segments[s].buckets[slot] = b
                segments[s].count += 1
                count += 1
                return true
            }
        }
        grow(s, deadThrough: deadThrough)
        put(id, b, into: s)
        return true
    }

    /// Puts back an entry from a checkpoint (replacing the entry of the same id).
    mutating func restore(_ id: UInt64, bucket: Int64) { restore(id, stamp: UInt32(truncatingIfNeeded: bucket)) }

    /// Puts back an entry from a checkpoint by the low 32 bits of its bucket.
    mutating func restore(_ id: UInt64, stamp b: UInt32) {
        let s = Self.segment(id)
        if !segments[s].keys.isEmpty {
            let (slot, found) = probe(id, s)
            if found {
                segments[s].buckets[slot] = b
                return
            }
        }
        if segments[s].keys.isEmpty || (segments[s].count + 1) * 5 > segments[s].keys.count * 4 {
            grow(s, deadThrough: .min)
        }
        put(id, b, into: s)
    }

    /// Drops every entry in a bucket at or before `deadThrough`. The engine calls it once per
    /// TTL of clock movement, so no entry outlives 2×TTL (< 2³¹ buckets) and the wrapping
    /// 32-bit comparison stays exact even on a stream that stops inserting.
    mutating func sweep(deadThrough: Int64) {
        for s in segments.indices where segments[s].count > 0 { rebuild(s, deadThrough: deadThrough, extra: 0) }
    }

    /// Every entry with the low 32 bits of its bucket.
    func forEach(_ body: (UInt64, UInt32) -> Void) {
        for segment in segments {
            for (k, b) in zip(segment.keys, segment.buckets) where k != 0 { body(k, b) }
        }
    }

    /// Every entry with its bucket (`near` is any bucket within 2³⁰ of them).
    func forEach(near: Int64, _ body: (UInt64, Int64) -> Void) {
        for segment in segments {
            for (k, b) in zip(segment.keys, segment.buckets) where k != 0 {
                body(k, near + Int64(Int32(bitPattern: b &- UInt32(truncatingIfNeeded: near))))
            }
        }
    }

    /// Writes segment `s` for a checkpoint: its capacity and its entries in slot order (so a
    /// load inserts them walking forward, without random probes).
    func writeSegment(_ s: Int, into w: inout BinaryWriter) {
        let segment = segments[s]
        w.u32(UInt32(s))
        w.u32(UInt32(segment.keys.count))
        w.u32(UInt32(segment.count))
        for (k, b) in zip(segment.keys, segment.buckets) where k != 0 {
            w.u64(k)
            w.u32(b)
        }
    }

    /// Reads a segment as ``writeSegment(_:into:)`` wrote it, replacing that segment
    /// (or skipping it, when `keep` refuses the segment's number as a fingerprint).
    mutating func readSegment(_ r: inout BinaryReader, keep: (UInt64) -> Bool = { _ in true }) throws(SnapshotError) {
        let s = Int(try r.u32())
        let capacity = Int(try r.u32())
        let n = Int(try r.u32())
        guard s < segments.count, n < capacity || capacity == 0, capacity <= 1 << 31, n <= r.remaining / 12,
            capacity / 4 <= n + 64
        else { throw .corrupt("dedup segment") }
        guard keep(UInt64(s)) else {
            _ = try r.bytes(n * 12)
            return
        }
        count -= segments[s].count
        segments[s] = Segment()
        var fresh = Segment()
        fresh.keys = Array(repeating: 0, count: capacity)
        fresh.buckets = Array(repeating: 0, count: capacity)
        for _ in 0..<n {
            let k = try r.u64()
            let b = try r.u32()
            guard k != 0, Self.segment(k) == s else { throw .corrupt("dedup entry in the wrong segment") }
            var i = Self.home(k, capacity)
            while fresh.keys[i] != 0 {
                i += 1
                if i == capacity { i = 0 }
            }
            fresh.keys[i] = k
            fresh.buckets[i] = b
        }
        fresh.count = n
        count += n
        segments[s] = fresh
    }

    private mutating func put(_ id: UInt64, _ b: UInt32, into s: Int) {
        let (slot, _) = probe(id, s)
        segments[s].keys[slot] = id
        segments[s].buckets[slot] = b
        segments[s].count += 1
        count += 1
    }

    /// Makes room for one more entry in segment `s`: expired entries go first; the segment
    /// grows by half when that frees too little.
    private mutating func grow(_ s: Int, deadThrough: Int64) {
        rebuild(s, deadThrough: deadThrough, extra: 1)
    }

    /// Rebuilds segment `s` without the entries at or before `deadThrough`, sized so that it
    /// is at most two-thirds full with `extra` more (never smaller than needed).
    private mutating func rebuild(_ s: Int, deadThrough: Int64, extra: Int) {
        let old = segments[s]
        var live = 0
        for (k, b) in zip(old.keys, old.buckets) where k != 0 && Self.isAfter(b, deadThrough) { live += 1 }
        let need = live + extra
        var capacity = old.keys.count
        // Doubling while small keeps early growth cheap; by half once large keeps it tight.
        if extra > 0 && (need + 1) * 5 > capacity * 4 {
            capacity = max(64, need < 65_536 ? need * 5 / 2 : need * 3 / 2)
        }
        if extra == 0 && capacity > 16 && live * 4 < capacity { capacity = max(16, live * 3 / 2) }
        if capacity == 0 { capacity = 16 }
        var fresh = Segment()
        fresh.keys = Array(repeating: 0, count: capacity)
        fresh.buckets = Array(repeating: 0, count: capacity)
        count -= old.count
        segments[s] = Segment()
        fresh.keys.withUnsafeMutableBufferPointer { keys in
            fresh.buckets.withUnsafeMutableBufferPointer { buckets in
                for (k, b) in zip(old.keys, old.buckets) where k != 0 && Self.isAfter(b, deadThrough) {
                    var i = Self.home(k, capacity)
                    while keys[i] != 0 {
                        i += 1
                        if i == capacity { i = 0 }
                    }
                    keys[i] = k
                    buckets[i] = b
                }
            }
        }
        fresh.count = live
        count += live
        segments[s] = fresh
    }
}
