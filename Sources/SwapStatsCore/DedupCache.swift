/// Remembers the ids of accepted events for `DEDUP_TTL` of event time, as 64-bit
/// fingerprints with the bucket of their event (12 bytes a slot).
///
/// Memory is proportional to the ids inside the TTL: expired entries are swept out before
/// the table would grow, so it settles at under twice the live count. A fingerprint
/// collision (≈ n²/2⁶⁵ for n live ids) would drop a distinct event as a duplicate.
/// Buckets are kept as their low 32 bits and compared by wrapping difference, exact while
/// the TTL spans fewer than 2³⁰ buckets (checked by ``EngineConfiguration``).
public struct DedupCache: Sendable {
    var table = FingerprintTable<UInt32>(placeholder: 0)

    public init() {}

    /// Live and not-yet-swept entries.
    public var count: Int { table.count }

    /// Heap bytes held.
    public var bytes: Int { table.bytes }

    @inline(__always)
    static func isAfter(_ stored: UInt32, _ bound: Int64) -> Bool {
        bound == .min || Int32(bitPattern: stored &- UInt32(truncatingIfNeeded: bound)) > 0
    }

    /// Whether `id` was accepted in a bucket after `deadThrough`.
    public func contains(_ id: UInt64, aliveAfter deadThrough: Int64) -> Bool {
        guard let slot = table.find(id) else { return false }
        return Self.isAfter(table.value(at: slot), deadThrough)
    }

    /// Records `id` as accepted in `bucket` unless it is alive (accepted in a bucket after
    /// `deadThrough`); returns false for such a duplicate. Sweeps entries in buckets at or
    /// before `deadThrough` first when the table is full.
    public mutating func insertIfAbsent(_ id: UInt64, bucket: Int64, deadThrough: Int64) -> Bool {
        let b = UInt32(truncatingIfNeeded: bucket)
        if let slot = table.find(id) {
            let stored = table.value(at: slot)
            if Self.isAfter(stored, deadThrough) { return false }
            table.setValue(b, at: slot)
            return true
        }
        if table.isFull && table.capacity > 0 {
            table.removeAll(where: { _, stored in !Self.isAfter(stored, deadThrough) })
        }
        table.insert(id, b)
        return true
    }

    /// Drops every entry in a bucket at or before `deadThrough`. The engine calls it once per
    /// TTL of clock movement, so no entry outlives 2×TTL (< 2³¹ buckets) and the wrapping
    /// 32-bit comparison stays exact even on a stream that stops inserting.
    public mutating func sweep(deadThrough: Int64) {
        table.removeAll(where: { _, stored in !Self.isAfter(stored, deadThrough) })
    }

    /// Puts back an entry from a snapshot.
    mutating func restore(_ id: UInt64, bucket: Int64) { table.insert(id, UInt32(truncatingIfNeeded: bucket)) }

    /// Every entry with its bucket, for snapshots (`near` is any bucket within 2³⁰ of them).
    func forEach(near: Int64, _ body: (UInt64, Int64) -> Void) {
        table.forEach { id, stored in
            body(id, near + Int64(Int32(bitPattern: stored &- UInt32(truncatingIfNeeded: near))))
        }
    }
}
