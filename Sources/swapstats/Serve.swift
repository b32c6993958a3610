import ArgumentParser
import Foundation
import Logging
import SwapStatsApp
import SwapStatsCore

/// `swapstats serve`: consume swaps and keep exact windows (embedded Kafka by default).
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Consume swaps from Kafka (an embedded one when KAFKA_BROKERS is unset) into exact sliding windows.")

    @Option(help: "Config file (TOML); overrides the environment, flags override it.") var config: String?
    @Option(help: "Kafka bootstrap servers (KAFKA_BROKERS); unset starts the embedded Kafka.") var brokers: String?
    @Option(help: "Swaps topic (KAFKA_TOPIC).") var topic: String?
    @Option(help: "Consumer group (KAFKA_GROUP).") var group: String?
    @Option(name: .customLong("state-dir"), help: "Checkpoint directory (STATE_DIR).") var stateDir: String?

    func run() async throws {
        var flags: [String: String] = [:]
        flags["KAFKA_BROKERS"] = brokers
        flags["KAFKA_TOPIC"] = topic
        flags["KAFKA_GROUP"] = group
        flags["STATE_DIR"] = stateDir
        let settings = try loadSettings(configPath: config, flags: flags)
        LogSetup.bootstrap(level: settings.logLevel, format: settings.logFormat)
        try await Server.run(settings, logger: Logger(label: "swapstats"))
    }
}

/// Settings from environment, file and flags; a bad value exits with status 2 naming it.
func loadSettings(configPath: String?, flags: [String: String]) throws -> ServeSettings {
    do {
        return try ServeSettings.load(
            environment: ProcessInfo.processInfo.environment, configPath: configPath, flags: flags)
    } catch {
        FileHandle.standardError.write(Data("swapstats: \(error)\n".utf8))
        throw ExitCode(2)
    }
}

/// `swapstats kafka`: the embedded Kafka alone, for development and tests.
struct KafkaBroker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kafka",
        abstract: "Run the embedded Kafka (librdkafka mock cluster) alone; prints 'kafka bootstrap=HOST:PORT'.")

    @Option(help: "Topic to create (its .dlq too).") var topic = "swaps"
    @Option(help: "Partitions of the topic.") var partitions = 8
    @Option(help: "Mock brokers.") var brokers = 1

    func run() async throws {
        let settings = try loadSettings(configPath: nil, flags: [:])
        LogSetup.bootstrap(level: settings.logLevel, format: settings.logFormat)
        try await Server.runKafka(
            topic: topic, partitions: partitions, brokers: brokers, logger: Logger(label: "swapstats.kafka"))
    }
}
