internal import CRdKafka
import Logging

/// Decides what happens to partitions as the consumer group moves them.
///
/// - Important: both methods run on the thread that is inside ``KafkaConsumer/consume(maxMessages:timeoutMilliseconds:_:)``
///   (or ``KafkaConsumer/close()``). librdkafka waits for them: revocation must return only
///   once the caller is done with the partitions (state checkpointed), so the next owner
///   starts from where this one stopped.
public protocol KafkaRebalanceHandler: Sendable {
    /// Partitions were assigned to this member; returns where to start each of them.
    func partitionsAssigned(_ partitions: [TopicPartition]) -> [TopicPartition: StartOffset]
    /// Partitions are being taken away (rebalance or close).
    func partitionsRevoked(_ partitions: [TopicPartition])
}

/// Offsets librdkafka defines as macros Swift does not import.
enum RDKafkaOffset {
    static let beginning: Int64 = -2
    static let stored: Int64 = -1000
    static let invalid: Int64 = -1001
}

/// Reads a `rd_kafka_topic_partition_list_t` into Swift values.
func topicPartitions(_ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> [(TopicPartition, Int64)] {
    (0..<Int(list.pointee.cnt)).map { i in
        let e = list.pointee.elems[i]
        return (TopicPartition(topic: String(cString: e.topic), partition: e.partition), e.offset)
    }
}

/// Builds a list (freed by the caller with `rd_kafka_topic_partition_list_destroy`).
func makeList(_ entries: [(TopicPartition, Int64)]) -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t> {
    let list = rd_kafka_topic_partition_list_new(Int32(max(entries.count, 1)))!
    for (tp, offset) in entries {
        let e = rd_kafka_topic_partition_list_add(list, tp.topic, tp.partition)!
        e.pointee.offset = offset
    }
    return list
}

/// librdkafka's rebalance callback: asks the handler, then (un)assigns as librdkafka requires.
func rebalanceCallback(
    _ rk: OpaquePointer?, _ err: rd_kafka_resp_err_t,
    _ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, _ opaque: UnsafeMutableRawPointer?
) {
    guard let rk, let partitions, let opaque else { return }
    let context = Unmanaged<CallbackContext>.fromOpaque(opaque).takeUnretainedValue()
    let cooperative = String(cString: rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE"
    let entries = topicPartitions(partitions)
    switch err {
    case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
        let starts = context.rebalance?.partitionsAssigned(entries.map(\.0)) ?? [:]
        for i in 0..<Int(partitions.pointee.cnt) {
            let tp = entries[i].0
            partitions.pointee.elems[i].offset =
                switch starts[tp] ?? .committed {
                case .beginning: RDKafkaOffset.beginning
                case .committed: RDKafkaOffset.stored
                case .offset(let o): o
                }
        }
        if cooperative {
            if let failure = KafkaError.consume(rd_kafka_incremental_assign(rk, partitions), "incremental assign") {
                context.logger.error("\(failure)")
            }
        } else {
            do { try KafkaError.check(rd_kafka_assign(rk, partitions), "assign") } catch {
                context.logger.error("\(error)")
            }
        }
    case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
        context.rebalance?.partitionsRevoked(entries.map(\.0))
        if cooperative {
            if let failure = KafkaError.consume(rd_kafka_incremental_unassign(rk, partitions), "incremental unassign") {
                context.logger.error("\(failure)")
            }
        } else {
            rd_kafka_assign(rk, nil)
        }
    default:
        context.logger.error("kafka rebalance error: \(String(cString: rd_kafka_err2str(err)))")
        rd_kafka_assign(rk, nil)
    }
}
