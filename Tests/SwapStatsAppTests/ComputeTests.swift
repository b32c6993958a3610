import Foundation
import SwapStatsApp
import SwapStatsCore
import SwapStatsTestSupport
import Testing

/// Writes messages as a JSON-lines file in a fresh directory; returns its path.
private func writeLines(_ messages: [SwapTraffic.Message], name: String) throws -> String {
    let directory = scratchDirectory("compute")
    let path = "\(directory)/\(name)"
    var bytes: [UInt8] = []
    for m in messages { bytes += m.value + [0x0A] }
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
}

private let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

@Suite(.serialized, .timeLimit(.minutes(3)))
struct ComputeTests {
    @Test func plainAndGzipFilesGiveTheOraclesAnswersWithAnyShardCount() throws {
        var t = SwapTraffic(
            seed: 31, tokens: 200, wallets: 300, events: 20_000, span: 20 * 60_000, jitter: 20_000,
            duplicateShare: 0.05, lateShare: 0.01, invalidShare: 0.01)
        let messages = t.take(20_000)
        let path = try writeLines(messages, name: "swaps.jsonl")
        #expect(try runCommand("/bin/gzip", ["-k", path]).status == 0)
        let engine = try EngineConfiguration.fromEnvironment(["CLOCK": "event"])
        let want = FinalAnswers(messages: messages, configuration: engine)
        let asOf = try #require(want.asOf)

        for (file, shards) in [(path, 1), (path + ".gz", 3), (path, 2)] {
            let invalidPath = path + ".invalid-\(shards)"
            let result = try OfflineCompute.run(
                .init(files: [file], engine: engine, shards: shards, invalidPath: invalidPath))
            #expect(result.summary.asOf == asOf)
            #expect(result.summary.lines == messages.count)
            #expect(result.summary.counters.accepted == want.unique)
            #expect(result.summary.counters.duplicate == want.valid - want.unique)
            #expect(result.summary.invalid.values.reduce(0, +) == want.invalid)
            let problems = StatsComparison.mismatches(result.stats, want.stats(asOf: asOf))
            #expect(problems.isEmpty, "\(file) shards \(shards): \(problems.prefix(3))")
            let invalidLines = try String(contentsOfFile: invalidPath, encoding: .utf8).split(separator: "\n")
            #expect(invalidLines.count == want.invalid)
            #expect(invalidLines.allSatisfy { InvalidReason(rawValue: String($0.prefix { $0 != "\t" })) != nil })
        }
    }

    @Test func aLaterAsOfSlidesTheWindowsAndAnEarlierOneIsRefused() throws {
        var t = SwapTraffic(seed: 32, tokens: 50, wallets: 80, events: 3_000, span: 10 * 60_000)
        let path = try writeLines(t.take(3_000), name: "swaps.jsonl")
        let engine = try EngineConfiguration.fromEnvironment(["CLOCK": "event"])
        let end = try #require(try OfflineCompute.run(.init(files: [path], engine: engine, shards: 2)).summary.asOf)
        let later = try OfflineCompute.run(.init(files: [path], engine: engine, asOf: end + 3_600_000, shards: 2))
        // An hour later only the 24 h window still holds the trades.
        #expect(later.stats.allSatisfy { $0.window("5m")?.txns == 0 && $0.window("1h")?.txns == 0 })
        #expect(later.stats.reduce(0) { $0 + ($1.window("24h")?.txns ?? 0) } == 3_000)
        #expect(throws: ComputeError.self) {
            try OfflineCompute.run(.init(files: [path], engine: engine, asOf: end - 60_000, shards: 2))
        }
        #expect(throws: ComputeError.self) {
            try OfflineCompute.run(.init(files: [path + ".missing"], engine: engine, shards: 2))
        }
    }

    /// DuckDB (PyPI, installed by scripts/test into .build/venv) computes the same final stats
    /// in SQL over the same file.
    @Test func duckDBComputesTheSameStatsOverTheSameFile() throws {
        let python = packageRoot.appendingPathComponent(".build/venv/bin/python").path
        try #require(
            FileManager.default.isExecutableFile(atPath: python), "run scripts/test: it installs duckdb in .build/venv")
        var t = SwapTraffic(
            seed: 33, tokens: 2_000, wallets: 5_000, events: 200_000, span: 40 * 60_000, jitter: 20_000,
            duplicateShare: 0.03, lateShare: 0.01)
        let path = try writeLines(t.take(200_000), name: "swaps.jsonl")
        let engine = try EngineConfiguration.fromEnvironment(["CLOCK": "event", "WINDOWS": "1m,10m,1h"])
        let result = try OfflineCompute.run(.init(files: [path], engine: engine, shards: 2))
        let asOf = try #require(result.summary.asOf)
        let spec = engine.windows.map { "\($0.name):\($0.millis)" }.joined(separator: ",")
        let duck = try runCommand(
            python, [packageRoot.appendingPathComponent("bench/duckdb_stats.py").path, path, "\(asOf)", spec])
        #expect(duck.status == 0)
        let rows = String(decoding: duck.output, as: UTF8.self).split(separator: "\n").map {
            try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        #expect(rows.count == result.stats.count)
        #expect(rows.count > 1_000)
        var problems: [String] = []
        for (row, s) in zip(rows, result.stats) {
            guard row["token"] as? String == s.token else {
                problems.append("token \(String(describing: row["token"])) vs \(s.token)")
                break
            }
            if row["lastTradeId"] as? String != s.lastTrade?.id { problems.append("\(s.token) lastTrade") }
            let windows = row["windows"] as! [String: [String: Any]]
            for w in s.windows {
                let d = windows[w.name]!
                let ints: [(String, Int)] = [
                    ("txns", w.txns), ("buys", w.buys), ("sells", w.sells), ("uniqueWallets", w.uniqueWallets),
                    ("uniqueBuyers", w.uniqueBuyers), ("uniqueSellers", w.uniqueSellers),
                ]
                for (k, v) in ints where (d[k] as? Int) != v { problems.append("\(s.token) \(w.name) \(k)") }
                let doubles: [(String, Double?)] = [
                    ("volumeUsd", w.volumeUSD), ("buyVolumeUsd", w.buyVolumeUSD), ("sellVolumeUsd", w.sellVolumeUSD),
                    ("volumeToken", w.volumeToken), ("open", w.open), ("high", w.high), ("low", w.low),
                    ("close", w.close), ("priceChangePct", w.priceChangePct), ("vwap", w.vwap),
                    ("priceStdDev", w.priceStdDev),
                ]
                for (k, v) in doubles {
                    let other = d[k] as? Double
                    switch (v, other) {
                    case (nil, nil): continue
                    case (let a?, let b?):
                        // Relative 1e-9; the deviation also absolute 1e-12 of the price level.
                        let scale =
                            k == "priceStdDev" ? max(abs(a), abs(b), 1e-3 * (w.close ?? 0)) : max(abs(a), abs(b))
                        if abs(a - b) > 1e-9 * scale { problems.append("\(s.token) \(w.name) \(k): \(a) vs \(b)") }
                    default:
                        problems.append(
                            "\(s.token) \(w.name) \(k): \(String(describing: v)) vs \(String(describing: other))")
                    }
                }
            }
        }
        #expect(problems.isEmpty, "\(problems.count) mismatches, first: \(problems.prefix(5))")
    }
}
