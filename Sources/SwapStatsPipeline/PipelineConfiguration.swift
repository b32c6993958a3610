public import SwapStatsCore

/// What a full internal queue does (`BACKPRESSURE`).
public enum Backpressure: String, Sendable, CaseIterable {
    /// Stop fetching until the shard catches up (default; loses nothing).
    case block
    /// Drop the batch and count it (`swapstats_backpressure_dropped_total`): demos only.
    case drop
    /// Queue up to ``PipelineConfiguration/bufferFactor`` times more, counting the overflow
    /// (`swapstats_backpressure_overflow_total`), then block.
    case buffer
}

/// How the ingest pipeline runs: where it reads, how it shards, when it checkpoints.
public struct PipelineConfiguration: Sendable {
    /// The swaps topic (`KAFKA_TOPIC`).
    public var topic: String
    /// Where invalid events go, with a `reason` header (`<topic>.dlq`).
    public var deadLetterTopic: String
    /// The consumer group (`KAFKA_GROUP`).
    public var group: String
    /// `bootstrap.servers` (`KAFKA_BROKERS`).
    public var brokers: String
    /// Extra librdkafka properties (`KAFKA_<PROPERTY>`).
    public var kafkaProperties: [String: String]
    public var engine: EngineConfiguration
    /// Shard threads; each partition belongs to exactly one.
    public var shards: Int
    public var backpressure: Backpressure
    /// Batches a shard may have waiting before backpressure applies.
    public var queueCapacity: Int
    /// How many times `queueCapacity` `BACKPRESSURE=buffer` may hold.
    public var bufferFactor: Int
    /// Milliseconds between checkpoints of a changed partition (`CHECKPOINT_INTERVAL`).
    public var checkpointInterval: Int64
    /// Messages taken from librdkafka per call.
    public var batchSize: Int
    /// Milliseconds a token's published stats wait at least between two updates
    /// (`WS_MIN_INTERVAL`); the first change after a quiet interval goes out at once.
    public var publishInterval: Int64

    public init(
        topic: String = "swaps", deadLetterTopic: String? = nil, group: String = "swapstats", brokers: String,
        kafkaProperties: [String: String] = [:], engine: EngineConfiguration, shards: Int = 2,
        backpressure: Backpressure = .block, queueCapacity: Int = 16, bufferFactor: Int = 16,
        checkpointInterval: Int64 = 10_000, batchSize: Int = 4096, publishInterval: Int64 = 250
    ) {
        self.topic = topic
        self.deadLetterTopic = deadLetterTopic ?? "\(topic).dlq"
        self.group = group
        self.brokers = brokers
        self.kafkaProperties = kafkaProperties
        self.engine = engine
        self.shards = max(1, shards)
        self.backpressure = backpressure
        self.queueCapacity = max(1, queueCapacity)
        self.bufferFactor = max(1, bufferFactor)
        self.checkpointInterval = checkpointInterval
        self.batchSize = batchSize
        self.publishInterval = max(0, publishInterval)
    }

    /// librdkafka properties of the consumer: the caller's, then what exactly-once needs
    /// (no auto-commit, reset to the earliest offset so a gap is seen and counted).
    var consumerProperties: [String: String] {
        var p = kafkaProperties
        p["bootstrap.servers"] = brokers
        p["group.id"] = group
        p["enable.auto.commit"] = "false"
        p["enable.auto.offset.store"] = "false"
        p["auto.offset.reset"] = "earliest"
        p["enable.partition.eof"] = "false"
        p["fetch.wait.max.ms"] = p["fetch.wait.max.ms"] ?? "10"
        p["queued.min.messages"] = p["queued.min.messages"] ?? "200000"
        p["max.partition.fetch.bytes"] = p["max.partition.fetch.bytes"] ?? "4194304"
        return p
    }

    /// librdkafka properties of the dead-letter producer.
    var producerProperties: [String: String] {
        var p = kafkaProperties.filter { !consumerOnly.contains($0.key) }
        p["bootstrap.servers"] = brokers
        return p
    }
}

/// Consumer properties a producer would refuse or warn about.
private let consumerOnly: Set<String> = [
    "group.id", "session.timeout.ms", "heartbeat.interval.ms", "auto.offset.reset", "enable.auto.commit",
    "max.poll.interval.ms", "partition.assignment.strategy", "group.instance.id", "fetch.wait.max.ms",
    "queued.min.messages", "max.partition.fetch.bytes", "enable.partition.eof", "enable.auto.offset.store",
    "fetch.min.bytes", "fetch.max.bytes", "isolation.level", "auto.commit.interval.ms",
]
