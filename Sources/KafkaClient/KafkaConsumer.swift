internal import CRdKafka
public import Logging

/// One message lent to the caller of ``KafkaConsumer/consume(maxMessages:timeoutMilliseconds:_:)``.
///
/// - Warning: `payload` and `key` point into librdkafka's memory and are valid only inside
///   the closure that received the record. Copy what you keep.
public struct KafkaRecord {
    public let partition: Int32
    public let offset: Int64
    public let payload: UnsafeRawBufferPointer
    public let key: UnsafeRawBufferPointer?
    /// The `rd_kafka_message_t` this record views.
    let message: UnsafeMutablePointer<rd_kafka_message_t>

    /// The last value of header `name`, copied; nil when the message has no such header.
    public func header(_ name: String) -> [UInt8]? {
        var headers: OpaquePointer?
        guard rd_kafka_message_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR, let headers else { return nil }
        var value: UnsafeRawPointer?
        var size = 0
        guard rd_kafka_header_get_last(headers, name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        return Array(UnsafeRawBufferPointer(start: value, count: size))
    }
}

/// A high-level (balanced, group-managed) consumer that reads in batches.
///
/// `@unchecked Sendable` is sound: librdkafka handles and queues are thread-safe. Only one
/// thread should consume (the rebalance handler runs on it).
public final class KafkaConsumer: @unchecked Sendable {
    private let handle: RDKafkaHandle
    /// The consumer queue, which also serves rebalance events.
    private let queue: OpaquePointer
    private var closed = false
    private var buffer: [UnsafeMutablePointer<rd_kafka_message_t>?]

    /// Creates a consumer from librdkafka `properties` (must include `group.id` and
    /// `bootstrap.servers`).
    /// - Throws: ``KafkaError`` when librdkafka refuses a property.
    public init(
        properties: [String: String], rebalance: any KafkaRebalanceHandler, logger: Logger,
        maxBatch: Int = 4096
    ) throws(KafkaError) {
        handle = try RDKafkaHandle(.consumer, properties: properties, logger: logger, rebalance: rebalance)
        queue = handle.withPointer { rk in
            rd_kafka_poll_set_consumer(rk)
            return rd_kafka_queue_get_consumer(rk)!
        }
        buffer = .init(repeating: nil, count: maxBatch)
    }

    /// Joins the group for `topics`.
    public func subscribe(_ topics: [String]) throws(KafkaError) {
        let list = makeList(topics.map { (TopicPartition(topic: $0, partition: -1), RDKafkaOffset.invalid) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        try handle.withPointer { rk throws(KafkaError) in
            try KafkaError.check(rd_kafka_subscribe(rk, list), "subscribe")
        }
    }

    /// Waits up to `timeoutMilliseconds` for messages and lends up to `maxMessages` of them,
    /// one at a time, to `body`. Rebalance callbacks run inside this call.
    /// - Returns: how many messages were lent.
    /// - Throws: the first consumer error librdkafka delivered in the batch, after lending
    ///   every good message (errors such as a broker that is away are also logged by
    ///   librdkafka and recovered from by it).
    @discardableResult
    public func consume(
        maxMessages: Int, timeoutMilliseconds: Int32, _ body: (KafkaRecord) -> Void
    ) throws(KafkaError) -> Int {
        let n = buffer.withUnsafeMutableBufferPointer { b in
            Int(
                rd_kafka_consume_batch_queue(
                    queue, Int32(timeoutMilliseconds), b.baseAddress, min(maxMessages, b.count)))
        }
        guard n > 0 else { return 0 }
        var firstError: KafkaError?
        var lent = 0
        for i in 0..<n {
            let m = buffer[i]!
            defer { rd_kafka_message_destroy(m) }
            let msg = m.pointee
            if msg.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                if msg.err != RD_KAFKA_RESP_ERR__PARTITION_EOF && firstError == nil {
                    let text = String(cString: rd_kafka_err2str(msg.err))
                    firstError = KafkaError(code: msg.err, message: "consume partition \(msg.partition): \(text)")
                }
                continue
            }
            lent += 1
            body(
                KafkaRecord(
                    partition: msg.partition, offset: msg.offset,
                    payload: UnsafeRawBufferPointer(start: msg.payload, count: msg.len),
                    key: msg.key.map { UnsafeRawBufferPointer(start: $0, count: msg.key_len) }, message: m))
        }
        if let firstError { throw firstError }
        return lent
    }

    /// Commits `offsets` (the next offset to read, per partition) asynchronously, so lag tools
    /// see progress. Not used for correctness: state checkpoints carry their own offsets.
    public func commit(_ offsets: [TopicPartition: Int64]) throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        let list = makeList(offsets.map { ($0.key, $0.value) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        try handle.withPointer { rk throws(KafkaError) in try KafkaError.check(rd_kafka_commit(rk, list, 1), "commit") }
    }

    /// The group's committed offsets (nil where none), asking the coordinator.
    /// - Warning: blocks up to `timeoutMilliseconds`.
    public func committed(_ partitions: [TopicPartition], timeoutMilliseconds: Int32) throws(KafkaError)
        -> [TopicPartition: Int64?]
    {
        let list = makeList(partitions.map { ($0, RDKafkaOffset.invalid) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        try handle.withPointer { rk throws(KafkaError) in
            try KafkaError.check(rd_kafka_committed(rk, list, timeoutMilliseconds), "committed")
        }
        var out: [TopicPartition: Int64?] = [:]
        for (tp, offset) in topicPartitions(list) { out[tp] = offset >= 0 ? offset : nil }
        return out
    }

    /// The partition's watermarks, asking its leader.
    /// - Warning: blocks up to `timeoutMilliseconds`.
    public func queryWatermarks(_ tp: TopicPartition, timeoutMilliseconds: Int32) throws(KafkaError) -> WatermarkOffsets
    {
        var low: Int64 = 0
        var high: Int64 = 0
        try handle.withPointer { rk throws(KafkaError) in
            try KafkaError.check(
                rd_kafka_query_watermark_offsets(rk, tp.topic, tp.partition, &low, &high, timeoutMilliseconds),
                "watermarks of \(tp)")
        }
        return WatermarkOffsets(low: low, high: high)
    }

    /// The watermarks last seen in fetch replies (no network; nil before the first fetch).
    public func cachedWatermarks(_ tp: TopicPartition) -> WatermarkOffsets? {
        var low: Int64 = -1
        var high: Int64 = -1
        let err = handle.withPointer { rk in rd_kafka_get_watermark_offsets(rk, tp.topic, tp.partition, &low, &high) }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, high >= 0 else { return nil }
        return WatermarkOffsets(low: max(low, 0), high: high)
    }

    /// Leaves the group: revokes the assignment (calling the handler) and stops fetching.
    public func close() throws(KafkaError) {
        guard !closed else { return }
        closed = true
        try handle.withPointer { rk throws(KafkaError) in try KafkaError.check(rd_kafka_consumer_close(rk), "close") }
    }

    deinit {
        if !closed { _ = handle.withPointer { rd_kafka_consumer_close($0) } }
        rd_kafka_queue_destroy(queue)
    }
}
