import SwapStatsCore
import Testing

@Suite struct PartitionEngineTests {
    @Test func windowsCountOnlyTheirOwnBuckets() throws {
        var e = PartitionEngine(configuration: smallConfiguration())
        e.ingest(swap("a", usd: 10, ts: 1_000))
        e.ingest(swap("b", side: .sell, usd: 20, ts: 7_500))
        e.ingest(swap("c", usd: 30, ts: 9_999))
        e.ingest(swap("z", "other", ts: 10_000))  // moves the watermark past c
        let s = try #require(e.stats(token: "tok"))
        #expect(s.asOf == 11_000)
        #expect(s.window("5s")!.txns == 2)  // [6000, 11000)
        #expect(s.window("5s")!.volumeUSD == 50)
        #expect(s.window("1m")!.txns == 3)
        #expect(s.window("1m")!.buys == 2)
        #expect(s.window("1m")!.sells == 1)
        #expect(s.lastTrade?.id == "c")
    }

    @Test func windowsEmptyOutAsTheClockMoves() throws {
        var e = PartitionEngine(configuration: smallConfiguration())
        e.ingest(swap("a", usd: 10, ts: 1_000))
        e.ingest(swap("z", "other", ts: 2_000))
        let later = try #require(e.stats(token: "tok", asOf: 7_000))
        #expect(later.window("5s")!.txns == 0)
        #expect(later.window("5s")!.open == nil)
        #expect(later.window("1m")!.txns == 1)
        #expect(e.stats(token: "tok", asOf: 62_000) == nil)
    }

    @Test func duplicatesAreDroppedWithinTheTTLOnly() {
        var e = PartitionEngine(configuration: smallConfiguration(dedupTTL: 10_000))
        #expect(e.ingest(swap("a", ts: 1_000)) == .buffered)
        #expect(e.ingest(swap("a", ts: 1_000)) == .duplicate)
        #expect(e.ingest(swap("a", "other", ts: 9_000)) == .duplicate)
        e.ingest(swap("b", ts: 12_000))
        // Bucket 1 is now outside the 10 s TTL behind bucket 12: the id is forgotten.
        #expect(e.ingest(swap("a", ts: 12_000)) == .buffered)
        #expect(e.counters.duplicate == 2)
    }

    @Test func dedupMemoryEmptiesWhileTheStreamIsIdle() {
        var e = PartitionEngine(configuration: smallConfiguration(dedupTTL: 10_000, clock: .wall))
        for i in 0..<100 { e.ingest(swap("id\(i)", ts: 1_000 + Int64(i))) }
        e.tick(wallNow: 2_000)
        #expect(e.dedupEntries == 100)
        // No more events: only wall time moves past the TTL.
        e.tick(wallNow: 12_000)
        e.tick(wallNow: 13_000)
        #expect(e.dedupEntries == 0)
        #expect(e.ingest(swap("id5", ts: 13_000)) == .buffered)
    }

    @Test func reorderBufferReleasesInTimeThenIDOrder() throws {
        var e = PartitionEngine(configuration: smallConfiguration(lateness: 3_000))
        e.ingest(swap("b", ts: 2_000, price: 2))
        e.ingest(swap("a", ts: 2_000, price: 1))
        e.ingest(swap("c", ts: 1_000, price: 3))
        #expect(e.stats(token: "tok") == nil)  // all still buffered: nothing counted yet
        e.ingest(swap("d", ts: 5_500, price: 4))
        let s = try #require(e.stats(token: "tok"))
        #expect(s.window("1m")!.txns == 3)
        #expect(s.window("1m")!.open == 3)
        #expect(s.window("1m")!.close == 2)  // (2000,"b") is after (2000,"a")
        #expect(s.lastTrade?.id == "b")
    }

    @Test(arguments: [LatePolicy.apply, .drop])
    func lateEventsFollowThePolicy(policy: LatePolicy) throws {
        var e = PartitionEngine(configuration: smallConfiguration(lateness: 1_000, late: policy))
        e.ingest(swap("a", ts: 10_000))
        e.ingest(swap("b", ts: 20_000))
        let outcome = e.ingest(swap("late", ts: 15_000))
        #expect(outcome == (policy == .apply ? .lateApplied : .lateDropped))
        e.flush()
        let s = try #require(e.stats(token: "tok"))
        #expect(s.window("1m")!.txns == (policy == .apply ? 3 : 2))
        #expect(s.window("5s")!.txns == 1)
    }

    @Test func eventsOlderThanTheLargestWindowExpire() {
        var e = PartitionEngine(configuration: smallConfiguration())
        e.ingest(swap("a", ts: 100_000))
        #expect(e.ingest(swap("old", ts: 40_000)) == .expired)
        #expect(e.ingest(swap("edge", ts: 41_000)) == .lateApplied)
        #expect(e.counters.expired == 1)
    }

    @Test func idleFlushReleasesBufferedEventsAfterQuietWallTime() throws {
        var e = PartitionEngine(configuration: smallConfiguration(lateness: 30_000))
        e.ingest(swap("a", ts: 1_000))
        e.tick(wallNow: 500_000)
        #expect(e.bufferedCount == 1)
        e.tick(wallNow: 500_999)
        #expect(e.bufferedCount == 1)
        e.tick(wallNow: 501_000)
        #expect(e.bufferedCount == 0)
        #expect(e.stats(token: "tok")!.window("1m")!.txns == 1)
        #expect(e.ingest(swap("b", ts: 900)) == .lateApplied)
    }

    @Test func wallClockEmptiesIdleTokensWindows() throws {
        var e = PartitionEngine(configuration: smallConfiguration(clock: .wall))
        e.ingest(swap("a", ts: 1_000))
        e.tick(wallNow: 1_500)
        e.tick(wallNow: 3_000)
        #expect(e.stats(token: "tok")!.window("5s")!.txns == 1)
        e.tick(wallNow: 30_000)
        let s = try #require(e.stats(token: "tok"))
        #expect(s.asOf == 31_000)
        #expect(s.window("5s")!.txns == 0)
        #expect(s.window("1m")!.txns == 1)
        e.tick(wallNow: 70_000)
        #expect(e.stats(token: "tok") == nil)
    }

    @Test func distinctWalletsAreExactPerSide() throws {
        var e = PartitionEngine(configuration: smallConfiguration())
        e.ingest(swap("1", who: "x", side: .buy, ts: 1_000))
        e.ingest(swap("2", who: "x", side: .sell, ts: 2_000))
        e.ingest(swap("3", who: "y", side: .buy, ts: 8_000))
        e.ingest(swap("4", who: "x", side: .buy, ts: 9_000))
        e.ingest(swap("z", "other", ts: 20_000))
        let s = try #require(e.stats(token: "tok", asOf: nil))
        let minute = s.window("1m")!
        #expect(minute.uniqueWallets == 2)
        #expect(minute.uniqueBuyers == 2)
        #expect(minute.uniqueSellers == 1)
        let recent = try #require(e.stats(token: "tok", asOf: 21_000))
        #expect(recent.window("5s")!.uniqueWallets == 0)
        #expect(recent.window("1m")!.uniqueSellers == 1)
    }

    @Test func priceStdDevSurvivesExtremePriceScales() throws {
        for base in [1e-9, 1.0, 1e6] {
            var e = PartitionEngine(configuration: smallConfiguration())
            let prices = [base * (1 + 1e-5), base * (1 - 1e-5), base, base * (1 + 2e-5)]
            for (i, p) in prices.enumerated() { e.ingest(swap("\(i)", ts: 1_000 + Int64(i) * 1_500, price: p)) }
            e.flush()
            let w = try #require(e.stats(token: "tok")).window("1m")!
            let mean = prices.reduce(0, +) / 4
            let want = (prices.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 4).squareRoot()
            let got = try #require(w.priceStdDev)
            #expect(abs(got - want) <= 1e-9 * want, "base \(base): got \(got), want \(want)")
        }
    }

    @Test func equalPricesHaveZeroStdDevAfterAHugeMove() throws {
        var e = PartitionEngine(configuration: smallConfiguration())
        e.ingest(swap("a", ts: 1_000, price: 1e-6))
        for i in 0..<10 { e.ingest(swap("b\(i)", ts: 70_000 + Int64(i) * 100, price: 0.3)) }
        e.flush()
        let w = try #require(e.stats(token: "tok")).window("1m")!
        #expect(w.txns == 10)
        #expect(try #require(w.priceStdDev) <= 1e-15 * 0.3)
    }

    @Test func candlesGroupBucketsByInterval() throws {
        var e = PartitionEngine(configuration: smallConfiguration())
        for (i, p) in [1.0, 3, 2, 5, 4].enumerated() {
            e.ingest(swap("\(i)", usd: p, ts: 10_000 + Int64(i) * 1_000, price: p))
        }
        e.flush()
        let candles = try #require(e.candles(token: "tok", interval: 2_000, limit: 10))
        #expect(candles.map(\.start) == [10_000, 12_000, 14_000])
        #expect(candles[0].open == 1 && candles[0].close == 3 && candles[0].high == 3 && candles[0].txns == 2)
        #expect(candles[1].low == 2 && candles[1].high == 5)
        #expect(try #require(e.candles(token: "tok", interval: 2_000, limit: 1)).map(\.start) == [14_000])
        #expect(e.candles(token: "tok", interval: 1_500, limit: 10) == nil)
    }
}
