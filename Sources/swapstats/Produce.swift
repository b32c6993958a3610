import ArgumentParser
import Foundation
import Logging
import SwapStatsApp

/// `swapstats produce`: realistic generated swaps into any Kafka.
struct Produce: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Produce realistic swaps (Zipf tokens, wallets, smooth prices) into a Kafka topic.")

    @Option(help: "Kafka bootstrap servers (default: KAFKA_BROKERS).") var brokers: String?
    @Option(help: "Topic (default: KAFKA_TOPIC or swaps).") var topic: String?
    @Option(help: "Messages to send; 0 = until interrupted.") var count = 100_000
    @Option(help: "Messages per second; 0 = as fast as the broker takes them.") var rate = 1_000
    @Option(help: "Distinct tokens (Zipf popularity).") var tokens = 1_000
    @Option(help: "Distinct wallets.") var wallets = 10_000
    @Option(help: "Share of exact duplicates (0–1).") var duplicates = 0.01
    @Option(name: .customLong("out-of-order"), help: "Events move back by up to this many ms.") var outOfOrder: Int64 =
        2_000
    @Option(help: "Share of late events, moved back 10 s – 2 min (0–1).") var late = 0.001
    @Option(help: "Share of invalid messages (0–1).") var invalid = 0.0
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(help: "Event time of the first swap, ms since the epoch (default: now, or an hour ago for --output).")
    var start: Int64?
    @Option(help: "Write JSON lines to this file ('-' = stdout) instead of Kafka; --rate then only spaces event times.")
    var output: String?

    func validate() throws {
        for (name, v) in [("duplicates", duplicates), ("late", late), ("invalid", invalid)] where !(0...1).contains(v) {
            throw ValidationError("--\(name) must be between 0 and 1")
        }
        guard count >= 0, rate >= 0, tokens > 0, wallets > 0, outOfOrder >= 0 else {
            throw ValidationError("counts and rates must not be negative; tokens and wallets at least 1")
        }
    }

    func run() throws {
        let env = ProcessInfo.processInfo.environment
        var o = TrafficTools.ProduceOptions()
        o.topic = topic ?? env["KAFKA_TOPIC"] ?? "swaps"
        o.count = count
        o.rate = rate
        o.tokens = tokens
        o.wallets = wallets
        o.duplicateShare = duplicates
        o.jitter = outOfOrder
        o.lateShare = late
        o.invalidShare = invalid
        o.seed = seed
        o.start = start
        if let output {
            _ = try TrafficTools.write(path: output, options: o)
            return
        }
        guard let brokers = brokers ?? env["KAFKA_BROKERS"] else {
            throw ValidationError(
                "set --brokers or KAFKA_BROKERS (serve and kafka print 'kafka bootstrap=…'), or --output")
        }
        LogSetup.bootstrap(level: .info, format: .text)
        let stop = Interrupt.install()
        _ = try TrafficTools.produce(
            brokers: brokers, options: o, logger: Logger(label: "swapstats.produce"), interrupted: { stop.isSet })
    }
}

/// `swapstats replay FILE`: JSON-lines swaps into a topic as fast as the broker takes them.
struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send a JSON-lines file of swaps ('-' for stdin) into a topic, keyed by token.")

    @Argument(help: "JSON-lines file, or - for standard input.") var file: String
    @Option(help: "Kafka bootstrap servers (default: KAFKA_BROKERS).") var brokers: String?
    @Option(help: "Topic (default: KAFKA_TOPIC or swaps).") var topic: String?

    func run() throws {
        let env = ProcessInfo.processInfo.environment
        guard let brokers = brokers ?? env["KAFKA_BROKERS"] else {
            throw ValidationError("set --brokers or KAFKA_BROKERS (serve and kafka print 'kafka bootstrap=…')")
        }
        LogSetup.bootstrap(level: .info, format: .text)
        _ = try TrafficTools.replay(
            path: file, brokers: brokers, topic: topic ?? env["KAFKA_TOPIC"] ?? "swaps",
            logger: Logger(label: "swapstats.replay"))
    }
}

/// SIGINT/SIGTERM as a flag a loop can poll.
enum Interrupt {
    private static let flag = StopFlag()

    static func install() -> StopFlag {
        for s in [SIGINT, SIGTERM] {
            signal(s) { _ in Interrupt.flag.set() }
        }
        return flag
    }
}
