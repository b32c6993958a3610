import Foundation
public import KafkaClient
public import Logging
import ServiceLifecycle

/// The embedded Kafka: librdkafka's mock cluster on loopback with the swaps topic and its
/// dead-letter topic created.
public enum EmbeddedKafka {
    /// Starts the cluster and creates `topic` (with `partitions`) and `topic.dlq`.
    /// - Throws: ``KafkaError`` when the cluster cannot start.
    public static func start(topic: String, partitions: Int, brokers: Int = 1, logger: Logger) throws(KafkaError)
        -> KafkaMockCluster
    {
        let cluster = try KafkaMockCluster(brokers: brokers, logger: logger)
        try cluster.createTopic(topic, partitions: partitions)
        try cluster.createTopic("\(topic).dlq", partitions: 1)
        logger.notice(
            "embedded Kafka (librdkafka mock cluster; about 5 MB retained per partition) at \(cluster.bootstrapServers)",
            metadata: ["kafka.topic": "\(topic)", "kafka.partitions": "\(partitions)"])
        // A stable line on stdout for scripts and tests: `kafka bootstrap=<host:port,...>`.
        FileHandle.standardOutput.write(Data("kafka bootstrap=\(cluster.bootstrapServers)\n".utf8))
        return cluster
    }
}

/// Stands for the embedded Kafka in the service group until graceful shutdown (listed
/// first, so it ends last). The caller keeps the cluster itself alive longer still.
struct EmbeddedKafkaService: Service {
    func run() async throws {
        try? await gracefulShutdown()
    }
}
