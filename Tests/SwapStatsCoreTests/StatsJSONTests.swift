import Foundation
import SwapStatsCore
import Testing

@Suite struct StatsJSONTests {
    func sampleStats() throws -> TokenStats {
        var e = PartitionEngine(configuration: smallConfiguration())
        e.ingest(swap("a\"\\\n", who: "wé", usd: 812.5, ts: 1_000, price: 1.25))
        e.ingest(swap("b", side: .sell, amount: 3, usd: 1e-9, ts: 2_000))
        e.ingest(swap("z", "other", ts: 9_000))
        return try #require(e.stats(token: "tok"))
    }

    @Test func bodyIsValidJSONWithEveryContractField() throws {
        let stats = try sampleStats()
        let bytes = StatsJSON.encode(stats)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        #expect(object["token"] as? String == "tok")
        #expect((object["asOf"] as? NSNumber)?.int64Value == stats.asOf)
        let last = try #require(object["lastTrade"] as? [String: Any])
        #expect(last["id"] as? String == "b")
        #expect(last["side"] as? String == "sell")
        let windows = try #require(object["windows"] as? [String: Any])
        #expect(Set(windows.keys) == ["5s", "1m"])
        let minute = try #require(windows["1m"] as? [String: Any])
        let fields = [
            "from", "to", "txns", "buys", "sells", "volumeUsd", "buyVolumeUsd", "sellVolumeUsd", "volumeToken",
            "uniqueWallets", "uniqueBuyers", "uniqueSellers", "open", "high", "low", "close", "priceChangePct", "vwap",
            "priceStdDev",
        ]
        #expect(Set(minute.keys) == Set(fields))
        #expect((minute["volumeUsd"] as? NSNumber)?.doubleValue == stats.window("1m")!.volumeUSD)
        #expect((minute["sellVolumeUsd"] as? NSNumber)?.doubleValue == 1e-9)
        #expect((minute["open"] as? NSNumber)?.doubleValue == 1.25)
        let empty = try #require(windows["5s"] as? [String: Any])
        #expect((empty["txns"] as? NSNumber)?.intValue == 0)
        #expect(empty["open"] is NSNull)
        #expect(empty["priceStdDev"] is NSNull)
    }

    @Test func stringsAreEscaped() throws {
        let t = Trade(id: "q\"b\\s\n\u{01}é", ts: 1, side: .buy, price: 2, usd: 3, who: "w")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(StatsJSON.encode(t))) as? [String: Any])
        #expect(object["id"] as? String == t.id)
    }
}

@Suite struct TopTokensTests {
    @Test func ranksByValueThenTokenAndSkipsEmptyWindows() throws {
        var e = PartitionEngine(configuration: smallConfiguration())
        e.ingest(swap("1", "a", usd: 5, ts: 1_000))
        e.ingest(swap("2", "b", usd: 9, ts: 1_000))
        e.ingest(swap("3", "c", usd: 5, ts: 1_000))
        e.ingest(swap("4", "d", usd: 1, ts: 1_000))
        e.ingest(swap("5", "e", usd: 7, ts: 30_000))
        e.flush()
        let all = e.allStats()
        let top = TopTokens.rank(all, window: "1m", by: .volumeUSD, limit: 3)
        #expect(top.map(\.token) == ["b", "e", "a"])
        #expect(top.map(\.value) == [9, 7, 5])
        // In the 5 s window only "e" traded: the others are left out, not ranked as 0.
        #expect(TopTokens.rank(all, window: "5s", by: .txns, limit: 10).map(\.token) == ["e"])
        #expect(TopTokens.rank(all, window: "1m", by: .uniqueWallets, limit: 0).isEmpty)
        #expect(TopTokens.rank(all, window: "nope", by: .txns, limit: 5).isEmpty)
    }

    @Test func rankByNamesAreTheContractsValues() {
        #expect(
            RankBy.allCases.map(\.rawValue) == ["volumeUsd", "txns", "uniqueWallets", "priceChangePct", "priceStdDev"])
    }
}
