/// What changed in a partition since the last checkpoint delta: appended to in O(1) per
/// event while the engine keeps a journal, taken whole by ``PartitionEngine/takeDelta()``.
struct EngineJournal: Sendable {
    /// Accepted ids (new, or accepted again after expiring).
    var dedup: [DedupChange] = []
    /// Wallet entries as they became (the last change of a wallet wins).
    var wallets: [WalletChange] = []
    /// Token slots whose header or buckets changed, each once.
    var tokens: [Int32] = []
    /// Buckets whose trades changed (repeats are dropped when a delta is taken).
    var buckets: [BucketChange] = []
    /// Slots freed since the last delta; reused only after it, so a journal's slot numbers
    /// always name the token they were recorded for.
    var freed: [Int32] = []
}

struct DedupChange: Sendable {
    var id: UInt64
    var stamp: UInt32
}

struct WalletChange: Sendable {
    var slot: Int32
    /// The entry as it became (its key names the wallet by number).
    var entry: WalletTable.Entry
}

struct BucketChange: Sendable {
    var slot: Int32
    var index: UInt32
}

/// What changed in one partition between two checkpoints, captured on the shard's thread
/// in time proportional to the change (the per-event journals are handed over whole).
/// ``CheckpointFormat/encodeDelta(_:sequence:)`` turns it into bytes, on any thread.
public struct EngineDelta: Sendable {
    /// The scalars as of the capture (see ``PartitionEngine/writeScalars(into:)``).
    let header: [UInt8]
    /// Each changed token's header and changed buckets, back to back.
    let tokenBytes: [UInt8]
    let tokens: [TokenChange]
    let wallets: [WalletChange]
    let dedup: [DedupChange]
    /// Wallet numbers given and freed, in order.
    let numberings: [WalletDirectory.Numbering]
    /// The offset the state reflects: the next Kafka message it has not seen.
    public let offset: Int64

    /// Tokens changed (or new).
    public var tokenCount: Int { tokens.count }
    /// Events whose ids entered the dedup table.
    public var acceptedIds: Int { dedup.count }
}

struct TokenChange: Sendable {
    var fingerprint: UInt64
    var slot: Int32
    /// New since the last delta: written whole, replacing any earlier token of its name.
    var whole: Bool
    var range: Range<Int>
}

extension PartitionEngine {
    /// Whether changes are journaled for checkpoint deltas.
    public var isJournaling: Bool { journal != nil }

    /// Starts journaling changes: the next ``takeDelta()`` holds everything that changes
    /// from now on. Call it on an empty engine or right after a restore.
    public mutating func startJournal() {
        journal = EngineJournal()
        walletNumbers.log = []
    }

    /// Marks token slot `slot` changed, and the bucket at ring position `p` (when given).
    @inline(__always)
    mutating func journalToken(_ slot: Int32, bucket p: Int?, wallet: WalletChange?) {
        let s = Int(slot)
        if !slotFlags[s].dirty {
            slotFlags[s].dirty = true
            journal!.tokens.append(slot)
        }
        if let p {
            let index = tokens[s].ring[p].index
            if journal!.buckets.last.map({ $0.slot != slot || $0.index != index }) ?? true {
                journal!.buckets.append(BucketChange(slot: slot, index: index))
            }
        }
        if let wallet { journal!.wallets.append(wallet) }
    }

    /// Hands over what changed since the previous delta (or since journaling started) and
    /// starts a new journal. Costs time in proportion to the tokens changed; the per-event
    /// journals are moved, not copied.
    public mutating func takeDelta() -> EngineDelta {
        precondition(journal != nil, "takeDelta() without startJournal()")
        var j = EngineJournal()
        swap(&j, &journal!)
        var numberings: [WalletDirectory.Numbering] = []
        swap(&numberings, &walletNumbers.log!)
        var header = BinaryWriter(capacity: 4_096)
        writeScalars(into: &header)
        var w = BinaryWriter(capacity: j.tokens.count * 256)
        var changes: [TokenChange] = []
        changes.reserveCapacity(j.tokens.count)
        j.buckets.sort { $0.slot != $1.slot ? $0.slot < $1.slot : $0.index < $1.index }
        for slot in j.tokens {
            let s = Int(slot)
            slotFlags[s].dirty = false
            guard !tokenNames[s].isEmpty else { continue }
            let whole = slotFlags[s].fresh
            slotFlags[s].fresh = false
            let start = w.bytes.count
            let who = lastWho(s)
            if whole {
                tokens[s].writeWhole(into: &w, who: who)
                changes.append(
                    TokenChange(
                        fingerprint: Fingerprint.of(tokenNames[s]), slot: slot, whole: true,
                        range: start..<w.bytes.count))
                continue
            }
            tokens[s].writeHeader(into: &w, who: who)
            let countAt = w.bytes.count
            w.u32(0)
            var written: UInt32 = 0
            var i = Self.firstBucketChange(of: slot, in: j.buckets)
            while i < j.buckets.count && j.buckets[i].slot == slot {
                let index = tokens[s].widen(j.buckets[i].index)
                let p = tokens[s].position(of: index)
                if p < tokens[s].ring.count && tokens[s].bucketIndex(p) == index {
                    tokens[s].writeBucket(p, into: &w)
                    written += 1
                }
                i += 1
                while i < j.buckets.count && j.buckets[i].slot == slot && j.buckets[i].index == j.buckets[i - 1].index {
                    i += 1
                }
            }
            w.patch(u32: written, at: countAt)
            changes.append(
                TokenChange(
                    fingerprint: Fingerprint.of(tokenNames[s]), slot: slot, whole: false, range: start..<w.bytes.count))
        }
        freeSlots.append(contentsOf: j.freed)
        return EngineDelta(
            header: header.bytes, tokenBytes: w.bytes, tokens: changes, wallets: j.wallets, dedup: j.dedup,
            numberings: numberings, offset: nextOffset)
    }

    /// The first entry of `slot` in bucket changes sorted by slot.
    private static func firstBucketChange(of slot: Int32, in changes: [BucketChange]) -> Int {
        var lo = 0
        var hi = changes.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if changes[mid].slot < slot { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}
