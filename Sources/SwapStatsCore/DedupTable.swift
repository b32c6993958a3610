/// Remembers the ids of accepted events for `DEDUP_TTL` of event time, as 64-bit
/// fingerprints with the bucket of their event: 10 bytes a slot (12 when the TTL spans more
/// than 32,767 buckets).
///
/// 64 independent segments (by the fingerprint's low six bits, so a checkpoint piece holds
/// whole segments), each an open-addressing table with linear probing over columns of keys
/// and buckets, homed by multiply-shift of the next 32 bits so it can have any capacity. A
/// full segment first drops its expired entries, then grows by half (doubling while small):
/// growth never copies more than one segment, and a large table stays between about 53 %
/// and 80 % full. A fingerprint collision (≈ n²/2⁶⁵ for n live ids) would drop a distinct
/// event as a duplicate.
///
/// Buckets: when the TTL spans at most 32,767 buckets (the default 24 h of 5 s buckets:
/// 17,280) each is kept as 16 bits above a base that every sweep moves up to the newest
/// expired bucket; the engine sweeps once per TTL of clock movement, so stored buckets stay
/// within 2×TTL of the base. Otherwise as their low 32 bits, compared by wrapping
/// difference (exact while the TTL spans fewer than 2³⁰ buckets, which
/// ``EngineConfiguration`` checks).
struct DedupTable: Sendable {
    struct Segment: Sendable {
        var keys: [UInt64] = []
        var narrow: [UInt16] = []
        var wide: [UInt32] = []
        var count = 0

        init() {}

        /// An empty segment of `capacity` slots, with narrow or wide bucket stamps.
        init(capacity: Int, narrow isNarrow: Bool) {
            keys = Array(repeating: 0, count: capacity)
            if isNarrow {
                narrow = Array(repeating: 0, count: capacity)
            } else {
                wide = Array(repeating: 0, count: capacity)
            }
        }

        /// The first empty slot from `k`'s home (the segment must have one).
        func freeSlot(for k: UInt64) -> Int {
            let capacity = keys.count
            var i = DedupTable.home(k, capacity)
            while keys[i] != 0 {
                i += 1
                if i == capacity { i = 0 }
            }
            return i
        }
    }

    static let segmentBits = 6
    static let segmentCount = 1 << segmentBits
    private(set) var segments = [Segment](repeating: Segment(), count: 1 << segmentBits)
    /// Live and not-yet-swept entries.
    private(set) var count = 0
    /// Buckets in 16 bits above `base` (else 32 low bits).
    let isNarrow: Bool
    let ttl: Int64
    /// Narrow buckets are `base + stored`; stored 0 means at or before `base` (expired).
    private var base: Int64 = .min

    /// A table for ids remembered `ttl` buckets.
    init(ttl: Int64) {
        self.ttl = ttl
        isNarrow = ttl <= 32_767
    }

    /// Heap bytes held.
    var bytes: Int {
        segments.reduce(0) { $0 + $1.keys.capacity * 8 + $1.narrow.capacity * 2 + $1.wide.capacity * 4 }
    }

    @inline(__always)
    static func segment(_ id: UInt64) -> Int { Int(id & UInt64(1 << segmentBits - 1)) }

    @inline(__always)
    private static func home(_ id: UInt64, _ capacity: Int) -> Int {
        Int((((id >> UInt64(segmentBits)) & 0xFFFF_FFFF) &* UInt64(capacity)) >> 32)
    }

    // MARK: Stored buckets

    /// Whether the entry at `slot` of segment `s` was accepted in a bucket after `deadThrough`.
    @inline(__always)
    private func isAlive(_ s: Int, _ slot: Int, after deadThrough: Int64) -> Bool {
        if deadThrough == .min { return true }
        if isNarrow { return base &+ Int64(segments[s].narrow[slot]) > deadThrough }
        return Int32(bitPattern: segments[s].wide[slot] &- UInt32(truncatingIfNeeded: deadThrough)) > 0
    }

    /// The low 32 bits of the bucket stored at `slot` of segment `s`.
    @inline(__always)
    private func low32(_ s: Int, _ slot: Int) -> UInt32 {
        isNarrow ? UInt32(truncatingIfNeeded: base &+ Int64(segments[s].narrow[slot])) : segments[s].wide[slot]
    }

    /// The narrow value of `bucket` (0 for at or before the base); nil when it is too far
    /// above the base (the table must move its base first).
    @inline(__always)
    private func narrowValue(_ bucket: Int64) -> UInt16? {
        let d = bucket &- base
        if d <= 0 { return 0 }
        return d <= 65_535 ? UInt16(d) : nil
    }

    /// Stores `bucket` at `slot` of segment `s` (narrow: the base must allow it).
    @inline(__always)
    private mutating func store(_ bucket: Int64, _ s: Int, _ slot: Int) {
        if isNarrow {
            segments[s].narrow[slot] = narrowValue(bucket) ?? 0
        } else {
            segments[s].wide[slot] = UInt32(truncatingIfNeeded: bucket)
        }
    }

    /// Makes sure `bucket` can be stored narrow: sets the base on the first store, and moves
    /// it up (dropping what expired) if a sweep came too late.
    @inline(__always)
    private mutating func admit(_ bucket: Int64) {
        guard isNarrow else { return }
        if base == .min {
            base = bucket - ttl - 1
        } else if narrowValue(bucket) == nil {
            sweep(deadThrough: bucket - ttl - 1)
        }
    }

    // MARK: Use

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
        return found && isAlive(s, slot, after: deadThrough)
    }

    /// Records `id` as accepted in `bucket` unless it is alive (accepted in a bucket after
    /// `deadThrough`); returns false for such a duplicate.
    @inline(__always)
    mutating func insertIfAbsent(_ id: UInt64, bucket: Int64, deadThrough: Int64) -> Bool {
        admit(bucket)
        let s = Self.segment(id)
        if !segments[s].keys.isEmpty {
            let (slot, found) = probe(id, s)
            if found {
                if isAlive(s, slot, after: deadThrough) { return false }
                store(bucket, s, slot)
                return true
            }
            if (segments[s].count + 1) * 5 <= segments[s].keys.count * 4 {
                segments[s].keys[slot] = id
                store(bucket, s, slot)
                segments[s].count += 1
                count += 1
                return true
            }
        }
        rebuild(s, deadThrough: deadThrough, extra: 1)
        put(id, bucket, into: s)
        return true
    }

    /// Puts back an entry from a checkpoint (replacing the entry of the same id).
    mutating func restore(_ id: UInt64, bucket: Int64) {
        admit(bucket)
        let s = Self.segment(id)
        if !segments[s].keys.isEmpty {
            let (slot, found) = probe(id, s)
            if found {
                store(bucket, s, slot)
                return
            }
        }
        if segments[s].keys.isEmpty || (segments[s].count + 1) * 5 > segments[s].keys.count * 4 {
            rebuild(s, deadThrough: .min, extra: 1)
        }
        put(id, bucket, into: s)
    }

    /// Drops every entry in a bucket at or before `deadThrough` (and moves a narrow base up
    /// to it). The engine calls it once per TTL of clock movement, so no entry outlives 2×TTL.
    mutating func sweep(deadThrough: Int64) {
        let newBase = isNarrow && deadThrough != .min ? max(base, deadThrough) : base
        for s in segments.indices { rebuild(s, deadThrough: deadThrough, extra: 0, newBase: newBase) }
        base = newBase
    }

    /// Every entry with the low 32 bits of its bucket.
    func forEach(_ body: (UInt64, UInt32) -> Void) {
        for s in segments.indices {
            for (i, k) in segments[s].keys.enumerated() where k != 0 { body(k, low32(s, i)) }
        }
    }

    // MARK: Checkpoints

    /// Writes segment `s` for a checkpoint: its capacity and its entries (id, low 32 bits of
    /// the bucket) in slot order, so a load inserts them walking forward.
    func writeSegment(_ s: Int, into w: inout BinaryWriter) {
        let segment = segments[s]
        w.u32(UInt32(s))
        w.u32(UInt32(segment.keys.count))
        w.u32(UInt32(segment.count))
        for (i, k) in segment.keys.enumerated() where k != 0 {
            w.u64(k)
            w.u32(low32(s, i))
        }
    }

    /// Reads a segment as ``writeSegment(_:into:)`` wrote it, replacing that segment (or
    /// skipping it, when `keep` refuses the segment's number as a fingerprint). Buckets are
    /// widened against `reference` (the partition's clock bucket).
    mutating func readSegment(
        _ r: inout BinaryReader, reference: Int64, keep: (UInt64) -> Bool = { _ in true }
    ) throws(SnapshotError) {
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
        var fresh = Segment(capacity: capacity, narrow: isNarrow)
        if isNarrow && base == .min { base = reference - ttl - 1 }
        for _ in 0..<n {
            let k = try r.u64()
            let low = try r.u32()
            guard k != 0, Self.segment(k) == s else { throw .corrupt("dedup entry in the wrong segment") }
            let i = fresh.freeSlot(for: k)
            fresh.keys[i] = k
            if isNarrow {
                // Entries at or after the base's 16 bits are expired ones a sweep has not
                // dropped yet (or damage): kept as expired.
                fresh.narrow[i] = narrowValue(TokenState.widen(low, against: reference)) ?? 0
            } else {
                fresh.wide[i] = low
            }
        }
        fresh.count = n
        count += n
        segments[s] = fresh
    }

    // MARK: Growth

    private mutating func put(_ id: UInt64, _ bucket: Int64, into s: Int) {
        let (slot, _) = probe(id, s)
        segments[s].keys[slot] = id
        store(bucket, s, slot)
        segments[s].count += 1
        count += 1
    }

    /// Rebuilds segment `s` without the entries at or before `deadThrough`, sized for them and
    /// `extra` more (doubling while small, by half once large; shrinking when mostly empty),
    /// narrow buckets rewritten above `newBase`.
    private mutating func rebuild(_ s: Int, deadThrough: Int64, extra: Int, newBase: Int64? = nil) {
        let old = segments[s]
        guard old.count > 0 || extra > 0 else { return }
        let oldBase = base
        let rebased = newBase ?? base
        var live = 0
        for i in old.keys.indices where old.keys[i] != 0 && isAlive(s, i, after: deadThrough) { live += 1 }
        let need = live + extra
        var capacity = old.keys.count
        if extra > 0 && (need + 1) * 5 > capacity * 4 {
            capacity = max(64, need < 65_536 ? need * 5 / 2 : need * 3 / 2)
        }
        if extra == 0 && capacity > 16 && live * 4 < capacity { capacity = max(16, live * 3 / 2) }
        if capacity == 0 { capacity = 16 }
        var fresh = Segment(capacity: capacity, narrow: isNarrow)
        for i in old.keys.indices where old.keys[i] != 0 && isAlive(s, i, after: deadThrough) {
            let k = old.keys[i]
            let j = fresh.freeSlot(for: k)
            fresh.keys[j] = k
            if isNarrow {
                let bucket = oldBase &+ Int64(old.narrow[i])
                let d = bucket &- rebased
                fresh.narrow[j] = d <= 0 ? 0 : UInt16(min(d, 65_535))
            } else {
                fresh.wide[j] = old.wide[i]
            }
        }
        fresh.count = live
        count += live - old.count
        segments[s] = fresh
    }
}
