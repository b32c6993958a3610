import CoreMetrics
import Foundation
import KafkaClient
public import Logging
import Prometheus
import ServiceLifecycle
import SwapStatsCheckpoints
import SwapStatsCore
import SwapStatsHTTP
import SwapStatsPipeline
import SwapStatsRedis
import UnixSignals

/// Composes `swapstats serve`: embedded Kafka when no brokers are configured, the ingest
/// pipeline with its checkpoint store, and graceful shutdown on SIGTERM/SIGINT.
public enum Server {
    /// Runs until SIGTERM or SIGINT.
    /// - Throws: start-up failures (Kafka configuration, state directory).
    /// - Parameter demo: also produce this generated traffic into the (embedded) Kafka and
    ///   print where to look (`swapstats demo`).
    public static func run(_ settings: ServeSettings, logger: Logger, demo: TrafficTools.ProduceOptions? = nil)
        async throws
    {
        // Only the App knows the metrics backend: everything else records through swift-metrics.
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // Ingest → WebSocket send is a few milliseconds: buckets from 0.25 ms to 1 s.
        factory.durationHistogramBuckets["swapstats_ingest_to_send_seconds"] = [
            0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
        ].map { Duration.milliseconds($0 * 1000) }
        MetricsSystem.bootstrap(factory)
        var services: [any Service] = []
        let brokers: String
        var cluster: KafkaMockCluster?
        if let configured = settings.brokers {
            brokers = configured
        } else {
            cluster = try EmbeddedKafka.start(
                topic: settings.topic, partitions: settings.embeddedPartitions, logger: logger)
            services.append(EmbeddedKafkaService())
            brokers = cluster!.bootstrapServers
        }
        // The embedded broker must outlive every client handle (a librdkafka handle whose
        // broker vanished first can hang in its destroy).
        defer { withExtendedLifetime(cluster) {} }
        let store: any CheckpointStore =
            if let url = settings.redis, settings.checkpointsInRedis {
                RedisCheckpointStore(url: url)
            } else {
                try DirectoryCheckpointStore(directory: settings.stateDirectory)
            }
        // Shards publish every changed token's encoded stats to the board; HTTP and
        // WebSocket serve from it.
        // With REDIS_URL: other instances' tokens are read from Redis (snapshots, rankings)
        // and followed through its pub/sub for WebSocket subscribers here.
        let reader = settings.redis.map { RedisReader(url: $0) }
        let boardRef = BoardRef()
        let subscriber = settings.redis.map {
            RedisSubscriber(url: $0, logger: logger) { token, body in
                boardRef.board?.remoteUpdate(token: token, body: body)
            }
        }
        let remote = bothOrNil(subscriber, reader).map { RedisRemoteTokens(subscriber: $0, reader: $1) }
        let board = StatsBoard(rankingLifetime: settings.publishInterval, remote: remote)
        boardRef.board = board
        // With REDIS_URL every update is also mirrored into Redis (contract §5).
        let mirror = settings.redis.map {
            RedisSnapshotPublisher(
                url: $0, topic: settings.topic, local: board, windows: settings.engine.windows.map(\.name),
                ttlMillis: settings.redisSnapshotTTL, refreshMillis: settings.redisRefreshInterval, logger: logger)
        }
        let pipeline = try IngestPipeline(
            configuration: settings.pipeline(brokers: brokers), store: store, logger: logger, sink: mirror ?? board)
        // Stopped in reverse order: HTTP (WebSocket clients get 1001), the pipeline (final
        // checkpoints and publications), then the Redis threads (the mirror writes what the
        // pipeline published last), then the embedded Kafka.
        if let mirror { services.append(ThreadService(start: mirror.start, stop: mirror.stop)) }
        if let subscriber { services.append(ThreadService(start: subscriber.start, stop: subscriber.stop)) }
        services.append(PipelineService(pipeline: pipeline, logger: logger, statusInterval: settings.statusInterval))
        let router = Router(
            source: PipelineQueries(
                pipeline: pipeline, board: board, remote: reader),
            metrics: { MetricHelp.adding(to: registry.emitToBuffer()) },
            apiKeys: settings.apiKeys)
        let http = HTTPServer(
            router: router, logger: logger, limits: settings.httpLimits,
            threads: max(1, ProcessInfo.processInfo.activeProcessorCount / 2), board: board)
        if let demo {
            services.append(DemoTrafficService(brokers: brokers, options: demo, logger: logger))
        }
        let banner: @Sendable (String) -> Void = { address in
            guard demo != nil else { return }
            let base = "http://\(address.hasPrefix("0.0.0.0:") ? "127.0.0.1:" + address.dropFirst(8) : address[...])"
            let text = """

                swapstats demo: live swaps are flowing into the embedded Kafka (\(brokers)).
                  top tokens:   curl '\(base)/tokens/top?window=5m&by=volumeUsd&limit=5'
                  one token:    curl "\(base)/tokens/$(curl -s '\(base)/tokens/top?limit=1' | sed 's/.*"token":"\\([^"]*\\)".*/\\1/')/stats"
                  over HTTP/2:  curl --http2-prior-knowledge '\(base)/tokens/top'
                  WebSocket:    python3 -m websockets "\(base.replacingOccurrences(of: "http://", with: "ws://"))/tokens/$(curl -s '\(base)/tokens/top?limit=1' | sed 's/.*"token":"\\([^"]*\\)".*/\\1/')/ws?trades=1"
                                (pip install websockets; or websocat with the same URL)
                  metrics:      curl '\(base)/metrics'
                  API:          \(base)/openapi.json
                Ctrl-C stops it.

                """
            FileHandle.standardOutput.write(Data(text.utf8))
        }
        services.append(
            HTTPService(
                server: http, host: settings.httpHost, port: settings.httpPort, logger: logger, onListening: banner))
        logger.notice(
            "serving",
            metadata: [
                "kafka.brokers": "\(brokers)", "kafka.topic": "\(settings.topic)", "kafka.group": "\(settings.group)",
                "state.dir": "\(settings.stateDirectory)", "shards": "\(settings.shards)",
            ])
        try await runGroup(services, logger: logger)
    }

    /// Runs the services until a signal; returns after every one of them (and the group)
    /// is gone, so their Kafka handles are destroyed before the caller's broker.
    private static func runGroup(_ services: [any Service], logger: Logger) async throws {
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    /// Runs only the embedded Kafka until SIGTERM or SIGINT (`swapstats kafka`).
    public static func runKafka(topic: String, partitions: Int, brokers: Int, logger: Logger) async throws {
        let cluster = try EmbeddedKafka.start(topic: topic, partitions: partitions, brokers: brokers, logger: logger)
        defer { withExtendedLifetime(cluster) {} }
        try await runGroup([EmbeddedKafkaService()], logger: logger)
    }
}
