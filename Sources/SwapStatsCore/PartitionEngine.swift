/// What became of one event offered to a ``PartitionEngine``.
public enum IngestOutcome: Sendable, Hashable {
    /// Accepted and held until the watermark passes it.
    case buffered
    /// Older than the watermark, applied at once (`LATE_EVENTS=apply`).
    case lateApplied
    /// Older than the watermark, dropped (`LATE_EVENTS=drop`).
    case lateDropped
    /// Its `id` was accepted within `DEDUP_TTL`.
    case duplicate
    /// Older than the largest window.
    case expired
}

/// Counts of what a partition did with its events (the `swapstats_events_*` metrics).
public struct IngestCounters: Sendable, Equatable {
    public var accepted = 0
    public var duplicate = 0
    public var lateApplied = 0
    public var lateDropped = 0
    public var expired = 0
    public init() {}

    /// Adds another partition's counts (totals across partitions or shards).
    public static func += (a: inout IngestCounters, b: IngestCounters) {
        a.accepted += b.accepted
        a.duplicate += b.duplicate
        a.lateApplied += b.lateApplied
        a.lateDropped += b.lateDropped
        a.expired += b.expired
    }
}

/// All the state of one Kafka partition: dedup, watermark and reorder buffer, and the
/// windows of every token keyed to it. A pure value: no I/O, no clock, no locks; time comes
/// in as arguments. One shard owns it.
public struct PartitionEngine: Sendable {
    public let configuration: EngineConfiguration
    let context: TokenContext
    let ttlBuckets: Int64
    public internal(set) var counters = IngestCounters()
    /// Newest accepted event time (`Int64.min` before the first).
    public internal(set) var newestEventTime: Int64 = .min
    /// Events with `ts` before this are released (or late).
    public internal(set) var watermark: Int64 = .min
    /// Newest time seen: event time, and wall time under `CLOCK=wall` (`Int64.min` at first).
    public internal(set) var clock: Int64 = .min
    /// The Kafka offset of the next message this state has not seen (set by the caller).
    public var nextOffset: Int64 = 0
    var dedup: DedupTable
    var buffer: ReorderBuffer
    var walletNumbers = WalletDirectory()
    var tokenIndex = FingerprintTable<Int32>(placeholder: -1)
    /// Tokens by slot; a free slot holds ``TokenState/vacant`` and an empty name.
    var tokens: [TokenState] = []
    /// Token ids by slot, compared on fingerprint matches without touching the token.
    var tokenNames: [String] = []
    var freeSlots: [Int32] = []
    var lastSweepBucket: Int64 = .min
    var lastWalletSweepBucket: Int64 = .min
    var lastDedupSweepBucket: Int64 = .min
    var lastActivityWall: Int64 = .min
    var acceptedAtLastTick = 0
    /// Token slots whose windows changed since the last ``takeChanges()``, each listed once.
    var changedSlots: [Int32] = []
    /// Per slot: listed in `changedSlots`; watched for the trade feed.
    var slotFlags: [SlotFlags] = []
    /// Tokens whose applied trades are kept for ``takeChanges()`` (the trade feed).
    var watchedTokens: Set<String> = []
    var watchedTrades: [SwapEvent] = []
    /// What changed since the last checkpoint delta (nil: no journal kept).
    var journal: EngineJournal?

    struct SlotFlags {
        var changed = false
        var watched = false
        /// Listed in the journal's changed tokens.
        var dirty = false
        /// New (or started afresh) since the last delta: the next delta holds it whole.
        var fresh = false
    }

    public init(configuration: EngineConfiguration) {
        self.init(configuration: configuration, slidingThreshold: TokenState.defaultSlidingThreshold)
    }

    init(configuration: EngineConfiguration, slidingThreshold: Int) {
        self.configuration = configuration
        context = TokenContext(
            spans: configuration.windows.map { $0.millis / configuration.bucketStep }, step: configuration.bucketStep,
            threshold: slidingThreshold)
        ttlBuckets = configuration.dedupTTL / configuration.bucketStep
        dedup = DedupTable(ttl: configuration.dedupTTL / configuration.bucketStep)
        buffer = ReorderBuffer(lateness: configuration.allowedLateness)
    }

    var spans: [Int64] { context.spans }
    var largestSpan: Int64 { context.largestSpan }

    /// Bucket of the clock.
    var clockBucket: Int64 { clock == .min ? .min : clock / configuration.bucketStep }

    /// `asOf` of this partition's answers: the end of the clock's bucket (nil before any event).
    public var asOf: Int64? { clock == .min ? nil : (clockBucket + 1) * configuration.bucketStep }

    /// Offers one validated event.
    @discardableResult
    public mutating func ingest(_ e: consuming SwapEvent) -> IngestOutcome {
        let step = configuration.bucketStep
        let ts = e.ts
        let x = ts / step
        let now = clockBucket
        if now != .min && x <= now - largestSpan {
            counters.expired += 1
            return .expired
        }
        let deadThrough = now == .min ? Int64.min : now - ttlBuckets
        let isLate = e.ts < watermark
        if isLate && configuration.latePolicy == .drop {
            guard !dedup.contains(e.idHash, aliveAfter: deadThrough) else {
                counters.duplicate += 1
                return .duplicate
            }
            counters.lateDropped += 1
            return .lateDropped
        }
        guard dedup.insertIfAbsent(e.idHash, bucket: x, deadThrough: deadThrough) else {
            counters.duplicate += 1
            return .duplicate
        }
        if journal != nil { journal!.dedup.append(DedupChange(id: e.idHash, stamp: UInt32(truncatingIfNeeded: x))) }
        counters.accepted += 1
        if isLate {
            counters.lateApplied += 1
            apply(e, bucket: x, inOrder: false)
            return .lateApplied
        }
        buffer.push(e)
        if ts > newestEventTime {
            newestEventTime = ts
            watermark = max(watermark, ts - configuration.allowedLateness)
            advanceClock(to: ts)
        }
        releaseBuffered(before: watermark)
        return .buffered
    }

    /// Drives wall time: under `CLOCK=wall` the clock follows it, and a partition that
    /// accepted nothing for `IDLE_FLUSH` flushes its reorder buffer. Call it after every
    /// batch and periodically when idle.
    public mutating func tick(wallNow: Int64) {
        if counters.accepted != acceptedAtLastTick || lastActivityWall == .min {
            acceptedAtLastTick = counters.accepted
            lastActivityWall = wallNow
        } else if !buffer.isEmpty && wallNow - lastActivityWall >= configuration.idleFlush {
            flush()
        }
        if configuration.clock == .wall { advanceClock(to: wallNow) }
    }

    /// Releases every buffered event and moves the watermark past the newest event time,
    /// so later events older than that are late.
    public mutating func flush() {
        releaseBuffered(before: .max)
        if newestEventTime != .min { watermark = max(watermark, newestEventTime + 1) }
    }

    /// Applies the buffered events before `bound`, in `(ts, id)` order.
    @inline(__always)
    private mutating func releaseBuffered(before bound: Int64) {
        guard buffer.holds(before: bound) else { return }
        var held = ReorderBuffer.parked
        swap(&held, &buffer)
        let step = configuration.bucketStep
        held.release(before: bound) { e in apply(e, bucket: e.ts / step, inOrder: true) }
        swap(&held, &buffer)
    }

    private mutating func apply(_ e: SwapEvent, bucket x: Int64, inOrder: Bool) {
        let wallet = walletNumbers.number(e.whoHash, bucket: x, who: e.who)
        let slot: Int32
        let applied: TokenState.Applied
        if let found = tokenIndex.find(e.tokenHash, where: { tokenNames[Int($0)] == e.token }) {
            slot = tokenIndex.value(at: found)
            if clock != .min && !tokens[Int(slot)].isLive(at: clockBucket, context) {
                // Every trade of the token left the largest window (it awaits the sweep): it
                // starts afresh, as it would after a restore.
                tokens[Int(slot)] = TokenState(
                    name: tokenNames[Int(slot)], bucket: x, narrowWallets: context.narrowWallets)
                slotFlags[Int(slot)].fresh = true
            }
            applied = tokens[Int(slot)].apply(e, bucket: x, wallet: wallet, inOrder: inOrder, context)
        } else {
            var token = TokenState(name: e.token, bucket: x, narrowWallets: context.narrowWallets)
            applied = token.apply(e, bucket: x, wallet: wallet, inOrder: inOrder, context)
            slot = place(token)
            tokenIndex.insert(e.tokenHash, slot)
        }
        if journal != nil {
            journalToken(
                slot, bucket: applied.position, wallet: applied.wallet.map { WalletChange(slot: slot, entry: $0) })
        }
        if !slotFlags[Int(slot)].changed {
            slotFlags[Int(slot)].changed = true
            changedSlots.append(slot)
        }
        if slotFlags[Int(slot)].watched { watchedTrades.append(e) }
    }

    /// Puts a new token in a free slot (or a new one) and returns the slot.
    mutating func place(_ token: TokenState) -> Int32 {
        let slot: Int32
        if let free = freeSlots.popLast() {
            slot = free
            tokens[Int(free)] = token
            tokenNames[Int(free)] = token.name
            slotFlags[Int(free)] = SlotFlags()
        } else {
            slot = Int32(tokens.count)
            if tokens.count == tokens.capacity {
                // A quarter more, not the array's doubling: at 100k tokens, doubling leaves
                // ~25 % of these records (~50 B a token) allocated and unused on average.
                let room = tokens.count + max(16, tokens.count / 4)
                tokens.reserveCapacity(room)
                tokenNames.reserveCapacity(room)
                slotFlags.reserveCapacity(room)
            }
            tokens.append(token)
            tokenNames.append(token.name)
            slotFlags.append(SlotFlags())
        }
        slotFlags[Int(slot)].watched = !watchedTokens.isEmpty && watchedTokens.contains(token.name)
        slotFlags[Int(slot)].fresh = true
        return slot
    }

    /// The tokens whose windows changed since the last call (each once, in first-change
    /// order), and the applied trades of watched tokens in the order they were applied:
    /// `(ts, id)` order, except late events applied when they came (`LATE_EVENTS=apply`).
    public mutating func takeChanges() -> (tokens: [String], trades: [SwapEvent]) {
        var names: [String] = []
        names.reserveCapacity(changedSlots.count)
        for slot in changedSlots {
            slotFlags[Int(slot)].changed = false
            if !tokenNames[Int(slot)].isEmpty { names.append(tokenNames[Int(slot)]) }
        }
        changedSlots.removeAll(keepingCapacity: true)
        defer { watchedTrades.removeAll(keepingCapacity: true) }
        return (names, watchedTrades)
    }

    /// Keeps the applied trades of `tokens` (lowercased) for ``takeChanges()`` from now on.
    public mutating func watchTrades(of tokens: Set<String>) {
        watchedTokens = tokens
        for slot in slotFlags.indices {
            slotFlags[slot].watched = !tokenNames[slot].isEmpty && tokens.contains(tokenNames[slot])
        }
        watchedTrades.removeAll { !tokens.contains($0.token) }
    }

    /// Tokens with a trade in the largest window, at this partition's ``asOf``.
    public var liveTokens: [String] {
        guard let q = bucket(endingAt: nil) else { return [] }
        return tokens.indices.compactMap { i in
            guard !tokenNames[i].isEmpty, tokens[i].isLive(at: q, context) else { return nil }
            return tokenNames[i]
        }
    }

    private mutating func advanceClock(to time: Int64) {
        guard time > clock else { return }
        clock = time
        let now = clockBucket
        if lastSweepBucket == .min {
            lastSweepBucket = now
            lastWalletSweepBucket = now
        }
        if now - lastSweepBucket >= max(1, largestSpan / 64) {
            lastSweepBucket = now
            sweepTokens(now: now)
        }
        if now - lastWalletSweepBucket >= max(1, largestSpan / 4) {
            lastWalletSweepBucket = now
            sweepWallets(now: now)
        }
        if lastDedupSweepBucket == .min { lastDedupSweepBucket = now }
        if now - lastDedupSweepBucket >= ttlBuckets {
            lastDedupSweepBucket = now
            dedup.sweep(deadThrough: now - ttlBuckets)
        }
    }

    /// Frees tokens with no trade left in the largest window.
    mutating func sweepTokens(now: Int64) {
        var dead: [(hash: UInt64, slot: Int32)] = []
        let c = context
        tokenIndex.forEach { hash, slot in
            if !tokens[Int(slot)].isLive(at: now, c) { dead.append((hash, slot)) }
        }
        for (hash, slot) in dead {
            tokenIndex.remove(at: tokenIndex.find(hash, where: { $0 == slot })!)
            tokens[Int(slot)] = .vacant
            tokenNames[Int(slot)] = ""
            slotFlags[Int(slot)].watched = false
            if journal != nil { journal!.freed.append(slot) } else { freeSlots.append(slot) }
        }
    }

    /// Forgets wallets that have not traded within the largest window: first in every
    /// token, then their numbers.
    mutating func sweepWallets(now: Int64) {
        sweepTokens(now: now)
        let deadThrough = now - largestSpan
        for i in tokens.indices where !tokenNames[i].isEmpty { tokens[i].forgetWallets(deadThrough: deadThrough) }
        walletNumbers.collect(deadThrough: deadThrough)
    }

    /// The slot of `token`, or nil.
    func slot(of token: String) -> Int? {
        let hash = Fingerprint.of(token)
        guard let found = tokenIndex.find(hash, where: { tokenNames[Int($0)] == token }) else { return nil }
        return Int(tokenIndex.value(at: found))
    }

    /// The bucket whose end is `asOf`, not before this partition's clock.
    func bucket(endingAt asOf: Int64?) -> Int64? {
        let own = clockBucket
        guard let asOf else { return own == .min ? nil : own }
        let q = asOf / configuration.bucketStep - 1
        return own == .min ? q : max(q, own)
    }

    /// Stats of `token` (lowercased) at `asOf` (default and minimum: this partition's
    /// ``asOf``), or nil when the token has no trade in the largest window.
    public func stats(token: String, asOf: Int64? = nil) -> TokenStats? {
        guard let q = bucket(endingAt: asOf), let i = slot(of: token), tokens[i].isLive(at: q, context) else {
            return nil
        }
        return tokens[i].stats(at: q, windows: configuration.windows, who: lastWho(i), context)
    }

    /// The wallet string of token slot `i`'s last trade.
    func lastWho(_ i: Int) -> String { walletNumbers.who(tokens[i].lastWallet) }

    /// Stats of every live token at `asOf`, sorted by token.
    public func allStats(asOf: Int64? = nil) -> [TokenStats] {
        guard let q = bucket(endingAt: asOf) else { return [] }
        return tokens.indices.compactMap { i in
            guard !tokenNames[i].isEmpty, tokens[i].isLive(at: q, context) else { return nil }
            return tokens[i].stats(at: q, windows: configuration.windows, who: lastWho(i), context)
        }.sorted { $0.token < $1.token }
    }

    /// Candles of `interval` ms (a multiple of the step), newest `limit`, oldest first.
    public func candles(token: String, interval: Int64, limit: Int, asOf: Int64? = nil) -> [Candle]? {
        let step = configuration.bucketStep
        guard interval > 0, interval % step == 0, interval <= configuration.largestWindow.millis,
            let q = bucket(endingAt: asOf), let i = slot(of: token), tokens[i].isLive(at: q, context)
        else { return nil }
        return tokens[i].candles(at: q, interval: interval / step, limit: limit, context)
    }

    /// Tokens currently held (live or awaiting the next sweep).
    public var tokenCount: Int { tokenIndex.count }

    /// Events held in the reorder buffer.
    public var bufferedCount: Int { buffer.count }

    /// Approximate heap bytes of the whole state (windows, wallets, dedup, buffer).
    public var bytes: Int { memory.total }

    /// Where the state's heap bytes go (approximately: capacities, not malloc's overhead).
    public struct Memory: Sendable {
        /// The dedup table.
        public var dedup = 0
        /// Bucket slots and records.
        public var buckets = 0
        /// Open and close ids of buckets.
        public var ids = 0
        /// Of ``ids``: released ids not yet compacted away, and room not yet used.
        public var idsGarbage = 0
        public var idsUnused = 0
        /// Of ``buckets``: the multi-trade records (the rest are ring slots).
        public var records = 0
        /// Per-token wallet tables and the partition's wallet numbers.
        public var wallets = 0
        /// Everything else: token tables, headers, running bodies, the reorder buffer.
        public var other = 0

        public var total: Int { dedup + buckets + ids + wallets + other }
    }

    /// Heap bytes of the state by part.
    public var memory: Memory {
        var m = Memory()
        m.dedup = dedup.bytes
        m.wallets = walletNumbers.bytes
        m.other = buffer.bytes + tokenIndex.bytes + tokens.capacity * MemoryLayout<TokenState>.stride
        m.other += tokenNames.capacity * 16 + slotFlags.capacity * 2
        for i in tokens.indices where !tokenNames[i].isEmpty {
            let t = tokens[i]
            m.buckets += t.ring.bytes + t.records.capacity * MemoryLayout<MultiBucket>.stride
            m.ids += t.ids.capacityBytes
            m.idsGarbage += t.ids.garbage
            m.idsUnused += t.ids.capacityBytes - t.ids.count
            m.records += t.records.capacity * MemoryLayout<MultiBucket>.stride
            m.wallets += t.wallets.bytes
            m.other +=
                t.bytes - t.ring.bytes - t.records.capacity * MemoryLayout<MultiBucket>.stride
                - t.ids.capacityBytes - t.wallets.bytes
        }
        return m
    }

    /// Dedup entries and their bytes (reported as state memory).
    public var dedupEntries: Int { dedup.count }
    public var dedupBytes: Int { dedup.bytes }

    /// Wallets numbered in this partition.
    public var walletCount: Int { walletNumbers.count }
}
