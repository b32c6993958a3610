/// Builds a partition's state from a checkpoint: the scalars, the base's pieces, then each
/// delta after the base, in order; ``finish()`` makes it whole. Compaction runs the same
/// code over one piece: with `keep`, the loader takes only the dedup entries and tokens
/// whose fingerprints that piece holds.
///
/// Whatever the bytes, a load never traps: anything out of place throws ``SnapshotError``
/// (and the caller rebuilds the partition from the log).
public struct CheckpointLoader: Sendable {
    var engine: PartitionEngine
    private let keep: @Sendable (UInt64) -> Bool

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

    /// Applies a base piece blob (checked whole).
    public mutating func applyBasePiece(_ blob: [UInt8]) throws(SnapshotError) {
        let payload = try CheckpointFormat.basePayload(blob).range
        try blob.reading { (r: inout BinaryReader) throws(SnapshotError) in
            var r = BinaryReader(r.base, from: payload.lowerBound, to: payload.upperBound)
            try applyPiece(&r)
            guard r.isAtEnd else { throw .corrupt("trailing bytes in a base piece") }
        }
    }

    /// Applies a whole delta blob: its scalars, then every section.
    public mutating func applyDelta(_ blob: [UInt8]) throws(SnapshotError) {
        let table = try CheckpointFormat.deltaTable(blob)
        guard table.length == blob.count else { throw .truncated }
        for (i, part) in table.parts.enumerated() {
            try blob.reading { (r: inout BinaryReader) throws(SnapshotError) in
                let bytes = UnsafeRawBufferPointer(rebasing: r.base[part.range])
                guard Fingerprint.of(bytes) == part.checksum else { throw .checksumMismatch }
                var p = BinaryReader(r.base, from: part.range.lowerBound, to: part.range.upperBound)
                if i == 0 {
                    try engine.readScalars(&p)
                } else {
                    try applyPiece(&p)
                }
                guard p.isAtEnd else { throw .corrupt("trailing bytes in a delta part") }
            }
        }
    }

    /// Applies one section of a delta, read on its own; `checksum` is its table entry's.
    public mutating func applyDeltaSection(_ bytes: [UInt8], checksum: UInt64) throws(SnapshotError) {
        guard bytes.withUnsafeBytes({ Fingerprint.of($0) }) == checksum else { throw .checksumMismatch }
        try bytes.reading { (r: inout BinaryReader) throws(SnapshotError) in
            try applyPiece(&r)
            guard r.isAtEnd else { throw .corrupt("trailing bytes in a delta section") }
        }
    }

    /// Piece data: dedup entries, then tokens (see ``CheckpointFormat``).
    mutating func applyPiece(_ r: inout BinaryReader) throws(SnapshotError) {
        let n = Int(try r.u32())
        guard n <= r.remaining / 12 else { throw .corrupt("dedup count \(n)") }
        for _ in 0..<n {
            let id = try r.u64()
            let stamp = try r.u32()
            guard id != 0 else { throw .corrupt("zero fingerprint") }
            if keep(id) { engine.dedup.restore(id, stamp: stamp) }
        }
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
            try engine.loadToken(&t, fingerprint: fp, whole: kind == 0)
            guard t.isAtEnd else { throw .corrupt("trailing bytes in a token") }
        }
    }

    /// The loaded state, made whole: tokens with no trade left in the largest window and
    /// expired dedup entries dropped, distinct-wallet counters derived, window starts and
    /// extreme stacks rebuilt. It keeps no journal.
    /// - Throws: ``SnapshotError/corrupt(_:)`` when a token lacks its newest bucket.
    public consuming func finish() throws(SnapshotError) -> PartitionEngine {
        try engine.finishLoad()
        return engine
    }
}

extension PartitionEngine {
    /// Reads one token entry of piece data: a whole token (replacing any of its name) or an
    /// update of one already loaded.
    mutating func loadToken(_ r: inout BinaryReader, fingerprint: UInt64, whole: Bool) throws(SnapshotError) {
        let header = try TokenState.readHeader(&r, context, numbers: &walletNumbers)
        guard Fingerprint.of(header.name) == fingerprint else { throw .corrupt("token fingerprint") }
        let existing = slot(of: header.name)
        guard whole || existing != nil else { throw .corrupt("update of \(header.name), which is not loaded") }
        var token: TokenState
        if whole {
            token = header
        } else {
            token = tokens[existing!]
            tokens[existing!] = .vacant
            token.takeHeader(of: header)
        }
        let buckets = Int(try r.u32())
        guard buckets <= r.remaining / 30 else { throw .corrupt("bucket count \(buckets)") }
        token.ring.reserve(token.ring.count + buckets)
        for _ in 0..<buckets { try token.readBucket(&r, context) }
        let wallets = Int(try r.u32())
        guard wallets <= r.remaining / 17 else { throw .corrupt("wallet count \(wallets)") }
        if token.wallets.count + wallets > token.wallets.capacity * 2 / 3 {
            token.wallets.rebuild(reserving: wallets) { _ in true }
        }
        for _ in 0..<wallets {
            let (fp, entry) = try TokenState.readWallet(&r)
            try token.restoreWallet(fp, entry, numbers: &walletNumbers)
        }
        if let s = existing {
            tokens[s] = token
        } else {
            tokenIndex.insert(fingerprint, place(token))
        }
    }

    /// Finishes a load (see ``CheckpointLoader/finish()``).
    mutating func finishLoad() throws(SnapshotError) {
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
            tokens[i].finishLoad(context)
            slotFlags[i] = SlotFlags()
        }
        if now != .min { dedup.sweep(deadThrough: now - ttlBuckets) }
    }
}
