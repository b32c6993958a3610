import Dispatch
import KafkaClient

/// Messages for one shard, copied out of librdkafka into one contiguous byte array.
struct RecordBatch {
    private(set) var partitions: [Int32] = []
    private(set) var offsets: [Int64] = []
    /// End of each payload in `bytes`.
    private(set) var ends: [Int] = []
    private(set) var bytes: [UInt8] = []
    /// Monotonic nanoseconds when the first record was taken from Kafka: where the
    /// ingest → WebSocket-send latency starts.
    private(set) var consumedAt: UInt64 = 0

    var count: Int { offsets.count }
    var isEmpty: Bool { offsets.isEmpty }

    init(capacity: Int = 0) {
        partitions.reserveCapacity(capacity)
        offsets.reserveCapacity(capacity)
        ends.reserveCapacity(capacity)
        bytes.reserveCapacity(capacity * 200)
    }

    /// Empties the batch, keeping its storage for the next one.
    mutating func clear() {
        partitions.removeAll(keepingCapacity: true)
        offsets.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
        bytes.removeAll(keepingCapacity: true)
    }

    mutating func append(_ record: KafkaRecord) {
        if offsets.isEmpty { consumedAt = DispatchTime.now().uptimeNanoseconds }
        partitions.append(record.partition)
        offsets.append(record.offset)
        bytes.append(contentsOf: record.payload)
        ends.append(bytes.count)
    }
}

/// The state of one owned partition, as last reported by its shard.
public struct PartitionStatus: Sendable {
    public let partition: Int32
    /// The next offset the state has not seen.
    public var nextOffset: Int64
    /// Newest event time accepted (`Int64.min` before any).
    public var newestEventTime: Int64
    /// Event time below which events are late (`Int64.min` before any).
    public var watermark: Int64
    public var tokens: Int
    public var buffered: Int
    public var stateBytes: Int
    /// Events the log no longer held when this partition reached them (0 when exact).
    public var lostEvents: Int64
    /// Wall time (ms) of the last checkpoint written, or of the assignment.
    public var lastCheckpointWall: Int64
    /// Offset of the last checkpoint written (nil before the first).
    public var checkpointedOffset: Int64?
    public var accepted: Int
    public var duplicate: Int
    public var invalid: Int
}
