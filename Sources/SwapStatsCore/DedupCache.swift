/// Remembers the ids of accepted events for `DEDUP_TTL` of event time, as 64-bit
/// fingerprints with the bucket of their event.
///
/// Memory is proportional to the ids inside the TTL: expired entries are swept out before
/// the table would grow, so it settles at under twice the live count. A fingerprint
/// collision (≈ n²/2⁶⁵ for n live ids) would drop a distinct event as a duplicate.
public struct DedupCache: Sendable {
    var table = FingerprintTable<Int64>(placeholder: 0)

    public init() {}

    /// Live and not-yet-swept entries.
    public var count: Int { table.count }

    /// Heap bytes held.
    public var bytes: Int { table.bytes }

    /// Whether `id` was accepted in a bucket after `deadThrough`.
    public func contains(_ id: UInt64, aliveAfter deadThrough: Int64) -> Bool {
        guard let slot = table.find(id) else { return false }
        return table.value(at: slot) > deadThrough
    }

    /// Records `id` as accepted in `bucket`, sweeping entries in buckets <= `deadThrough`
    /// first when the table is full.
    public mutating func insert(_ id: UInt64, bucket: Int64, deadThrough: Int64) {
        if let slot = table.find(id) {
            table.setValue(max(bucket, table.value(at: slot)), at: slot)
            return
        }
        if table.isFull && table.capacity > 0 {
            table.removeAll(where: { _, b in b <= deadThrough })
        }
        table.insert(id, bucket)
    }

    /// Every entry, for snapshots.
    func forEach(_ body: (UInt64, Int64) -> Void) { table.forEach(body) }
}
