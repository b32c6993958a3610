import ArgumentParser
import Foundation
import SwapStatsCore
import SwapStatsTestSupport

/// Runs the engine over realistic generated traffic and prints what it sees.
struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the engine over generated swaps (Zipf tokens, wallets, price walks) and print stats.")

    @Option(help: "Swaps to generate.") var events = 200_000
    @Option(help: "Distinct tokens.") var tokens = 1_000
    @Option(help: "Distinct wallets.") var wallets = 5_000
    @Option(help: "Event time the swaps span, e.g. 1h or 24h.") var span = "1h"
    @Option(help: "Share of duplicate deliveries (0-1).") var duplicates = 0.01
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(help: "How many tokens to list per window.") var top = 5

    func run() throws {
        let engineConfiguration = try EngineConfiguration.fromEnvironment(
            ProcessInfo.processInfo.environment.merging(["CLOCK": "event"]) { _, forced in forced })
        guard let spanMillis = DurationText.millis(span), spanMillis > 0 else {
            throw ValidationError("--span '\(span)' is not a duration like 5m or 1h")
        }
        var stream = ZipfStream(
            seed: seed, tokens: tokens, wallets: wallets, events: events, span: spanMillis, jitter: 2_000,
            duplicateShare: duplicates)
        var engine = PartitionEngine(configuration: engineConfiguration)
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            for _ in 0..<events { engine.ingest(stream.next()) }
            engine.flush()
        }
        let c = engine.counters
        print(
            "ingested \(events) swaps in \(elapsed): accepted \(c.accepted), duplicate \(c.duplicate), "
                + "late \(c.lateApplied), expired \(c.expired); \(engine.tokenCount) tokens, state \(engine.bytes / 1_024) KiB"
        )
        let all = engine.allStats()
        for window in engineConfiguration.windows {
            print("\ntop \(top) by volumeUsd over \(window.name):")
            for r in TopTokens.rank(all, window: window.name, by: .volumeUSD, limit: top) {
                print("  \(r.token)  \(String(format: "%.2f", r.value)) USD")
            }
        }
        if let hot = TopTokens.rank(all, window: engineConfiguration.largestWindow.name, by: .txns, limit: 1).first,
            let stats = engine.stats(token: hot.token)
        {
            print("\nGET /tokens/\(hot.token)/stats would answer:")
            print(String(decoding: StatsJSON.encode(stats), as: UTF8.self))
        }
    }
}
