/// The byte formats of incremental checkpoints (version 1 of each), all little-endian,
/// every checksum ``Fingerprint`` of the bytes it covers. A partition's checkpoint is a
/// *base* (the whole state, in pieces) and the *deltas* taken after it, in order; the
/// manifest that names them belongs to the store (see the pipeline's `CheckpointManifest`).
///
/// **Piece data** (a base piece, or one section of a delta):
///
///     u32 n, n × (u64 id fingerprint, u32 bucket)              dedup entries
///     u32 m, m × (u64 token fingerprint, u8 kind, u32 length, token bytes)
///
/// A token's bytes: its header, `u32` buckets and each bucket, `u32` wallets and each
/// wallet (``TokenState``'s coding). Kind 0: the whole token, replacing any earlier token
/// of its name. Kind 1: an update: the header, the buckets that changed and the wallets that
/// moved, laid over the token as it stood.
///
/// Pieces split the state by the fingerprint's low bits: dedup entry `id` and token `t`
/// belong to piece `fp & (count − 1)` of `count` (a power of two up to 64). A delta always
/// has 64 sections; a base has 1 to 64 pieces, so compaction can rewrite a large base one
/// piece at a time with one piece in memory.
///
/// **Delta blob** — `"SWD1"  u16 1  u64 sequence  u32 65  65 × (u64 offset, u64 length,
/// u64 checksum)  u64 checksum(everything before)` and then the parts the table points at:
/// entry 0 is the scalars (``PartitionEngine``'s header: configuration, offset, counters,
/// clocks, reorder buffer), entries 1...64 the sections. The fixed-size prefix lets a reader
/// fetch only the sections it needs.
///
/// **Base piece blob** — `"SWB1"  u16 1  u64 generation  u32 piece  u32 count  u64 length
/// payload  u64 checksum(everything before)`; the payload is piece data holding every dedup
/// entry and every live token of that piece, whole.
public enum CheckpointFormat {
    /// Sections of every delta.
    public static let sections = 64
    static let deltaMagic = Array("SWD1".utf8)
    static let baseMagic = Array("SWB1".utf8)
    static let version: UInt16 = 1
    /// Bytes of a delta blob's prefix (magic, version, sequence, table, checksum).
    public static let deltaPrefixBytes = 4 + 2 + 8 + 4 + (sections + 1) * 24 + 8

    /// The piece of `fingerprint` when the state is cut in `count` pieces.
    @inline(__always)
    public static func piece(of fingerprint: UInt64, count: Int) -> Int { Int(fingerprint & UInt64(count - 1)) }

    // MARK: Writing

    /// Encodes a captured delta.
    public static func encodeDelta(_ d: EngineDelta, sequence: UInt64) -> [UInt8] {
        // Wallet changes per changed token, in the order they happened (the last one wins).
        var tokenOfSlot: [Int32: Int] = [:]
        tokenOfSlot.reserveCapacity(d.tokens.count)
        for (i, t) in d.tokens.enumerated() { tokenOfSlot[t.slot] = i }
        var walletCounts = [Int](repeating: 0, count: d.tokens.count + 1)
        for w in d.wallets { if let i = tokenOfSlot[w.slot] { walletCounts[i + 1] += 1 } }
        for i in 1..<walletCounts.count { walletCounts[i] += walletCounts[i - 1] }
        var byToken = [WalletChange](
            repeating: WalletChange(fingerprint: 0, slot: 0, entry: .init(key: 0, buy: 0, sell: 0)),
            count: walletCounts.last!)
        var next = walletCounts
        for w in d.wallets {
            guard let i = tokenOfSlot[w.slot] else { continue }
            byToken[next[i]] = w
            next[i] += 1
        }
        var dedupBySection = [[DedupChange]](repeating: [], count: sections)
        for c in d.dedup { dedupBySection[piece(of: c.id, count: sections)].append(c) }
        var tokensBySection = [[Int]](repeating: [], count: sections)
        for (i, t) in d.tokens.enumerated() { tokensBySection[piece(of: t.fingerprint, count: sections)].append(i) }

        var body = BinaryWriter(
            capacity: d.header.count + d.tokenBytes.count + d.wallets.count * 17 + d.dedup.count * 12)
        var table: [(Int, Int, UInt64)] = []
        func part(_ write: (inout BinaryWriter) -> Void) {
            let start = body.bytes.count
            write(&body)
            let sum = body.bytes[start...].withUnsafeBytes { Fingerprint.of($0) }
            table.append((start, body.bytes.count - start, sum))
        }
        part { $0.raw(d.header) }
        for s in 0..<sections {
            part { w in
                w.u32(UInt32(dedupBySection[s].count))
                for c in dedupBySection[s] {
                    w.u64(c.id)
                    w.u32(c.stamp)
                }
                w.u32(UInt32(tokensBySection[s].count))
                for i in tokensBySection[s] {
                    let t = d.tokens[i]
                    w.u64(t.fingerprint)
                    w.u8(t.whole ? 0 : 1)
                    let lengthAt = w.bytes.count
                    w.u32(0)
                    w.raw(d.tokenBytes[t.range])
                    w.u32(UInt32(walletCounts[i + 1] - walletCounts[i]))
                    for c in byToken[walletCounts[i]..<walletCounts[i + 1]] {
                        TokenState.writeWallet(c.entry, fingerprint: c.fingerprint, into: &w)
                    }
                    w.patch(u32: UInt32(w.bytes.count - lengthAt - 4), at: lengthAt)
                }
            }
        }
        var out = BinaryWriter(capacity: deltaPrefixBytes + body.bytes.count)
        out.raw(deltaMagic)
        out.u16(version)
        out.u64(sequence)
        out.u32(UInt32(table.count))
        for (offset, length, sum) in table {
            out.u64(UInt64(deltaPrefixBytes + offset))
            out.u64(UInt64(length))
            out.u64(sum)
        }
        out.u64(out.bytes.withUnsafeBytes { Fingerprint.of($0) })
        out.raw(body.bytes)
        return out.bytes
    }

    /// Writes piece `piece` of `count` of an engine's dedup entries and live tokens (whole).
    static func writePiece(of e: PartitionEngine, piece k: Int, of count: Int, into w: inout BinaryWriter) {
        let countAt = w.bytes.count
        w.u32(0)
        var n: UInt32 = 0
        e.dedup.forEach { id, stamp in
            guard piece(of: id, count: count) == k else { return }
            w.u64(id)
            w.u32(stamp)
            n += 1
        }
        w.patch(u32: n, at: countAt)
        let tokensAt = w.bytes.count
        w.u32(0)
        var m: UInt32 = 0
        let now = e.clockBucket
        for i in e.tokens.indices where !e.tokenNames[i].isEmpty {
            let fp = Fingerprint.of(e.tokenNames[i])
            guard piece(of: fp, count: count) == k, now == .min || e.tokens[i].isLive(at: now, e.context) else {
                continue
            }
            w.u64(fp)
            w.u8(0)
            let lengthAt = w.bytes.count
            w.u32(0)
            e.tokens[i].writeWhole(into: &w, numbers: e.walletNumbers)
            w.patch(u32: UInt32(w.bytes.count - lengthAt - 4), at: lengthAt)
            m += 1
        }
        w.patch(u32: m, at: tokensAt)
    }

    /// Encodes piece `piece` of `count` of a base taken from `engine`.
    public static func encodeBasePiece(
        _ engine: PartitionEngine, piece k: Int, of count: Int, generation: UInt64
    ) -> [UInt8] {
        var w = BinaryWriter(capacity: 1 << 16)
        w.raw(baseMagic)
        w.u16(version)
        w.u64(generation)
        w.u32(UInt32(k))
        w.u32(UInt32(count))
        let lengthAt = w.bytes.count
        w.u64(0)
        writePiece(of: engine, piece: k, of: count, into: &w)
        w.patch(u64: UInt64(w.bytes.count - lengthAt - 8), at: lengthAt)
        w.u64(w.bytes.withUnsafeBytes { Fingerprint.of($0) })
        return w.bytes
    }

    // MARK: Reading

    /// Where each part of a delta blob is, from its prefix (``deltaPrefixBytes`` bytes).
    public struct DeltaTable: Sendable {
        public let sequence: UInt64
        /// Per part (0: scalars, 1...64: sections): byte range in the blob and checksum.
        public let parts: [(range: Range<Int>, checksum: UInt64)]

        /// The byte range of section `s` (0..<64).
        public func section(_ s: Int) -> Range<Int> { parts[s + 1].range }
        /// The byte range of the scalars.
        public var header: Range<Int> { parts[0].range }
        /// The blob's length.
        public var length: Int { parts.map(\.range.upperBound).max() ?? deltaPrefixBytes }
    }

    /// Parses and checks a delta blob's prefix.
    /// - Throws: ``SnapshotError`` when it is not an intact delta prefix.
    public static func deltaTable(_ prefix: [UInt8]) throws(SnapshotError) -> DeltaTable {
        guard prefix.count >= deltaPrefixBytes else { throw .truncated }
        guard Array(prefix[0..<4]) == deltaMagic else { throw .badMagic }
        return try prefix.reading { (r: inout BinaryReader) throws(SnapshotError) in
            r.offset = 4
            let v = try r.u16()
            guard v == version else { throw .unsupportedVersion(v) }
            let sequence = try r.u64()
            guard try r.u32() == sections + 1 else { throw .corrupt("delta table size") }
            var parts: [(Range<Int>, UInt64)] = []
            for _ in 0...sections {
                let offset = try r.u64()
                let length = try r.u64()
                let sum = try r.u64()
                guard offset >= UInt64(deltaPrefixBytes), length < 1 << 40, offset < 1 << 40 else {
                    throw .corrupt("delta table entry")
                }
                parts.append((Int(offset)..<Int(offset + length), sum))
            }
            let sum = Fingerprint.of(UnsafeRawBufferPointer(rebasing: r.base[0..<r.offset]))
            guard try r.u64() == sum else { throw .checksumMismatch }
            return DeltaTable(sequence: sequence, parts: parts)
        }
    }

    /// The payload range of a base piece blob, after checking it; and its identity.
    static func basePayload(_ blob: [UInt8]) throws(SnapshotError) -> (
        range: Range<Int>, generation: UInt64, piece: Int, count: Int
    ) {
        guard blob.count >= 4 + 2 + 8 + 4 + 4 + 8 + 8 else { throw .truncated }
        guard Array(blob[0..<4]) == baseMagic else { throw .badMagic }
        return try blob.reading { (r: inout BinaryReader) throws(SnapshotError) in
            r.offset = 4
            let v = try r.u16()
            guard v == version else { throw .unsupportedVersion(v) }
            let generation = try r.u64()
            let piece = Int(try r.u32())
            let count = Int(try r.u32())
            let length = try r.u64()
            guard count >= 1, count <= sections, count & (count - 1) == 0, piece < count,
                length == UInt64(blob.count - r.offset - 8)
            else { throw .corrupt("base piece header") }
            let start = r.offset
            let end = start + Int(length)
            let sum = Fingerprint.of(UnsafeRawBufferPointer(rebasing: r.base[0..<end]))
            r.offset = end
            guard try r.u64() == sum else { throw .checksumMismatch }
            return (start..<end, generation, piece, count)
        }
    }
}
