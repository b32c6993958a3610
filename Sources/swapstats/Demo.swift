import ArgumentParser
import Foundation
import Logging
import SwapStatsApp

/// `swapstats demo`: the embedded server plus a built-in producer of realistic swaps.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Embedded Kafka + live generated swaps + the server: prints the URLs to try.")

    @Option(help: "Swaps per second.") var rate = 2_000
    @Option(help: "Distinct tokens.") var tokens = 200

    func run() async throws {
        var flags: [String: String] = [:]
        // A fresh state each time unless STATE_DIR says otherwise (the embedded Kafka is fresh too).
        if ProcessInfo.processInfo.environment["STATE_DIR"] == nil {
            flags["STATE_DIR"] = NSTemporaryDirectory() + "swapstats-demo-\(ProcessInfo.processInfo.processIdentifier)"
        }
        flags["KAFKA_BROKERS"] = ""
        let settings = try loadSettings(configPath: nil, flags: flags)
        LogSetup.bootstrap(level: settings.logLevel, format: settings.logFormat)
        var traffic = TrafficTools.ProduceOptions()
        traffic.count = 0
        traffic.rate = rate
        traffic.tokens = tokens
        traffic.wallets = 5_000
        traffic.invalidShare = 0.001
        try await Server.run(settings, logger: Logger(label: "swapstats"), demo: traffic)
    }
}
