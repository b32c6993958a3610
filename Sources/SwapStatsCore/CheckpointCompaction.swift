/// Folds a base and the deltas after it into a new base, one piece at a time, so memory
/// holds one piece of the state (a `count`-th), never the whole of it. Pure: blobs come in
/// through the given readers (a file range, a Redis `GETRANGE`, an array in tests).
public enum CheckpointCompaction {
    /// The old base a compaction starts from.
    public struct Base {
        /// Its pieces.
        public var count: Int
        /// Reads piece `i` (a whole base piece blob).
        public var read: (Int) throws -> [UInt8]

        public init(count: Int, read: @escaping (Int) throws -> [UInt8]) {
            self.count = count
            self.read = read
        }
    }

    /// One delta a compaction folds in.
    public struct Delta {
        /// Its table (from its prefix).
        public var table: CheckpointFormat.DeltaTable
        /// Reads a byte range of the delta blob.
        public var read: (Range<Int>) throws -> [UInt8]

        public init(table: CheckpointFormat.DeltaTable, read: @escaping (Range<Int>) throws -> [UInt8]) {
            self.table = table
            self.read = read
        }
    }

    /// Piece `k` of `count` of the base that `old` and then `deltas` (in order) amount to.
    /// - Parameters:
    ///   - scalars: the scalars the new base reflects (the last delta's, or the old base's).
    /// - Throws: ``SnapshotError`` for damaged input, or what a reader throws.
    public static func piece(
        _ k: Int, of count: Int, generation: UInt64, configuration: EngineConfiguration, scalars: [UInt8],
        old: Base?, deltas: [Delta]
    ) throws -> [UInt8] {
        var loader = CheckpointLoader(configuration: configuration) {
            CheckpointFormat.piece(of: $0, count: count) == k
        }
        try loader.applyScalars(scalars)
        if let old {
            // The old pieces that hold piece k's entries: one when the old base was cut no
            // finer, several when it was cut finer.
            for i in 0..<old.count where i & (min(old.count, count) - 1) == k & (min(old.count, count) - 1) {
                try loader.applyBasePiece(try old.read(i))
            }
        }
        for d in deltas {
            for s in 0..<CheckpointFormat.sections where s & (count - 1) == k {
                let part = d.table.section(s)
                try loader.applyDeltaSection(try d.read(part.range), checksum: part.checksum)
            }
        }
        let engine = try loader.finish(sweep: true)
        return CheckpointFormat.encodeBasePiece(engine, piece: k, of: count, generation: generation)
    }

    /// The wallet numbers of the base that `old` (a base's wallet numbers blob, nil for no
    /// base) and then `deltas` amount to.
    public static func walletNumbers(
        generation: UInt64, configuration: EngineConfiguration, old: [UInt8]?, deltas: [Delta]
    ) throws -> [UInt8] {
        var loader = CheckpointLoader(configuration: configuration)
        if let old { try loader.applyWalletNumbers(old) }
        for d in deltas {
            let part = d.table.numberings
            try loader.applyDeltaNumberings(try d.read(part.range), checksum: part.checksum)
        }
        return CheckpointFormat.encodeWalletNumbers(loader.engine, generation: generation)
    }

    /// How many pieces a base of about `bytes` is cut into: enough for pieces of about
    /// 64 MB, a power of two from 1 to 64.
    public static func pieceCount(forBytes bytes: Int) -> Int {
        var n = 1
        while n < CheckpointFormat.sections && bytes / n > 64 << 20 { n *= 2 }
        return n
    }
}
