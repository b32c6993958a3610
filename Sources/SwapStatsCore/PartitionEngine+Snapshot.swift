/// The checkpoint format of one partition's whole state (version 1):
///
///     "SWPS"  u16 version  u64 payload-length  payload  u64 checksum(payload)
///
/// All integers little-endian; the checksum is ``Fingerprint`` of the payload. The payload
/// holds the configuration it was taken under, the next Kafka offset, the counters, the
/// clock and watermark, every dedup entry, every buffered event and every token's buckets,
/// bodies and wallets, bit for bit, so a restored engine answers exactly as the original.
extension PartitionEngine {
    static let magic: [UInt8] = Array("SWPS".utf8)
    static let snapshotVersion: UInt16 = 1

    /// The whole state as a checkpoint.
    public func snapshot() -> [UInt8] {
        var p = BinaryWriter()
        Self.write(configuration, into: &p)
        p.i64(nextOffset)
        for c in [counters.accepted, counters.duplicate, counters.lateApplied, counters.lateDropped, counters.expired] {
            p.int(c)
        }
        for v in [newestEventTime, watermark, clock, lastSweepBucket, lastDedupSweepBucket, lastActivityWall] {
            p.i64(v)
        }
        p.int(acceptedAtLastTick)
        p.int(dedup.count)
        dedup.forEach(near: clock == .min ? 0 : clockBucket) { id, bucket in
            p.u64(id)
            p.i64(bucket)
        }
        p.int(buffer.count)
        for e in buffer.events { Self.write(e, into: &p) }
        p.int(tokenIndex.count)
        for t in tokens { if let t { Self.write(t, into: &p) } }

        var out = BinaryWriter()
        out.bytes = Self.magic
        out.u16(Self.snapshotVersion)
        out.u64(UInt64(p.bytes.count))
        out.bytes.append(contentsOf: p.bytes)
        out.u64(p.bytes.withUnsafeBytes { Fingerprint.of($0) })
        return out.bytes
    }

    /// Restores a state from ``snapshot()``.
    /// - Throws: ``SnapshotError`` when the bytes are not an intact snapshot of version 1
    ///   taken under `configuration`.
    public init(restoring bytes: [UInt8], configuration: EngineConfiguration) throws(SnapshotError) {
        try self.init(
            restoring: bytes, configuration: configuration, slidingThreshold: TokenWindows.defaultSlidingThreshold)
    }

    init(restoring bytes: [UInt8], configuration: EngineConfiguration, slidingThreshold: Int) throws(SnapshotError) {
        guard bytes.count >= 4, Array(bytes[0..<4]) == Self.magic else { throw .badMagic }
        var header = BinaryReader(bytes, from: 4)
        let version = try header.u16()
        guard version == Self.snapshotVersion else { throw .unsupportedVersion(version) }
        let length = try header.u64()
        guard bytes.count >= 22, length == UInt64(bytes.count - 22) else { throw .truncated }
        let payloadEnd = 14 + Int(length)
        let sum = bytes[14..<payloadEnd].withUnsafeBytes { Fingerprint.of($0) }
        var trailer = BinaryReader(bytes, from: payloadEnd)
        guard try trailer.u64() == sum else { throw .checksumMismatch }

        var r = BinaryReader(bytes, from: 14, to: payloadEnd)
        let taken = try Self.readConfiguration(&r)
        guard taken == configuration else {
            throw .configurationMismatch("snapshot has \(Self.describe(taken)), now \(Self.describe(configuration))")
        }
        self.init(configuration: configuration, slidingThreshold: slidingThreshold)
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
        lastDedupSweepBucket = try r.i64()
        lastActivityWall = try r.i64()
        acceptedAtLastTick = Int(try r.i64())
        for _ in 0..<(try r.count(minimumBytes: 16)) {
            let id = try r.u64()
            let bucket = try r.i64()
            guard id != 0 else { throw .corrupt("zero fingerprint") }
            dedup.restore(id, bucket: bucket)
        }
        for _ in 0..<(try r.count(minimumBytes: 45)) { buffer.push(try Self.readEvent(&r)) }
        for _ in 0..<(try r.count(minimumBytes: 64)) {
            let t = try Self.readToken(&r, spans: spans)
            tokens.append(t)
            tokenNames.append(t.token)
            slotFlags.append(SlotFlags())
            tokenIndex.insert(Fingerprint.of(t.token), Int32(tokens.count - 1))
        }
        guard r.isAtEnd else { throw .corrupt("trailing bytes in payload") }
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

    static func write(_ t: TokenWindows, into w: inout BinaryWriter) {
        w.string(t.token)
        w.i64(t.position)
        w.int(t.buckets.count - t.head)
        for b in t.buckets[t.head...] {
            w.i64(b.index)
            let t = b.totals
            for c in [t.txns, t.buys, t.walletsLast, t.buyersLast, t.sellersLast] { w.u32(c) }
            for v in [t.buyUSD, t.sellUSD, t.amount, t.mean, t.m2, b.high, b.low] { w.f64(v) }
            for point in [b.open, b.close] {
                w.i64(point.ts)
                w.string(point.id)
                w.f64(point.price)
            }
        }
        w.int(t.windows.count)
        for window in t.windows {
            let (s, body) = (window.start, window.body)
            w.int(s - t.head)
            for c in [body.txns, body.buys, body.wallets, body.buyers, body.sellers] { w.int(c) }
            for v in [body.buyUSD, body.sellUSD, body.amount, body.mean, body.m2] { w.dd(v) }
            for v in [body.peaks.buyUSD, body.peaks.sellUSD, body.peaks.amount, body.peaks.m2] { w.f64(v) }
        }
        w.int(t.wallets.count)
        t.wallets.forEach { key, last in
            w.u64(key)
            w.i64(last.buy)
            w.i64(last.sell)
        }
        let last = t.lastTrade
        write(
            SwapEvent(
                id: last.id, token: "", who: last.who, side: last.side, amount: 1, usd: last.usd, ts: last.ts,
                price: last.price), into: &w)
    }

    static func readToken(_ r: inout BinaryReader, spans: [Int64]) throws(SnapshotError) -> TokenWindows {
        let token = try r.string()
        let position = try r.i64()
        var buckets: [Bucket] = []
        for _ in 0..<(try r.count(minimumBytes: 100)) {
            var b = Bucket(index: try r.i64())
            b.totals.txns = try r.u32()
            b.totals.buys = try r.u32()
            b.totals.walletsLast = try r.u32()
            b.totals.buyersLast = try r.u32()
            b.totals.sellersLast = try r.u32()
            b.totals.buyUSD = try r.f64()
            b.totals.sellUSD = try r.f64()
            b.totals.amount = try r.f64()
            b.totals.mean = try r.f64()
            b.totals.m2 = try r.f64()
            b.high = try r.f64()
            b.low = try r.f64()
            b.open = TradePoint(ts: try r.i64(), id: try r.string(), price: try r.f64())
            b.close = TradePoint(ts: try r.i64(), id: try r.string(), price: try r.f64())
            if let prev = buckets.last, prev.index >= b.index { throw .corrupt("buckets out of order") }
            buckets.append(b)
        }
        guard let newest = buckets.last, newest.index == position else {
            throw .corrupt("token without its newest bucket")
        }
        var windows: [WindowState] = []
        let windowCount = try r.count(minimumBytes: 0)
        guard windowCount == 0 || windowCount == spans.count else { throw .corrupt("window count \(windowCount)") }
        for _ in 0..<windowCount {
            let s = Int(try r.i64())
            guard s >= 0, s < buckets.count else { throw .corrupt("window start out of range") }
            var body = WindowBody()
            body.txns = Int(try r.i64())
            body.buys = Int(try r.i64())
            body.wallets = Int(try r.i64())
            body.buyers = Int(try r.i64())
            body.sellers = Int(try r.i64())
            body.buyUSD = try r.dd()
            body.sellUSD = try r.dd()
            body.amount = try r.dd()
            body.mean = try r.dd()
            body.m2 = try r.dd()
            body.peaks = WindowBody.Peaks(
                buyUSD: try r.f64(), sellUSD: try r.f64(), amount: try r.f64(), m2: try r.f64())
            windows.append(WindowState(start: s, body: body))
        }
        var wallets = FingerprintTable<WalletLast>(placeholder: .none)
        for _ in 0..<(try r.count(minimumBytes: 24)) {
            let key = try r.u64()
            guard key != 0 else { throw .corrupt("zero wallet fingerprint") }
            wallets.insert(key, WalletLast(buy: try r.i64(), sell: try r.i64()))
        }
        let last = try readEvent(&r)
        var t = TokenWindows(
            first: SwapEvent(
                id: last.id, token: token, who: last.who, side: last.side, amount: 1, usd: last.usd, ts: last.ts,
                price: last.price), bucket: position)
        t.buckets = buckets
        t.windows = windows
        t.wallets = wallets
        if !windows.isEmpty {
            for b in buckets {
                t.highs.update(index: b.index, value: b.high)
                t.lows.update(index: b.index, value: b.low)
            }
        }
        return t
    }
}
