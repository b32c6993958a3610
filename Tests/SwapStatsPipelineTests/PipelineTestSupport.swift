import Foundation
import KafkaClient
import Logging
import SwapStatsCheckpoints
import SwapStatsCore
import SwapStatsPipeline
import SwapStatsTestSupport

let testLogger: Logger = {
    var l = Logger(label: "pipeline-tests")
    l.logLevel =
        ProcessInfo.processInfo.environment["TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
    return l
}()

/// A fresh empty directory, removed when the tests end.
func temporaryDirectory(_ name: String) -> String { scratchDirectory(name) }

func produce(_ messages: [SwapTraffic.Message], to topic: String, brokers: String) throws {
    try KafkaTestTools.produce(messages, to: topic, brokers: brokers, logger: testLogger)
}

/// Engine settings for end-to-end tests: event clock, so answers do not depend on when the
/// test runs.
func eventClockConfiguration() throws -> EngineConfiguration {
    try EngineConfiguration.fromEnvironment(["CLOCK": "event", "IDLE_FLUSH": "200ms"])
}

func pipelineConfiguration(brokers: String, group: String, engine: EngineConfiguration) -> PipelineConfiguration {
    PipelineConfiguration(
        topic: "swaps", group: group, brokers: brokers,
        kafkaProperties: ["session.timeout.ms": "6000", "heartbeat.interval.ms": "500"], engine: engine, shards: 2,
        checkpointInterval: 200, batchSize: 1000)
}

func highWatermarks(brokers: String, topic: String, partitions: Int) throws -> [Int32: Int64] {
    try KafkaTestTools.highWatermarks(brokers: brokers, topic: topic, partitions: partitions, logger: testLogger)
}

typealias NoRebalance = KafkaTestTools.NoRebalance

func answersFromCheckpoints(
    _ store: DirectoryCheckpointStore, partitions: Int, configuration: EngineConfiguration, asOf: Int64
) throws -> CheckpointedAnswers {
    try CheckpointedAnswers(store: store, partitions: partitions, configuration: configuration, asOf: asOf)
}

func mismatches(_ got: [TokenStats], _ want: [TokenStats]) -> [String] { StatsComparison.mismatches(got, want) }
