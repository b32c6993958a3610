internal import CRdKafka
public import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A producer, for the dead-letter topic and the `produce`/`replay` tools.
///
/// `@unchecked Sendable` is sound: a librdkafka producer handle is thread-safe.
public final class KafkaProducer: @unchecked Sendable {
    private let handle: RDKafkaHandle

    /// Creates a producer from librdkafka `properties` (at least `bootstrap.servers`).
    /// - Throws: ``KafkaError`` when librdkafka refuses a property.
    public init(properties: [String: String], logger: Logger) throws(KafkaError) {
        handle = try RDKafkaHandle(.producer, properties: properties, logger: logger)
    }

    /// Queues one message (copied) for `topic`, keyed by `key` so equal keys share a partition.
    /// While librdkafka's queue is full it serves delivery reports and waits: the caller is
    /// slowed to the broker's pace instead of losing messages.
    /// - Throws: ``KafkaError`` for anything but a full queue.
    public func send(
        topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer,
        headers: [(String, [UInt8])] = []
    ) throws(KafkaError) {
        // C copies of the strings and header values, alive until produceva has copied them.
        let cTopic = strdup(topic)!
        let cHeaders = headers.map { h in
            let value = UnsafeMutableRawBufferPointer.allocate(byteCount: max(h.1.count, 1), alignment: 1)
            value.copyBytes(from: h.1)
            return (name: strdup(h.0)!, value: value, count: h.1.count)
        }
        defer {
            free(cTopic)
            for h in cHeaders {
                free(h.name)
                h.value.deallocate()
            }
        }
        var vus = [rd_kafka_vu_t](repeating: rd_kafka_vu_t(), count: 4 + headers.count)
        vus[0].vtype = RD_KAFKA_VTYPE_TOPIC
        vus[0].u.cstr = UnsafePointer(cTopic)
        vus[1].vtype = RD_KAFKA_VTYPE_VALUE
        vus[1].u.mem.ptr = UnsafeMutableRawPointer(mutating: value.baseAddress)
        vus[1].u.mem.size = value.count
        vus[2].vtype = RD_KAFKA_VTYPE_MSGFLAGS
        vus[2].u.i = 0x2  // RD_KAFKA_MSG_F_COPY: librdkafka copies the payload and key
        var count = 3
        if let key {
            vus[count].vtype = RD_KAFKA_VTYPE_KEY
            vus[count].u.mem.ptr = UnsafeMutableRawPointer(mutating: key.baseAddress)
            vus[count].u.mem.size = key.count
            count += 1
        }
        for h in cHeaders {
            vus[count].vtype = RD_KAFKA_VTYPE_HEADER
            vus[count].u.header.name = UnsafePointer(h.name)
            vus[count].u.header.val = UnsafeRawPointer(h.value.baseAddress)
            vus[count].u.header.size = h.count
            count += 1
        }
        while true {
            let error = handle.withPointer { rk in
                vus.withUnsafeBufferPointer { rd_kafka_produceva(rk, $0.baseAddress, count) }
            }
            guard let failure = KafkaError.consume(error, "produce to \(topic)") else { return }
            guard failure.code == RD_KAFKA_RESP_ERR__QUEUE_FULL.rawValue else { throw failure }
            _ = handle.withPointer { rd_kafka_poll($0, 10) }
        }
    }

    /// Serves delivery reports without blocking; call it regularly while producing.
    public func poll() {
        _ = handle.withPointer { rd_kafka_poll($0, 0) }
    }

    /// Waits until every queued message is delivered or `timeoutMilliseconds` pass.
    /// - Throws: ``KafkaError`` when messages are still undelivered at the deadline.
    public func flush(timeoutMilliseconds: Int32) throws(KafkaError) {
        try handle.withPointer { rk throws(KafkaError) in
            try KafkaError.check(rd_kafka_flush(rk, timeoutMilliseconds), "flush")
        }
    }

    /// Messages the broker acknowledged or refused so far, and how many were refused.
    public var deliveries: (done: Int, failed: Int) {
        (handle.context.deliveries.load(ordering: .relaxed), handle.context.failedDeliveries.load(ordering: .relaxed))
    }
}
