public import CoreMetrics
import Dispatch
import Foundation
public import KafkaClient
public import Logging
public import SwapStatsCheckpoints
public import SwapStatsCore
public import SwapStatsPublishing
import Synchronization

/// Kafka in, engine state out: one consumer thread and one thread per shard, each shard the
/// only owner of its partitions' ``PartitionEngine``s. Checkpoints (state plus offset) go to
/// a ``CheckpointStore`` every `CHECKPOINT_INTERVAL`, on revocation and on ``stop()``; an
/// assigned partition resumes from its checkpoint, so every event counts exactly once.
public final class IngestPipeline: Sendable {
    public let configuration: PipelineConfiguration
    private let loop: ConsumerLoop
    private let shards: [Shard]
    private let deadLetters: KafkaProducer
    private let logger: Logger
    private let consumerDone = DispatchSemaphore(value: 0)
    private let state = Mutex<(started: Bool, stopped: Bool)>((false, false))

    /// Creates the consumer, the dead-letter producer and the shards (not yet running).
    /// - Parameters:
    ///   - wallClock: milliseconds since the Unix epoch (tests inject their own).
    ///   - metricsFactory: where the `swapstats_*` metrics go (default: the bootstrapped
    ///     `MetricsSystem`).
    ///   - sink: where shards publish each token's encoded stats when they change (nil:
    ///     nowhere; questions go through ``ask(partition:_:)``).
    /// - Throws: ``KafkaError`` when librdkafka refuses the configuration.
    public init(
        configuration: PipelineConfiguration, store: any CheckpointStore, logger: Logger,
        wallClock: @escaping @Sendable () -> Int64 = IngestPipeline.systemMillis,
        metricsFactory: (any MetricsFactory)? = nil, sink: (any SnapshotSink)? = nil
    ) throws(KafkaError) {
        let factory = metricsFactory ?? MetricsSystem.factory
        self.configuration = configuration
        self.logger = logger
        deadLetters = try KafkaProducer(properties: configuration.producerProperties, logger: logger)
        let committer = Committer(logger: logger)
        let context = ShardContext(
            configuration: configuration, store: store, deadLetters: deadLetters,
            commit: { committer.commit($0) }, wallClock: wallClock, logger: logger,
            metricsFactory: factory, sink: sink)
        shards = (0..<configuration.shards).map { Shard(index: $0, context: context) }
        loop = ConsumerLoop(
            configuration: configuration, shards: shards, store: store, deadLetters: deadLetters, logger: logger,
            wallClock: wallClock, metricsFactory: factory)
        let consumer = try KafkaConsumer(
            properties: configuration.consumerProperties, rebalance: loop, logger: logger,
            maxBatch: configuration.batchSize)
        loop.consumer = consumer
        committer.consumer.withLock { $0 = consumer }
    }

    /// Milliseconds since the Unix epoch.
    @Sendable public static func systemMillis() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }

    /// Starts the consumer and shard threads.
    public func start() {
        guard
            state.withLock({ s in
                defer { s.started = true }
                return !s.started
            })
        else { return }
        for shard in shards {
            let t = Thread { shard.run() }
            t.name = "swapstats-shard-\(shard.index)"
            t.start()
        }
        let loop = self.loop
        let done = consumerDone
        let t = Thread {
            loop.run()
            done.signal()
        }
        t.name = "swapstats-consumer"
        t.start()
    }

    /// Graceful stop: leaves the group (checkpointing and committing every owned partition),
    /// stops the shards and flushes dead letters. Blocks until done.
    public func stop() {
        let (started, first) = state.withLock { s in
            defer { s.stopped = true }
            return (s.started, !s.stopped)
        }
        guard started && first else { return }
        loop.stopRequested.store(true, ordering: .relaxed)
        consumerDone.wait()
        for shard in shards {
            let done = DispatchSemaphore(value: 0)
            shard.queue.pushControl(.stop(done))
            done.wait()
        }
        do { try deadLetters.flush(timeoutMilliseconds: 10_000) } catch {
            logger.error("dead letters not all delivered at shutdown: \(error)")
        }
    }

    /// Assigned partitions are restored and consuming.
    public var isReady: Bool { loop.ready.load(ordering: .relaxed) }

    /// Checkpoints found unusable (and moved aside) since start.
    public var corruptCheckpoints: Int { loop.corruptCheckpoints.load(ordering: .relaxed) }

    /// The owned partitions as their shards last reported them (refreshed after every batch, and every 100 ms).
    public var partitions: [PartitionStatus] {
        shards.flatMap { $0.status.withLock { Array($0.values) } }.sorted { $0.partition < $1.partition }
    }

    /// Asks partition `partition`'s engine only, on its shard's thread, ahead of queued
    /// batches; nil when this instance does not own it (or the answer is nil).
    public func ask<T: Sendable>(
        partition: Int32, _ question: @escaping @Sendable (PartitionEngine) -> T?
    ) async -> T? {
        let shard = shards[Int(partition) % shards.count]
        let answer = Mutex<T?>(nil)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let visit: @Sendable (Int32, PartitionEngine) -> Void = { p, engine in
                if p == partition { answer.withLock { $0 = question(engine) } }
            }
            shard.queue.pushUrgent(.inspect(visit, { continuation.resume() }))
        }
        return answer.withLock { $0 }
    }
}

/// Commits offsets for lag tools on behalf of the shards (the consumer is created after the
/// shards that need it, hence the lock).
private final class Committer: Sendable {
    let consumer = Mutex<KafkaConsumer?>(nil)
    let logger: Logger

    init(logger: Logger) { self.logger = logger }

    func commit(_ offsets: [TopicPartition: Int64]) {
        guard let c = consumer.withLock({ $0 }) else { return }
        do { try c.commit(offsets) } catch { logger.debug("offset commit: \(error)") }
    }
}
