/// The byte formats of incremental checkpoints (version 1 of each), all little-endian,
/// every checksum ``Fingerprint`` of the bytes it covers. A partition's checkpoint is a
/// *base* (the wallet numbers, and the state cut in pieces) and the *deltas* taken after it,
/// in order; ``CheckpointManifest`` names them.
///
/// Pieces split the state by fingerprint: dedup entry `id` and token `t` belong to piece
/// `fp & (count − 1)` of `count` (a power of two up to 64). A delta always has 64 sections;
/// a base has 1 to 64 pieces, so compaction can rewrite a large base one piece at a time with
/// one piece in memory.
///
/// **Token entries** (in base pieces and delta sections): `u64 token fingerprint, u8 kind,
/// u32 length, bytes`. Kind 0: the whole token (see ``TokenState``'s coding), replacing any
/// earlier token of its name. Kind 1: an update (its header, `u32` changed buckets and each,
/// `u32` moved wallet entries and each), laid over the token as it stood.
///
/// **Base piece blob** — `"SWB1" u16 1 u64 generation u32 piece u32 count u64 length`,
/// payload, checksum of everything before. Payload: `u32 n` dedup segments (each: `u32`
/// segment, `u32` capacity, `u32` entries, entries `(u64 id, u32 bucket)` in table order),
/// then `u32 m` token entries, all whole.
///
/// **Wallet numbers blob** — `"SWW1" u16 1 u64 generation u64 length`, payload (`u32 n`,
/// then the fingerprint of each wallet number, 0 for a free one), checksum.
///
/// **Delta blob** — `"SWD1" u16 1 u64 sequence u32 66`, 66 entries `(u64 offset, u64 length,
/// u64 checksum)`, a checksum of this prefix (1,610 bytes), then the parts the entries point
/// at. Part 0: the scalars (configuration, offset, counters, clocks, reorder buffer). Part 1:
/// the wallet numbers given and freed, in order (`u32 n`, `n × (u32 number, u64 fingerprint
/// or 0)`). Parts 2...65: the sections, each `u32 n` accepted ids `(u64 id, u32 bucket)` and
/// `u32 m` token entries. The fixed-size prefix lets a reader fetch only what it needs.
public enum CheckpointFormat {
    /// Sections of every delta.
    public static let sections = 64
    static let deltaMagic = Array("SWD1".utf8)
    static let baseMagic = Array("SWB1".utf8)
    static let walletsMagic = Array("SWW1".utf8)
    static let version: UInt16 = 1
    /// Parts of a delta blob: scalars, wallet numbers, sections.
    static let deltaParts = sections + 2
    /// Bytes of a delta blob's prefix (magic, version, sequence, table, checksum).
    public static let deltaPrefixBytes = 4 + 2 + 8 + 4 + deltaParts * 24 + 8

    /// The piece of `fingerprint` when the state is cut in `count` pieces.
    @inline(__always)
    public static func piece(of fingerprint: UInt64, count: Int) -> Int { Int(fingerprint & UInt64(count - 1)) }

    // MARK: Writing

    /// Encodes a captured delta.
    public static func encodeDelta(_ d: EngineDelta, sequence: UInt64) -> [UInt8] {
        // Wallet changes per updated token, in the order they happened (the last one wins).
        var tokenOfSlot: [Int32: Int] = [:]
        tokenOfSlot.reserveCapacity(d.tokens.count)
        for (i, t) in d.tokens.enumerated() where !t.whole { tokenOfSlot[t.slot] = i }
        var walletStarts = [Int](repeating: 0, count: d.tokens.count + 1)
        for w in d.wallets { if let i = tokenOfSlot[w.slot] { walletStarts[i + 1] += 1 } }
        for i in 1..<walletStarts.count { walletStarts[i] += walletStarts[i - 1] }
        var byToken = [WalletTable.Entry](repeating: .init(key: 0, buy: 0, sell: 0), count: walletStarts.last!)
        var next = walletStarts
        for w in d.wallets {
            guard let i = tokenOfSlot[w.slot] else { continue }
            byToken[next[i]] = w.entry
            next[i] += 1
        }
        var dedupBySection = [[DedupChange]](repeating: [], count: sections)
        for c in d.dedup { dedupBySection[piece(of: c.id, count: sections)].append(c) }
        var tokensBySection = [[Int]](repeating: [], count: sections)
        for (i, t) in d.tokens.enumerated() { tokensBySection[piece(of: t.fingerprint, count: sections)].append(i) }

        var body = BinaryWriter(
            capacity: d.header.count + d.tokenBytes.count + d.wallets.count * 12 + d.dedup.count * 12 + 4_096)
        var table: [(Int, Int, UInt64)] = []
        func part(_ write: (inout BinaryWriter) -> Void) {
            let start = body.bytes.count
            write(&body)
            let sum = body.bytes[start...].withUnsafeBytes { Fingerprint.of($0) }
            table.append((start, body.bytes.count - start, sum))
        }
        part { $0.raw(d.header) }
        part { w in
            w.u32(UInt32(d.numberings.count))
            for n in d.numberings {
                w.u32(n.number)
                w.u64(n.fingerprint)
            }
        }
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
                    if !t.whole {
                        w.u32(UInt32(walletStarts[i + 1] - walletStarts[i]))
                        for e in byToken[walletStarts[i]..<walletStarts[i + 1]] { TokenState.writeWallet(e, into: &w) }
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

    /// Writes a base piece's payload: the dedup segments and live tokens of piece `k` of
    /// `count` of an engine.
    static func writePiece(of e: PartitionEngine, piece k: Int, of count: Int, into w: inout BinaryWriter) {
        let segments = (0..<DedupTable.segmentCount).filter { piece(of: UInt64($0), count: count) == k }
        w.u32(UInt32(segments.count))
        for s in segments { e.dedup.writeSegment(s, into: &w) }
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
            e.tokens[i].writeWhole(into: &w, who: e.lastWho(i))
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

    /// Encodes the wallet numbers of a base taken from `engine`.
    public static func encodeWalletNumbers(_ engine: PartitionEngine, generation: UInt64) -> [UInt8] {
        var w = BinaryWriter(capacity: engine.walletNumbers.fingerprints.count * 8 + 64)
        w.raw(walletsMagic)
        w.u16(version)
        w.u64(generation)
        let lengthAt = w.bytes.count
        w.u64(0)
        engine.walletNumbers.write(into: &w)
        w.patch(u64: UInt64(w.bytes.count - lengthAt - 8), at: lengthAt)
        w.u64(w.bytes.withUnsafeBytes { Fingerprint.of($0) })
        return w.bytes
    }

    // MARK: Reading

    /// Where each part of a delta blob is, from its prefix (``deltaPrefixBytes`` bytes).
    public struct DeltaTable: Sendable {
        public let sequence: UInt64
        /// Per part (0: scalars, 1: wallet numbers, 2...65: sections): byte range in the
        /// blob and checksum.
        public let parts: [(range: Range<Int>, checksum: UInt64)]

        /// The byte range and checksum of section `s` (0..<64).
        public func section(_ s: Int) -> (range: Range<Int>, checksum: UInt64) { parts[s + 2] }
        /// The byte range of the scalars.
        public var header: Range<Int> { parts[0].range }
        /// The byte range and checksum of the wallet numbers given and freed.
        public var numberings: (range: Range<Int>, checksum: UInt64) { parts[1] }
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
            guard try r.u32() == deltaParts else { throw .corrupt("delta table size") }
            var parts: [(Range<Int>, UInt64)] = []
            for _ in 0..<deltaParts {
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

    /// The payload range of a base blob (a piece, or the wallet numbers) after checking it.
    static func basePayload(_ blob: [UInt8], magic: [UInt8], header: Int) throws(SnapshotError) -> Range<Int> {
        guard blob.count >= 4 + 2 + header + 8 + 8 else { throw .truncated }
        guard Array(blob[0..<4]) == magic else { throw .badMagic }
        return try blob.reading { (r: inout BinaryReader) throws(SnapshotError) in
            r.offset = 4
            let v = try r.u16()
            guard v == version else { throw .unsupportedVersion(v) }
            r.offset += header
            let length = try r.u64()
            guard length == UInt64(blob.count - r.offset - 8) else { throw .corrupt("base blob length") }
            let start = r.offset
            let end = start + Int(length)
            let sum = Fingerprint.of(UnsafeRawBufferPointer(rebasing: r.base[0..<end]))
            r.offset = end
            guard try r.u64() == sum else { throw .checksumMismatch }
            return start..<end
        }
    }
}
