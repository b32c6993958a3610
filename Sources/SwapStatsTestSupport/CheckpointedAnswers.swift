import Foundation
public import KafkaClient
public import Logging
public import SwapStatsCheckpoints
public import SwapStatsCore
import SwapStatsPipeline

/// What a set of stored checkpoints answers: each partition's state restored, flushed and
/// asked at one `asOf`. End-to-end tests compare it with ``FinalAnswers``.
public struct CheckpointedAnswers {
    public private(set) var stats: [TokenStats] = []
    public private(set) var counters = IngestCounters()
    public private(set) var lostEvents: Int64 = 0
    /// Checkpoint offset per partition that has one.
    public private(set) var offsets: [Int32: Int64] = [:]

    /// - Throws: ``CheckpointError`` when a checkpoint cannot be read or restored.
    public init(
        store: any CheckpointStore, topic: String = "swaps", partitions: Int, configuration: EngineConfiguration,
        asOf: Int64
    ) throws {
        for p in 0..<Int32(partitions) {
            guard
                let checkpoint = try StoredCheckpoint(
                    store: store, topic: topic, partition: p, configuration: configuration)
            else { continue }
            var engine = checkpoint.engine
            engine.flush()
            stats += engine.allStats(asOf: asOf)
            counters += engine.counters
            lostEvents += checkpoint.manifest.lostEvents
            offsets[p] = checkpoint.manifest.offset
        }
        stats.sort { $0.token < $1.token }
    }
}

extension StatsComparison {
    /// Mismatches between two answer lists sorted by token (empty when they agree).
    public static func mismatches(_ got: [TokenStats], _ want: [TokenStats]) -> [String] {
        guard got.map(\.token) == want.map(\.token) else {
            let g = Set(got.map(\.token))
            let w = Set(want.map(\.token))
            return ["tokens differ: \(g.subtracting(w).count) extra, \(w.subtracting(g).count) missing"]
        }
        return zip(got, want).flatMap { g, w in mismatches(g, w).map { "\(g.token): \($0)" } }
    }
}

/// Small Kafka helpers for tests and benchmarks.
public enum KafkaTestTools {
    /// High watermark of each partition of `topic`.
    public static func highWatermarks(brokers: String, topic: String, partitions: Int, logger: Logger) throws
        -> [Int32: Int64]
    {
        let consumer = try KafkaConsumer(
            properties: ["bootstrap.servers": brokers, "group.id": "watermarks-\(UUID().uuidString)"],
            rebalance: NoRebalance(), logger: logger)
        var out: [Int32: Int64] = [:]
        for p in 0..<Int32(partitions) {
            out[p] = try consumer.queryWatermarks(TopicPartition(topic: topic, partition: p), timeoutMilliseconds: 5000)
                .high
        }
        return out
    }

    /// Produces messages keyed by token and waits for every delivery.
    public static func produce(_ messages: [SwapTraffic.Message], to topic: String, brokers: String, logger: Logger)
        throws
    {
        let producer = try KafkaProducer(properties: ["bootstrap.servers": brokers, "linger.ms": "5"], logger: logger)
        for m in messages {
            try m.key.withUnsafeBytes { k in
                try m.value.withUnsafeBytes { v in try producer.send(topic: topic, key: k, value: v) }
            }
        }
        try producer.flush(timeoutMilliseconds: 30_000)
    }

    /// A rebalance handler that starts at the committed offsets and keeps nothing.
    public struct NoRebalance: KafkaRebalanceHandler {
        public init() {}
        public func partitionsAssigned(_ partitions: [TopicPartition]) -> [TopicPartition: StartOffset] { [:] }
        public func partitionsRevoked(_ partitions: [TopicPartition]) {}
    }
}
