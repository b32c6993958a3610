import CoreMetrics
import Foundation
import KafkaClient
public import Logging
import Prometheus
import ServiceLifecycle
import SwapStatsHTTP
import SwapStatsPipeline
import UnixSignals

/// Composes `swapstats serve`: embedded Kafka when no brokers are configured, the ingest
/// pipeline with its checkpoint store, and graceful shutdown on SIGTERM/SIGINT.
public enum Server {
    /// Runs until SIGTERM or SIGINT.
    /// - Throws: start-up failures (Kafka configuration, state directory).
    public static func run(_ settings: ServeSettings, logger: Logger) async throws {
        // Only the App knows the metrics backend: everything else records through swift-metrics.
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        var services: [any Service] = []
        let brokers: String
        if let configured = settings.brokers {
            brokers = configured
        } else {
            let cluster = try EmbeddedKafka.start(
                topic: settings.topic, partitions: settings.embeddedPartitions, logger: logger)
            services.append(EmbeddedKafkaService(cluster: cluster))
            brokers = cluster.bootstrapServers
        }
        let store = try DirectoryCheckpointStore(directory: settings.stateDirectory)
        let pipeline = try IngestPipeline(
            configuration: settings.pipeline(brokers: brokers), store: store, logger: logger)
        services.append(PipelineService(pipeline: pipeline, logger: logger, statusInterval: settings.statusInterval))
        let router = Router(source: PipelineQueries(pipeline: pipeline), metrics: { registry.emitToBuffer() })
        let http = HTTPServer(router: router, logger: logger)
        services.append(HTTPService(server: http, host: settings.httpHost, port: settings.httpPort, logger: logger))
        logger.notice(
            "serving",
            metadata: [
                "kafka.brokers": "\(brokers)", "kafka.topic": "\(settings.topic)", "kafka.group": "\(settings.group)",
                "state.dir": "\(settings.stateDirectory)", "shards": "\(settings.shards)",
            ])
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    /// Runs only the embedded Kafka until SIGTERM or SIGINT (`swapstats kafka`).
    public static func runKafka(topic: String, partitions: Int, brokers: Int, logger: Logger) async throws {
        let cluster = try EmbeddedKafka.start(topic: topic, partitions: partitions, brokers: brokers, logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [EmbeddedKafkaService(cluster: cluster)], gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }
}
