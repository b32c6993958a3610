import SwapStatsCore
import SwapStatsPublishing
import Synchronization
import Testing

@testable import SwapStatsPipeline

/// Keeps what a shard publishes.
final class CollectingSink: SnapshotSink {
    let tradeWatch = TradeWatch()
    let stats = Mutex<[StatsUpdate]>([])
    let trades = Mutex<[TradeUpdate]>([])

    func publish(stats: [StatsUpdate], trades: [TradeUpdate]) {
        self.stats.withLock { $0 += stats }
        self.trades.withLock { $0 += trades }
    }

    func take() -> [StatsUpdate] {
        stats.withLock { s in
            defer { s = [] }; return s
        }
    }
}

private let ms: UInt64 = 1_000_000

@Suite struct ShardPublisherTests {
    let sink = CollectingSink()
    var publisher: ShardPublisher
    var engine: PartitionEngine
    let t0: Int64 = 1_763_800_000_000

    init() throws {
        publisher = ShardPublisher(sink: sink, minInterval: 250 * ms)
        engine = PartitionEngine(configuration: try EngineConfiguration.fromEnvironment(["CLOCK": "event"]))
    }

    mutating func trade(_ token: String, _ id: String, at ts: Int64, now: UInt64) {
        engine.ingest(SwapEvent(id: id, token: token, who: "w-\(id)", side: .buy, amount: 1, usd: 2, ts: ts))
        engine.flush()
        publisher.collect(0, engine: &engine, changedAt: now, now: now)
        publisher.send()
    }

    @Test mutating func theFirstChangeGoesOutAtOnceLaterOnesOnceWhenTheIntervalEnds() throws {
        trade("0xa", "1", at: t0, now: 1_000 * ms)
        var got = sink.take()
        #expect(got.map(\.token) == ["0xa"])
        #expect(got[0].body == StatsJSON.encode(try #require(engine.stats(token: "0xa"))))
        #expect(got[0].readyAt == 1_000 * ms)

        trade("0xa", "2", at: t0 + 1, now: 1_100 * ms)
        trade("0xa", "3", at: t0 + 2, now: 1_200 * ms)
        #expect(sink.take().isEmpty)
        #expect(publisher.nextDue(now: 1_200 * ms) == 50 * ms)
        publisher.flushDue(now: 1_249 * ms) { _ in engine }
        publisher.send()
        #expect(sink.take().isEmpty)
        publisher.flushDue(now: 1_250 * ms) { _ in engine }
        publisher.send()
        got = sink.take()
        #expect(got.count == 1)
        #expect(got.first?.stats?.windows[0].txns == 3)
        #expect(got.first?.readyAt == 1_250 * ms)
        #expect(publisher.nextDue(now: 1_250 * ms) == nil)
    }

    @Test mutating func aChangeFoundDueByABatchCountsFromTheIntervalsEndAndKeepsTheInterval() {
        trade("0xa", "1", at: t0, now: 1_000 * ms)
        trade("0xa", "2", at: t0 + 1, now: 1_100 * ms)  // waits for 1,250 ms
        #expect(sink.take().count == 1)
        // A batch at 1,300 ms finds it due before the due queue is looked at.
        trade("0xa", "3", at: t0 + 2, now: 1_300 * ms)
        var got = sink.take()
        #expect(got.count == 1 && got.first?.readyAt == 1_250 * ms)
        // A change at 1,310 ms waits for 1,550 ms, though a stale due entry says 1,250.
        trade("0xa", "4", at: t0 + 3, now: 1_310 * ms)
        publisher.flushDue(now: 1_320 * ms) { _ in engine }
        publisher.send()
        #expect(sink.take().isEmpty)
        publisher.flushDue(now: 1_550 * ms) { _ in engine }
        publisher.send()
        got = sink.take()
        #expect(got.count == 1 && got.first?.stats?.windows[0].txns == 4 && got.first?.readyAt == 1_550 * ms)
    }

    @Test mutating func aNewBucketRepublishesEveryTokenAndForgetsTheExpired() throws {
        trade("0xa", "1", at: t0, now: 1_000 * ms)
        trade("0xb", "2", at: t0 + 1, now: 2_000 * ms)
        _ = sink.take()
        // Ten seconds later: a new bucket, so every window slid; both tokens go out again.
        trade("0xb", "3", at: t0 + 10_000, now: 3_000 * ms)
        #expect(Set(sink.take().map(\.token)) == ["0xa", "0xb"])
        // 25 hours later 0xa has no trade left in the largest window: it is forgotten.
        trade("0xb", "4", at: t0 + 25 * 3_600_000, now: 4_000 * ms)
        let got = sink.take()
        #expect(got.first { $0.token == "0xa" }.map { $0.stats == nil && $0.body.isEmpty } == true)
        #expect(got.first { $0.token == "0xb" }?.stats?.windows[0].txns == 1)
    }

    @Test mutating func onlyWatchedTokensTradesArePublishedInOrder() {
        sink.tradeWatch.add("0xa")
        let watched = publisher.watchChange()
        #expect(watched == ["0xa"])
        engine.watchTrades(of: watched ?? [])
        #expect(publisher.watchChange() == nil)
        for (i, token) in ["0xa", "0xb", "0xa"].enumerated() {
            engine.ingest(
                SwapEvent(id: "\(i)", token: token, who: "w", side: .sell, amount: 1, usd: 1, ts: t0 - Int64(i)))
        }
        engine.flush()
        publisher.collect(0, engine: &engine, changedAt: 5 * ms, now: 5 * ms)
        publisher.send()
        let trades = sink.trades.withLock { $0 }
        // Released in (ts, id) order: id 2 (t0 - 2) before id 0 (t0).
        #expect(trades.map { String(decoding: $0.body, as: UTF8.self).contains("\"id\":\"2\"") } == [true, false])
        #expect(trades.allSatisfy { $0.token == "0xa" && $0.readyAt == 5 * ms })
        sink.tradeWatch.remove("0xa")
        #expect(publisher.watchChange() == [])
    }

    @Test mutating func aReleasedPartitionsTokensAreForgotten() {
        trade("0xa", "1", at: t0, now: 1_000 * ms)
        _ = sink.take()
        publisher.release(0, now: 2_000 * ms)
        publisher.send()
        let got = sink.take()
        #expect(got.map(\.token) == ["0xa"] && got[0].stats == nil && got[0].released)
    }
}
