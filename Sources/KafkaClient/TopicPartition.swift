/// A partition of a topic, with an offset where one is meant.
public struct TopicPartition: Sendable, Hashable, CustomStringConvertible {
    public let topic: String
    public let partition: Int32

    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public var description: String { "\(topic)/\(partition)" }
}

/// Where to start consuming a partition after it is assigned.
public enum StartOffset: Sendable, Hashable {
    /// The first message the log still holds.
    case beginning
    /// The group's committed offset (librdkafka's `auto.offset.reset` when there is none).
    case committed
    /// This exact offset: the next message the caller has not seen.
    case offset(Int64)
}

/// The low and high watermark offsets of a partition: the first offset the log holds and
/// the offset the next produced message will get.
public struct WatermarkOffsets: Sendable, Hashable {
    public let low: Int64
    public let high: Int64
}
