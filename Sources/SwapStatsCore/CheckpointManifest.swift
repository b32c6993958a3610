/// What a partition's checkpoint consists of: a base (its pieces and the scalars it was
/// taken at) and the deltas after it, in order, with the offset and loss the whole reflects.
/// Small (names and sizes only); replaced atomically on every checkpoint.
///
/// Format (version 2), little-endian, strings as `u32` length and UTF-8:
///
///     "SWM1"  u16 2
///     u64 generation  u32 base pieces  [pieces × string blob]  string wallet numbers blob
///     string scalars blob  u64 checksum(scalars)
///     u32 deltas  [deltas × (string blob, u64 sequence, u64 bytes)]
///     i64 offset  i64 lost events  u64 next sequence  u64 base bytes
///     u64 checksum(everything before)
///
/// Generation 0 has no base: the deltas start from an empty state. Version 1 kept the base's
/// scalars inline (`u32 n  scalars[n]` in place of the scalars blob and its checksum): they
/// hold the reorder buffer, hundreds of KB at a busy partition, rewritten with every delta.
/// Version 1 manifests are read, and written back as version 1 until the next compaction.
public struct CheckpointManifest: Sendable, Equatable {
    /// One delta: its blob, its sequence number, its size.
    public struct Delta: Sendable, Equatable {
        public var blob: String
        public var sequence: UInt64
        public var bytes: Int

        public init(blob: String, sequence: UInt64, bytes: Int) {
            self.blob = blob
            self.sequence = sequence
            self.bytes = bytes
        }
    }

    /// 0 while there is no base.
    public var generation: UInt64 = 0
    /// The base's pieces, in order (empty without a base).
    public var basePieces: [String] = []
    /// The base's wallet numbers (empty without a base).
    public var baseWallets = ""
    /// The blob of the scalars the base reflects (empty without a base, or in a version 1
    /// manifest), and their checksum.
    public var baseScalarsBlob = ""
    public var baseScalarsChecksum: UInt64 = 0
    /// The base's scalars inline (a version 1 manifest only).
    public var baseScalars: [UInt8] = []
    public var deltas: [Delta] = []
    /// The next offset of the partition the checkpoint has not seen: consuming resumes here.
    public var offset: Int64 = 0
    /// Events the log no longer held when the partition reached them (0 when exact).
    public var lostEvents: Int64 = 0
    /// The sequence number of the next delta.
    public var nextSequence: UInt64 = 1
    /// Bytes of the base's pieces.
    public var baseBytes = 0

    public init() {}

    /// Every blob it names.
    public var blobs: Set<String> {
        Set(basePieces).union(deltas.map(\.blob)).union(baseWallets.isEmpty ? [] : [baseWallets])
            .union(baseScalarsBlob.isEmpty ? [] : [baseScalarsBlob])
    }

    /// Bytes of the deltas.
    public var deltaBytes: Int { deltas.reduce(0) { $0 + $1.bytes } }

    static let magic = Array("SWM1".utf8)
    static let version: UInt16 = 2

    public func encoded() -> [UInt8] {
        var w = BinaryWriter(capacity: 256 + baseScalars.count + deltas.count * 40)
        // Inline scalars (read from version 1) stay version 1 until a compaction.
        let inline = baseScalarsBlob.isEmpty && generation > 0
        w.raw(Self.magic)
        w.u16(inline ? 1 : Self.version)
        w.u64(generation)
        w.u32(UInt32(basePieces.count))
        for p in basePieces { w.string(p) }
        w.string(baseWallets)
        if inline {
            w.u32(UInt32(baseScalars.count))
            w.raw(baseScalars)
        } else {
            w.string(baseScalarsBlob)
            w.u64(baseScalarsChecksum)
        }
        w.u32(UInt32(deltas.count))
        for d in deltas {
            w.string(d.blob)
            w.u64(d.sequence)
            w.u64(UInt64(d.bytes))
        }
        w.i64(offset)
        w.i64(lostEvents)
        w.u64(nextSequence)
        w.u64(UInt64(baseBytes))
        w.u64(w.bytes.withUnsafeBytes { Fingerprint.of($0) })
        return w.bytes
    }

    /// Parses ``encoded()`` bytes.
    /// - Throws: ``SnapshotError`` for anything but an intact manifest.
    public init(decoding bytes: [UInt8]) throws(SnapshotError) {
        guard bytes.count >= 4 + 2 + 8, Array(bytes[0..<4]) == Self.magic else { throw .badMagic }
        self = try bytes.reading { (r: inout BinaryReader) throws(SnapshotError) in
            let end = bytes.count - 8
            let sum = Fingerprint.of(UnsafeRawBufferPointer(rebasing: r.base[0..<end]))
            r.offset = end
            guard try r.u64() == sum else { throw .checksumMismatch }
            var m = BinaryReader(r.base, from: 4, to: end)
            let v = try m.u16()
            guard v == 1 || v == Self.version else { throw .unsupportedVersion(v) }
            var manifest = CheckpointManifest()
            manifest.generation = try m.u64()
            let pieces = Int(try m.u32())
            guard pieces <= CheckpointFormat.sections, pieces & (pieces - 1) == 0,
                manifest.generation == 0 ? pieces == 0 : pieces >= 1
            else { throw .corrupt("base of \(pieces) pieces") }
            for _ in 0..<pieces { manifest.basePieces.append(try Self.blobName(&m)) }
            manifest.baseWallets = try m.string()
            guard manifest.baseWallets.isEmpty == (pieces == 0), !manifest.baseWallets.contains("/") else {
                throw .corrupt("wallet numbers blob")
            }
            if v == 1 {
                let scalars = Int(try m.u32())
                manifest.baseScalars = Array(try m.bytes(scalars))
            } else {
                manifest.baseScalarsBlob = try m.string()
                manifest.baseScalarsChecksum = try m.u64()
                guard manifest.baseScalarsBlob.isEmpty == (pieces == 0), !manifest.baseScalarsBlob.contains("/")
                else { throw .corrupt("scalars blob") }
            }
            let count = Int(try m.u32())
            guard count <= m.remaining / 20 else { throw .corrupt("delta count") }
            for _ in 0..<count {
                let blob = try Self.blobName(&m)
                let sequence = try m.u64()
                let size = try m.u64()
                guard size < 1 << 40 else { throw .corrupt("delta size") }
                manifest.deltas.append(Delta(blob: blob, sequence: sequence, bytes: Int(size)))
            }
            manifest.offset = try m.i64()
            manifest.lostEvents = try m.i64()
            manifest.nextSequence = try m.u64()
            let base = try m.u64()
            guard base < 1 << 44, m.isAtEnd else { throw .corrupt("manifest tail") }
            manifest.baseBytes = Int(base)
            return manifest
        }
    }

    private static func blobName(_ r: inout BinaryReader) throws(SnapshotError) -> String {
        let name = try r.string()
        guard !name.isEmpty, name.utf8.count <= 200, !name.contains("/") else { throw .corrupt("blob name") }
        return name
    }
}
