/// The whole state of one partition as one byte string (format 2): what a checkpoint base
/// with a single piece and no deltas holds, in one blob.
///
///     "SWPS"  u16 version  u64 payload-length  payload  u64 checksum(payload)
///
/// The payload is the scalars (``writeScalars(into:)``: configuration, offset, counters,
/// clocks, the reorder buffer), the wallet numbers, and one base piece's payload (every
/// dedup segment and every token, see ``CheckpointFormat``). Format 1 (the layout before
/// compact buckets) is refused.
extension PartitionEngine {
    static let magic: [UInt8] = Array("SWPS".utf8)
    static let snapshotVersion: UInt16 = 2

    /// The whole state as a snapshot.
    public func snapshot() -> [UInt8] {
        var p = BinaryWriter(capacity: 1 << 16)
        writeScalars(into: &p)
        walletNumbers.write(into: &p)
        CheckpointFormat.writePiece(of: self, piece: 0, of: 1, into: &p)
        return Self.seal(p.bytes)
    }

    /// Restores a state from ``snapshot()``.
    /// - Throws: ``SnapshotError`` when the bytes are not an intact snapshot of version 2
    ///   taken under `configuration`.
    public init(restoring bytes: [UInt8], configuration: EngineConfiguration) throws(SnapshotError) {
        try self.init(
            restoring: bytes, configuration: configuration, slidingThreshold: TokenState.defaultSlidingThreshold)
    }

    init(restoring bytes: [UInt8], configuration: EngineConfiguration, slidingThreshold: Int) throws(SnapshotError) {
        let payload = try Self.unseal(bytes)
        var loader = CheckpointLoader(configuration: configuration, slidingThreshold: slidingThreshold)
        try bytes.reading { (r: inout BinaryReader) throws(SnapshotError) in
            var r = BinaryReader(r.base, from: payload.lowerBound, to: payload.upperBound)
            try loader.engine.readScalars(&r)
            try loader.engine.walletNumbers.read(&r)
            try loader.applyPiece(&r)
            guard r.isAtEnd else { throw .corrupt("trailing bytes in payload") }
        }
        self = try loader.finish()
    }

    /// Wraps a payload in magic, version, length and checksum.
    static func seal(_ payload: [UInt8]) -> [UInt8] {
        var out = BinaryWriter(capacity: payload.count + 22)
        out.raw(magic)
        out.u16(snapshotVersion)
        out.u64(UInt64(payload.count))
        out.raw(payload)
        out.u64(payload.withUnsafeBytes { Fingerprint.of($0) })
        return out.bytes
    }

    /// The payload range of sealed bytes, after checking magic, version, length, checksum.
    static func unseal(_ bytes: [UInt8]) throws(SnapshotError) -> Range<Int> {
        guard bytes.count >= 4, Array(bytes[0..<4]) == magic else { throw .badMagic }
        return try bytes.reading { (r: inout BinaryReader) throws(SnapshotError) in
            r.offset = 4
            let version = try r.u16()
            guard version == snapshotVersion else { throw .unsupportedVersion(version) }
            let length = try r.u64()
            guard bytes.count >= 22, length == UInt64(bytes.count - 22) else { throw .truncated }
            let end = 14 + Int(length)
            let sum = Fingerprint.of(UnsafeRawBufferPointer(rebasing: r.base[14..<end]))
            r.offset = end
            guard try r.u64() == sum else { throw .checksumMismatch }
            return 14..<end
        }
    }

    /// Configuration, offset, counters, clocks and the reorder buffer.
    func writeScalars(into p: inout BinaryWriter) {
        Self.write(configuration, into: &p)
        p.i64(nextOffset)
        for c in [counters.accepted, counters.duplicate, counters.lateApplied, counters.lateDropped, counters.expired] {
            p.int(c)
        }
        for v in [
            newestEventTime, watermark, clock, lastSweepBucket, lastWalletSweepBucket, lastDedupSweepBucket,
            lastActivityWall,
        ] {
            p.i64(v)
        }
        p.int(acceptedAtLastTick)
        let held = buffer.events
        p.int(held.count)
        for e in held { Self.write(e, into: &p) }
    }

    /// Reads what ``writeScalars(into:)`` wrote, checking the configuration.
    mutating func readScalars(_ r: inout BinaryReader) throws(SnapshotError) {
        let taken = try Self.readConfiguration(&r)
        guard taken == configuration else {
            throw .configurationMismatch("snapshot has \(Self.describe(taken)), now \(Self.describe(configuration))")
        }
        nextOffset = try r.i64()
        counters.accepted = Int(try r.i64())
        counters.duplicate = Int(try r.i64())
        counters.lateApplied = Int(try r.i64())
        counters.lateDropped = Int(try r.i64())
        counters.expired = Int(try r.i64())
        newestEventTime = try r.i64()
        watermark = try r.i64()
        clock = try r.i64()
        lastSweepBucket = try r.i64()
        lastWalletSweepBucket = try r.i64()
        lastDedupSweepBucket = try r.i64()
        lastActivityWall = try r.i64()
        acceptedAtLastTick = Int(try r.i64())
        buffer = ReorderBuffer(lateness: configuration.allowedLateness)
        for _ in 0..<(try r.count(minimumBytes: 45)) {
            let e = try Self.readEvent(&r)
            guard e.ts >= watermark, e.ts <= newestEventTime else {
                throw .corrupt("buffered event outside the watermark")
            }
            buffer.push(e)
        }
    }

    static func describe(_ c: EngineConfiguration) -> String {
        "WINDOWS=\(c.windows.map(\.name).joined(separator: ",")) BUCKET_STEP=\(c.bucketStep)ms "
            + "ALLOWED_LATENESS=\(c.allowedLateness)ms LATE_EVENTS=\(c.latePolicy.rawValue) "
            + "DEDUP_TTL=\(c.dedupTTL)ms CLOCK=\(c.clock.rawValue) IDLE_FLUSH=\(c.idleFlush)ms"
    }

    static func write(_ c: EngineConfiguration, into w: inout BinaryWriter) {
        w.int(c.windows.count)
        for win in c.windows {
            w.string(win.name)
            w.i64(win.millis)
        }
        for v in [c.bucketStep, c.allowedLateness, c.dedupTTL, c.idleFlush] { w.i64(v) }
        w.string(c.latePolicy.rawValue)
        w.string(c.clock.rawValue)
    }

    static func readConfiguration(_ r: inout BinaryReader) throws(SnapshotError) -> EngineConfiguration {
        var windows: [WindowSpec] = []
        for _ in 0..<(try r.count(minimumBytes: 12)) {
            windows.append(WindowSpec(name: try r.string(), millis: try r.i64()))
        }
        let step = try r.i64()
        let lateness = try r.i64()
        let ttl = try r.i64()
        let idle = try r.i64()
        guard let late = LatePolicy(rawValue: try r.string()), let clock = ClockMode(rawValue: try r.string()) else {
            throw .corrupt("unknown late policy or clock")
        }
        do {
            return try EngineConfiguration(
                windows: windows, bucketStep: step, allowedLateness: lateness, latePolicy: late, dedupTTL: ttl,
                clock: clock, idleFlush: idle)
        } catch {
            throw .corrupt("invalid configuration: \(error)")
        }
    }

    static func write(_ e: SwapEvent, into w: inout BinaryWriter) {
        w.string(e.id)
        w.string(e.token)
        w.string(e.who)
        w.u8(e.side.rawValue)
        w.f64(e.amount)
        w.f64(e.usd)
        w.i64(e.ts)
        w.f64(e.price)
    }

    static func readEvent(_ r: inout BinaryReader) throws(SnapshotError) -> SwapEvent {
        let id = try r.string()
        let token = try r.string()
        let who = try r.string()
        guard let side = Side(rawValue: try r.u8()) else { throw .corrupt("bad side") }
        return SwapEvent(
            id: id, token: token, who: who, side: side, amount: try r.f64(), usd: try r.f64(), ts: try r.i64(),
            price: try r.f64())
    }
}
