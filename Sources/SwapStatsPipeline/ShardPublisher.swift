import SwapStatsCore
import SwapStatsPublishing

/// Publishes a shard's token stats to a ``SnapshotSink``: each changed token is encoded
/// once, at most once per `minInterval` (`WS_MIN_INTERVAL`). The first change after a quiet
/// interval goes out with the batch that made it; later ones wait for the interval's end
/// and go out as one coalesced update. A partition whose `asOf` moved (a new bucket: every
/// window slid) republishes all its tokens, and forgets the ones that left the largest
/// window.
///
/// Owned by one shard thread, like the engines it reads.
struct ShardPublisher {
    let sink: any SnapshotSink
    /// Nanoseconds.
    let minInterval: UInt64
    private var tokens: [String: TokenState] = [:]
    private var due = DueQueue()
    private var asOfs: [Int32: Int64] = [:]
    private var watchGeneration = -1
    /// The tokens whose trades are wanted, as of the last ``watchChange()``.
    private(set) var watchedTokens: Set<String> = []
    private var stats: [StatsUpdate] = []
    private var trades: [TradeUpdate] = []

    private struct TokenState {
        var partition: Int32
        /// 0: never published.
        var lastPublished: UInt64 = 0
        /// Earliest unpublished change; 0: none.
        var pendingSince: UInt64 = 0
        var queued = false
    }

    init(sink: any SnapshotSink, minInterval: UInt64) {
        self.sink = sink
        self.minInterval = minInterval
    }

    /// The tokens whose trades the engines must keep, when the set changed since the last call.
    mutating func watchChange() -> Set<String>? {
        let g = sink.tradeWatch.generation
        guard g != watchGeneration else { return nil }
        watchGeneration = g
        watchedTokens = sink.tradeWatch.tokens
        return watchedTokens
    }

    /// Takes partition `p`'s changes after a batch or a tick; `changedAt` is when they were consumed.
    mutating func collect(_ p: Int32, engine: inout PartitionEngine, changedAt: UInt64, now: UInt64) {
        let (changed, applied) = engine.takeChanges()
        for e in applied {
            trades.append(TradeUpdate(token: e.token, body: StatsJSON.encode(Trade(e)), readyAt: changedAt))
        }
        guard let asOf = engine.asOf else { return }
        if asOfs[p] != asOf {
            asOfs[p] = asOf
            let live = engine.liveTokens
            let liveSet = Set(live)
            for (token, s) in tokens where s.partition == p && !liveSet.contains(token) {
                forget(token, partition: p, now: now)
            }
            for token in live { mark(token, p, engine: engine, changedAt: changedAt, now: now) }
        } else {
            for token in changed { mark(token, p, engine: engine, changedAt: changedAt, now: now) }
        }
    }

    private mutating func mark(_ token: String, _ p: Int32, engine: PartitionEngine, changedAt: UInt64, now: UInt64) {
        var s = tokens[token] ?? TokenState(partition: p)
        if s.pendingSince == 0 { s.pendingSince = changedAt }
        if s.lastPublished == 0 || now >= s.lastPublished + minInterval {
            tokens[token] = s
            // A change that waited for its interval is due from the interval's end.
            let due = s.lastPublished == 0 ? 0 : s.lastPublished + minInterval
            encode(token, engine: engine, readyAt: max(s.pendingSince, due), now: now)
        } else {
            if !s.queued {
                s.queued = true
                due.push(at: s.lastPublished + minInterval, token)
            }
            tokens[token] = s
        }
    }

    /// Nanoseconds until the next coalesced update is due (nil: none waiting).
    func nextDue(now: UInt64) -> UInt64? { due.first.map { $0 > now ? $0 - now : 0 } }

    /// Publishes the coalesced updates that are due.
    mutating func flushDue(now: UInt64, engine: (Int32) -> PartitionEngine?) {
        while let (at, token) = due.pop(notAfter: now) {
            guard var s = tokens[token] else { continue }
            s.queued = false
            // Published since this entry was queued (a batch found it due first): wait
            // for the interval of that publication.
            if s.pendingSince != 0 && now < s.lastPublished + minInterval {
                s.queued = true
                due.push(at: s.lastPublished + minInterval, token)
            }
            tokens[token] = s
            guard s.pendingSince != 0, !s.queued else { continue }
            if let e = engine(s.partition) {
                encode(token, engine: e, readyAt: max(s.pendingSince, at), now: now)
            }
        }
    }

    private mutating func encode(_ token: String, engine: PartitionEngine, readyAt: UInt64, now: UInt64) {
        let p = tokens[token]?.partition ?? 0
        guard let s = engine.stats(token: token) else {
            forget(token, partition: p, now: now)
            return
        }
        stats.append(StatsUpdate(token: token, stats: s, body: StatsJSON.encode(s), partition: p, readyAt: readyAt))
        tokens[token]?.lastPublished = now
        tokens[token]?.pendingSince = 0
    }

    private mutating func forget(_ token: String, partition p: Int32, now: UInt64, released: Bool = false) {
        tokens[token] = nil
        stats.append(StatsUpdate(token: token, stats: nil, body: [], partition: p, readyAt: now, released: released))
    }

    /// Forgets every token of a partition that left this shard.
    mutating func release(_ p: Int32, now: UInt64) {
        for (token, s) in tokens where s.partition == p { forget(token, partition: p, now: now, released: true) }
        asOfs[p] = nil
    }

    /// Hands what was collected to the sink.
    mutating func send() {
        guard !stats.isEmpty || !trades.isEmpty else { return }
        sink.publish(stats: stats, trades: trades)
        stats.removeAll(keepingCapacity: true)
        trades.removeAll(keepingCapacity: true)
    }
}

/// Tokens waiting for their coalescing interval to end, earliest first (a binary min-heap).
struct DueQueue {
    private var heap: [(at: UInt64, token: String)] = []

    var first: UInt64? { heap.first?.at }

    mutating func push(at: UInt64, _ token: String) {
        heap.append((at, token))
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard heap[i].at < heap[parent].at else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    /// The earliest entry if it is due at `now`.
    mutating func pop(notAfter now: UInt64) -> (UInt64, String)? {
        guard let top = heap.first, top.at <= now else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1
                let r = l + 1
                var m = i
                if l < heap.count && heap[l].at < heap[m].at { m = l }
                if r < heap.count && heap[r].at < heap[m].at { m = r }
                guard m != i else { break }
                heap.swapAt(i, m)
                i = m
            }
        }
        return top
    }
}
