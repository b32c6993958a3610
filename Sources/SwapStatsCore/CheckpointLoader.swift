/// Builds a partition's state from a checkpoint: the scalars, the base's wallet numbers and
/// pieces, then each delta after the base, in order; ``finish()`` makes it whole.
/// Compaction runs the same code over one piece: with `keep`, the loader takes only the dedup
/// entries and tokens whose fingerprints that piece holds.
///
/// Whatever the bytes, a load never traps: anything out of place throws ``SnapshotError``
/// (and the caller rebuilds the partition from the log).
public struct CheckpointLoader: Sendable {
    var engine: PartitionEngine
    private let keep: @Sendable (UInt64) -> Bool
    /// Token slots that deltas updated (their counters are derived when finishing).
    private var updated: Set<Int32> = []

    /// - Parameter keep: which fingerprints (of ids and of token names) to take; all by
    ///   default.
    public init(configuration: EngineConfiguration, keep: @escaping @Sendable (UInt64) -> Bool = { _ in true }) {
        self.init(configuration: configuration, slidingThreshold: TokenState.defaultSlidingThreshold, keep: keep)
    }

    init(
        configuration: EngineConfiguration, slidingThreshold: Int,
        keep: @escaping @Sendable (UInt64) -> Bool = { _ in true }
    ) {
        engine = PartitionEngine(configuration: configuration, slidingThreshold: slidingThreshold)
        self.keep = keep
    }

    /// Takes the scalars of a base or a delta: offset, counters, clocks, reorder buffer.
    /// - Throws: ``SnapshotError`` (``SnapshotError/configurationMismatch(_:)`` when they
    ///   were taken under other settings).
    public mutating func applyScalars(_ bytes: [UInt8]) throws(SnapshotError) {
        try bytes.reading { (r: inout BinaryReader) throws(SnapshotError) in
            try engine.readScalars(&r)
            guard r.isAtEnd else { throw .corrupt("trailing bytes after the scalars") }
        }
    }

    /// Takes a base's wallet numbers (a blob, checked whole).
    public mutating func applyWalletNumbers(_ blob: [UInt8]) throws(SnapshotError) {
        let payload = try CheckpointFormat.basePayload(blob, magic: CheckpointFormat.walletsMagic, header: 8)
        try blob.reading { (r: inout BinaryReader) throws(SnapshotError) in
            var r = BinaryReader(r.base, from: payload.lowerBound, to: payload.upperBound)
            try engine.walletNumbers.read(&r)
            guard r.isAtEnd else { throw .corrupt("trailing bytes after the wallet numbers") }
        }
    }

    /// Applies a base piece blob (checked whole).
    public mutating func applyBasePiece(_ blob: [UInt8]) throws(SnapshotError) {
        let payload = try CheckpointFormat.basePayload(blob, magic: CheckpointFormat.baseMagic, header: 16)
        try blob.reading { (r: inout BinaryReader) throws(SnapshotError) in
            var h = BinaryReader(r.base, from: 14, to: 22)
            let piece = Int(try h.u32())
            let count = Int(try h.u32())
            guard count >= 1, count <= CheckpointFormat.sections, count & (count - 1) == 0, piece < count else {
                throw .corrupt("base piece header")
            }
            var p = BinaryReader(r.base, from: payload.lowerBound, to: payload.upperBound)
            try applyPiece(&p)
            guard p.isAtEnd else { throw .corrupt("trailing bytes in a base piece") }
        }
    }

    /// A base piece's payload: dedup segments, then whole tokens.
    mutating func applyPiece(_ p: inout BinaryReader) throws(SnapshotError) {
        let segments = Int(try p.u32())
        guard segments <= DedupTable.segmentCount else { throw .corrupt("segment count") }
        for _ in 0..<segments {
            // A segment holds the ids whose low bits are its number, so it is kept whole.
            try engine.dedup.readSegment(&p, reference: reference, keep: keep)
        }
        try applyTokens(&p)
    }

    /// Applies a whole delta blob: its scalars, wallet numbers, then every section.
    public mutating func applyDelta(_ blob: [UInt8]) throws(SnapshotError) {
        let table = try CheckpointFormat.deltaTable(blob)
        guard table.length == blob.count else { throw .truncated }
        for (i, part) in table.parts.enumerated() {
            try blob.reading { (r: inout BinaryReader) throws(SnapshotError) in
                let bytes = UnsafeRawBufferPointer(rebasing: r.base[part.range])
                guard Fingerprint.of(bytes) == part.checksum else { throw .checksumMismatch }
                var p = BinaryReader(r.base, from: part.range.lowerBound, to: part.range.upperBound)
                switch i {
                case 0: try engine.readScalars(&p)
                case 1: try applyNumberings(&p)
                default: try applySection(&p)
                }
                guard p.isAtEnd else { throw .corrupt("trailing bytes in a delta part") }
            }
        }
    }

    /// Applies a delta's wallet numbers part, read on its own.
    public mutating func applyDeltaNumberings(_ bytes: [UInt8], checksum: UInt64) throws(SnapshotError) {
        guard bytes.withUnsafeBytes({ Fingerprint.of($0) }) == checksum else { throw .checksumMismatch }
        try bytes.reading { (r: inout BinaryReader) throws(SnapshotError) in
            try applyNumberings(&r)
            guard r.isAtEnd else { throw .corrupt("trailing bytes in wallet numbers") }
        }
    }

    /// Applies one section of a delta, read on its own; `checksum` is its table entry's.
    public mutating func applyDeltaSection(_ bytes: [UInt8], checksum: UInt64) throws(SnapshotError) {
        guard bytes.withUnsafeBytes({ Fingerprint.of($0) }) == checksum else { throw .checksumMismatch }
        try bytes.reading { (r: inout BinaryReader) throws(SnapshotError) in
            try applySection(&r)
            guard r.isAtEnd else { throw .corrupt("trailing bytes in a delta section") }
        }
    }

    private mutating func applyNumberings(_ r: inout BinaryReader) throws(SnapshotError) {
        let n = Int(try r.u32())
        guard n <= r.remaining / 12 else { throw .corrupt("wallet numbers count") }
        for _ in 0..<n {
            try engine.walletNumbers.replay(.init(number: try r.u32(), fingerprint: try r.u64()))
        }
    }

    /// A delta section: accepted ids, then token entries.
    private mutating func applySection(_ r: inout BinaryReader) throws(SnapshotError) {
        let n = Int(try r.u32())
        guard n <= r.remaining / 12 else { throw .corrupt("dedup count \(n)") }
        for _ in 0..<n {
            let id = try r.u64()
            let stamp = try r.u32()
            guard id != 0 else { throw .corrupt("zero fingerprint") }
            if keep(id) { engine.dedup.restore(id, bucket: TokenState.widen(stamp, against: reference)) }
        }
        try applyTokens(&r)
    }

    /// The bucket stored bucket numbers are widened against: the clock's.
    private var reference: Int64 { engine.clock == .min ? 0 : engine.clockBucket }

    /// Token entries (see ``CheckpointFormat``).
    private mutating func applyTokens(_ r: inout BinaryReader) throws(SnapshotError) {
        let m = Int(try r.u32())
        guard m <= r.remaining / 13 else { throw .corrupt("token count \(m)") }
        for _ in 0..<m {
            let fp = try r.u64()
            let kind = try r.u8()
            let length = Int(try r.u32())
            guard kind <= 1, length <= r.remaining else { throw .corrupt("token entry") }
            let start = r.offset
            r.offset += length
            guard keep(fp) else { continue }
            var t = BinaryReader(r.base, from: start, to: start + length)
            let slot = try engine.loadToken(&t, fingerprint: fp, whole: kind == 0)
            if kind == 0 { updated.remove(slot) } else { updated.insert(slot) }
            guard t.isAtEnd else { throw .corrupt("trailing bytes in a token") }
        }
    }

    /// The loaded state, made whole: tokens with no trade left in the largest window
    /// dropped, distinct-wallet counters derived for the tokens deltas updated, wallet
    /// numbers' newest buckets found. It keeps no journal.
    /// - Parameter sweep: also drop expired dedup entries (compaction does; a restore leaves
    ///   them to the next sweep).
    /// - Throws: ``SnapshotError/corrupt(_:)`` when a token lacks its newest bucket.
    public consuming func finish(sweep: Bool = false) throws(SnapshotError) -> PartitionEngine {
        try engine.finishLoad(updated: updated, sweep: sweep)
        return engine
    }
}

extension PartitionEngine {
    /// Reads one token entry of piece data: a whole token (replacing any of its name) or an
    /// update of one already loaded; returns its slot.
    mutating func loadToken(_ r: inout BinaryReader, fingerprint: UInt64, whole: Bool) throws(SnapshotError) -> Int32 {
        var token: TokenState
        let who: String
        if whole {
            (token, who) = try TokenState.readWhole(&r, context)
        } else {
            (token, who) = try TokenState.readHeader(&r, context)
        }
        guard Fingerprint.of(token.name) == fingerprint else { throw .corrupt("token fingerprint") }
        walletNumbers.setWho(token.lastWallet, who)
        let existing = slot(of: token.name)
        if !whole {
            guard let s = existing else { throw .corrupt("update of \(token.name), which is not loaded") }
            let header = token
            token = tokens[s]
            tokens[s] = .vacant
            token.takeHeader(of: header)
            let buckets = Int(try r.u32())
            guard buckets <= r.remaining / 30 else { throw .corrupt("bucket count \(buckets)") }
            token.ring.reserve(token.ring.count + buckets)
            for _ in 0..<buckets { try token.readBucket(&r, context) }
            let wallets = Int(try r.u32())
            guard wallets <= r.remaining / 12 else { throw .corrupt("wallet count \(wallets)") }
            for _ in 0..<wallets { try token.upsertWallet(try TokenState.readWallet(&r)) }
        }
        if let s = existing {
            tokens[s] = token
            return Int32(s)
        }
        let slot = place(token)
        tokenIndex.insert(fingerprint, slot)
        return slot
    }

    /// Finishes a load (see ``CheckpointLoader/finish(sweep:)``).
    mutating func finishLoad(updated: Set<Int32>, sweep: Bool) throws(SnapshotError) {
        let now = clockBucket
        var dead: [(UInt64, Int32)] = []
        let c = context
        var failure: SnapshotError?
        tokenIndex.forEach { hash, slot in
            let t = tokens[Int(slot)]
            if t.ring.count == 0 || t.bucketIndex(t.ring.count - 1) != t.position {
                failure = .corrupt("token \(t.name) without its newest bucket")
            } else if now != .min && !t.isLive(at: now, c) {
                dead.append((hash, slot))
            }
        }
        if let failure { throw failure }
        for (hash, slot) in dead {
            tokenIndex.remove(at: tokenIndex.find(hash, where: { $0 == slot })!)
            tokens[Int(slot)] = .vacant
            tokenNames[Int(slot)] = ""
            freeSlots.append(slot)
        }
        for i in tokens.indices where !tokenNames[i].isEmpty {
            if updated.contains(Int32(i)) {
                tokens[i].finishUpdates(context, clock: now)
            } else {
                tokens[i].finishSliding(context)
            }
        }
        // Each wallet number's newest bucket, from every token's entries.
        let numbers = walletNumbers.fingerprints.count
        var newest = [UInt32](repeating: 0, count: numbers)
        var seen = [Bool](repeating: false, count: numbers)
        for i in tokens.indices where !tokenNames[i].isEmpty {
            slotFlags[i] = SlotFlags()
            let position = tokens[i].position
            for e in tokens[i].wallets.slots where e.key != 0 {
                let n = Int(e.number)
                guard n < numbers else { continue }
                let b = UInt32(truncatingIfNeeded: TokenState.lastAny(e, newest: position))
                if !seen[n] || Int32(bitPattern: b &- newest[n]) > 0 { newest[n] = b }
                seen[n] = true
            }
        }
        walletNumbers.finishLoad(newest: newest, seen: seen)
        if sweep && now != .min { dedup.sweep(deadThrough: now - ttlBuckets) }
    }
}
