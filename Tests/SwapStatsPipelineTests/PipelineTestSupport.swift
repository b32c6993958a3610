import Foundation
import KafkaClient
import Logging
import SwapStatsCore
import SwapStatsPipeline
import SwapStatsTestSupport

let testLogger: Logger = {
    var l = Logger(label: "pipeline-tests")
    l.logLevel = ProcessInfo.processInfo.environment["TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
    return l
}()

/// A fresh empty directory under the system temporary directory.
func temporaryDirectory(_ name: String) -> String {
    let path = NSTemporaryDirectory() + "swapstats-\(name)-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Waits until `condition` holds, polling; false when `seconds` pass first.
func waitUntil(seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date(timeIntervalSinceNow: seconds)
    while Date() < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: 0.05)
    }
    return try condition()
}

/// Produces messages keyed by token and waits for every delivery.
func produce(_ messages: [SwapTraffic.Message], to topic: String, brokers: String) throws {
    let producer = try KafkaProducer(properties: ["bootstrap.servers": brokers, "linger.ms": "5"], logger: testLogger)
    for m in messages {
        try m.key.withUnsafeBytes { k in try m.value.withUnsafeBytes { v in try producer.send(topic: topic, key: k, value: v) } }
    }
    try producer.flush(timeoutMilliseconds: 30_000)
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

/// High watermark of each partition of `topic`.
func highWatermarks(brokers: String, topic: String, partitions: Int) throws -> [Int32: Int64] {
    let consumer = try KafkaConsumer(
        properties: ["bootstrap.servers": brokers, "group.id": "watermarks-\(UUID().uuidString)"],
        rebalance: NoRebalance(), logger: testLogger)
    var out: [Int32: Int64] = [:]
    for p in 0..<Int32(partitions) {
        out[p] = try consumer.queryWatermarks(TopicPartition(topic: topic, partition: p), timeoutMilliseconds: 5000).high
    }
    return out
}

struct NoRebalance: KafkaRebalanceHandler {
    func partitionsAssigned(_ partitions: [TopicPartition]) -> [TopicPartition: StartOffset] { [:] }
    func partitionsRevoked(_ partitions: [TopicPartition]) {}
}

/// Every partition's state as its stored checkpoint holds it, flushed, answered at `asOf`;
/// with the summed counters and lost events.
func answersFromCheckpoints(
    _ store: DirectoryCheckpointStore, partitions: Int, configuration: EngineConfiguration, asOf: Int64
) throws -> (stats: [TokenStats], counters: IngestCounters, lost: Int64, offsets: [Int32: Int64]) {
    var stats: [TokenStats] = []
    var counters = IngestCounters()
    var lost: Int64 = 0
    var offsets: [Int32: Int64] = [:]
    for p in 0..<Int32(partitions) {
        guard let bytes = try store.load(topic: "swaps", partition: p) else { continue }
        let checkpoint = try PartitionCheckpoint(decoding: bytes)
        var engine = try checkpoint.restore(configuration: configuration)
        engine.flush()
        stats += engine.allStats(asOf: asOf)
        counters.accepted += engine.counters.accepted
        counters.duplicate += engine.counters.duplicate
        counters.lateApplied += engine.counters.lateApplied
        counters.expired += engine.counters.expired
        lost += checkpoint.lostEvents
        offsets[p] = checkpoint.offset
    }
    return (stats.sorted { $0.token < $1.token }, counters, lost, offsets)
}

/// Mismatches between two answer lists (empty when equal).
func mismatches(_ got: [TokenStats], _ want: [TokenStats]) -> [String] {
    var out: [String] = []
    if got.map(\.token) != want.map(\.token) {
        out.append("tokens differ: got \(got.count), want \(want.count)")
        return out
    }
    for (g, w) in zip(got, want) {
        out += StatsComparison.mismatches(g, w).map { "\(g.token): \($0)" }
    }
    return out
}
