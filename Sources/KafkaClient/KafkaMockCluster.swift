internal import CRdKafka
public import Logging

/// librdkafka's built-in mock cluster: real Kafka wire protocol on loopback ports, used as
/// the embedded Kafka and as the broker in tests.
///
/// - Important: retention is about 5 MB per partition (fixed in librdkafka 2.0.2); older
///   messages are deleted.
///
/// `@unchecked Sendable` is sound: the mock cluster runs on its own librdkafka thread and
/// its API is thread-safe.
public final class KafkaMockCluster: @unchecked Sendable {
    /// The throw-away handle that hosts the cluster.
    private let host: RDKafkaHandle
    private let cluster: OpaquePointer

    /// Starts `brokers` mock brokers on 127.0.0.1.
    /// - Throws: ``KafkaError`` when the cluster cannot start.
    public init(brokers: Int = 1, logger: Logger) throws(KafkaError) {
        host = try RDKafkaHandle(.producer, properties: ["log_level": "3"], logger: logger)
        guard let c = host.withPointer({ rd_kafka_mock_cluster_new($0, Int32(brokers)) }) else {
            throw KafkaError(message: "rd_kafka_mock_cluster_new failed")
        }
        cluster = c
    }

    /// `host:port,…` of the brokers, for `bootstrap.servers` of any Kafka client.
    public var bootstrapServers: String { String(cString: rd_kafka_mock_cluster_bootstraps(cluster)) }

    /// Creates `topic` with `partitions` partitions.
    public func createTopic(_ topic: String, partitions: Int, replicationFactor: Int = 1) throws(KafkaError) {
        try KafkaError.check(
            rd_kafka_mock_topic_create(cluster, topic, Int32(partitions), Int32(replicationFactor)),
            "create topic \(topic)")
    }

    /// Makes `broker` (1-based id) the leader of a partition.
    public func setLeader(topic: String, partition: Int32, broker: Int32) throws(KafkaError) {
        try KafkaError.check(rd_kafka_mock_partition_set_leader(cluster, topic, partition, broker), "set leader")
    }

    /// Takes `broker` (1-based id) down: its connections close and it refuses new ones.
    public func setBrokerDown(_ broker: Int32) throws(KafkaError) {
        try KafkaError.check(rd_kafka_mock_broker_set_down(cluster, broker), "broker \(broker) down")
    }

    /// Brings `broker` back up.
    public func setBrokerUp(_ broker: Int32) throws(KafkaError) {
        try KafkaError.check(rd_kafka_mock_broker_set_up(cluster, broker), "broker \(broker) up")
    }

    deinit {
        rd_kafka_mock_cluster_destroy(cluster)
    }
}
