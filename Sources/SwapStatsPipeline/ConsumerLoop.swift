import CoreMetrics
import Dispatch
import KafkaClient
import Logging
import SwapStatsCheckpoints
import SwapStatsCore
import Synchronization

/// The consumer thread: fetches batches, spots offset gaps (events lost to retention),
/// routes each partition's records to its shard with backpressure, and answers the group's
/// rebalances (restore on assignment, checkpoint on revocation).
///
/// `@unchecked Sendable` is sound: everything but the atomics is touched only on the
/// consumer thread (rebalance callbacks run on it, inside `consume`).
final class ConsumerLoop: KafkaRebalanceHandler, @unchecked Sendable {
    let configuration: PipelineConfiguration
    let shards: [Shard]
    let store: any CheckpointStore
    let deadLetters: KafkaProducer
    let logger: Logger
    let wallClock: @Sendable () -> Int64
    let metrics: PipelineMetrics
    /// Set once before the thread starts; cleared when it ends (breaks the handler cycle).
    var consumer: KafkaConsumer?
    let stopRequested = Atomic<Bool>(false)
    /// Assigned partitions restored and consuming.
    let ready = Atomic<Bool>(false)
    /// Checkpoints found unusable since start.
    let corruptCheckpoints = Atomic<Int>(0)

    private var pending: [RecordBatch]
    /// Next offset expected per owned partition (what its state has seen).
    private var expected: [Int32: Int64] = [:]
    private var lastReport: Int64 = 0
    private var lastErrorLog: Int64 = 0

    init(
        configuration: PipelineConfiguration, shards: [Shard], store: any CheckpointStore, deadLetters: KafkaProducer,
        logger: Logger, wallClock: @escaping @Sendable () -> Int64, metricsFactory: any MetricsFactory
    ) {
        self.configuration = configuration
        self.shards = shards
        self.store = store
        self.deadLetters = deadLetters
        self.logger = logger
        self.wallClock = wallClock
        self.metrics = PipelineMetrics(topic: configuration.topic, factory: metricsFactory)
        pending = shards.map { _ in RecordBatch(capacity: configuration.batchSize) }
    }

    private var topic: String { configuration.topic }
    private func shard(of partition: Int32) -> Int { Int(partition) % shards.count }

    /// The thread body: consumes until ``stopRequested``, then leaves the group, which
    /// revokes (and so checkpoints) every owned partition.
    func run() {
        guard let consumer else { return }
        defer { self.consumer = nil }
        do {
            try consumer.subscribe([topic])
        } catch {
            logger.critical("cannot subscribe to \(topic): \(error)")
            return
        }
        while !stopRequested.load(ordering: .relaxed) {
            do {
                try consumer.consume(maxMessages: configuration.batchSize, timeoutMilliseconds: 100) { route($0) }
            } catch {
                metrics.consumerErrors.increment()
                let now = wallClock()
                if now - lastErrorLog >= 5000 {
                    lastErrorLog = now
                    logger.warning("consumer: \(error)")
                }
            }
            dispatchAll()
            deadLetters.poll()
            let now = wallClock()
            if now - lastReport >= 1000 {
                lastReport = now
                report(now)
            }
        }
        dispatchAll()
        do { try consumer.close() } catch { logger.error("consumer close: \(error)") }
    }

    private func route(_ record: KafkaRecord) {
        let p = record.partition
        guard let next = expected[p] else { return }  // not ours (cannot happen with eager assignment)
        if record.offset < next { return }  // the state already holds it
        if record.offset > next {
            let lost = record.offset - next
            let s = shard(of: p)
            dispatch(s)
            shards[s].queue.pushControl(.loss(p, count: lost))
            metrics.lost(p, lost)
            logger.error(
                "partition lost \(lost) events to retention (offsets \(next)..<\(record.offset)): stats of its tokens are no longer exact",
                metadata: [LogKeys.topic: "\(topic)", LogKeys.partition: "\(p)"])
        }
        expected[p] = record.offset + 1
        let s = shard(of: p)
        pending[s].append(record)
        if pending[s].count >= configuration.batchSize { dispatch(s) }
    }

    private func dispatchAll() { for s in shards.indices { dispatch(s) } }

    /// Hands the shard its pending batch, applying `BACKPRESSURE`.
    private func dispatch(_ s: Int) {
        guard !pending[s].isEmpty else { return }
        let batch = pending[s]
        pending[s] = shards[s].reusableBatch() ?? RecordBatch(capacity: configuration.batchSize)
        let queue = shards[s].queue
        let capacity = configuration.queueCapacity
        switch configuration.backpressure {
        case .block:
            queue.push(.records(batch), waitingBelow: capacity)
        case .drop:
            if !queue.tryPush(.records(batch), below: capacity) { metrics.dropped.increment(by: batch.count) }
        case .buffer:
            if !queue.tryPush(.records(batch), below: capacity) {
                metrics.overflow.increment(by: batch.count)
                queue.push(.records(batch), waitingBelow: capacity * configuration.bufferFactor)
            }
        }
    }

    func partitionsAssigned(_ partitions: [TopicPartition]) -> [TopicPartition: StartOffset] {
        dispatchAll()
        var starts: [TopicPartition: StartOffset] = [:]
        for tp in partitions where tp.topic == topic {
            var (engine, checkpointer, lost, offset) = restore(tp.partition)
            if let restored = offset, let marks = try? consumer?.queryWatermarks(tp, timeoutMilliseconds: 5000),
                restored > marks.high
            {
                // The log is shorter than the state has seen: the topic was recreated (an
                // embedded Kafka restarted, say). Keep the state, which dedup protects, and read
                // the new log from its beginning.
                logger.warning(
                    "checkpoint offset \(restored) is past the log's end \(marks.high) (topic recreated?): keeping the state and consuming the log from offset \(marks.low)",
                    metadata: [LogKeys.partition: "\(tp.partition)"])
                metrics.offsetResets.increment()
                engine.nextOffset = marks.low
                offset = marks.low
            }
            expected[tp.partition] = offset ?? 0
            shards[shard(of: tp.partition)].queue.pushControl(
                .adopt(tp.partition, engine, checkpointer, lostEvents: lost, restoredOffset: offset))
            metrics.owned(tp.partition, true)
            starts[tp] = offset.map { .offset($0) } ?? .beginning
        }
        logger.info(
            "assigned partitions \(partitions.map { "\($0.partition)" }.joined(separator: ","))",
            metadata: [LogKeys.topic: "\(topic)"])
        ready.store(true, ordering: .relaxed)
        return starts
    }

    func partitionsRevoked(_ partitions: [TopicPartition]) {
        ready.store(false, ordering: .relaxed)
        dispatchAll()
        var waits: [DispatchSemaphore] = []
        for tp in partitions where tp.topic == topic {
            let done = DispatchSemaphore(value: 0)
            shards[shard(of: tp.partition)].queue.pushControl(.release(tp.partition, done))
            waits.append(done)
        }
        for w in waits { w.wait() }
        for tp in partitions where tp.topic == topic {
            expected.removeValue(forKey: tp.partition)
            metrics.owned(tp.partition, false)
        }
        logger.info(
            "revoked partitions \(partitions.map { "\($0.partition)" }.joined(separator: ",")) after checkpointing them",
            metadata: [LogKeys.topic: "\(topic)"])
    }

    /// The partition's state from its checkpoint (journaling), with the checkpointer to
    /// append to, or an empty one (consumed from the log's beginning) when there is none or
    /// it cannot be used (moved aside, and the partition rebuilt from the log).
    private func restore(_ p: Int32) -> (
        PartitionEngine, PartitionCheckpointer, lostEvents: Int64, offset: Int64?
    ) {
        let started = DispatchTime.now().uptimeNanoseconds
        do {
            let (checkpointer, restored) = try PartitionCheckpointer.restore(
                store: store, topic: topic, partition: p, configuration: configuration.engine)
            guard let engine = restored else { return (Self.fresh(configuration.engine), checkpointer, 0, nil) }
            let m = checkpointer.manifest
            if m.lostEvents > 0 {
                logger.warning(
                    "partition restored, but it lost \(m.lostEvents) events to retention earlier: not exact",
                    metadata: [LogKeys.partition: "\(p)"])
            }
            let milliseconds = (DispatchTime.now().uptimeNanoseconds - started) / 1_000_000
            logger.info(
                "partition restored from checkpoint at offset \(m.offset): base of \(m.baseBytes) bytes in \(m.basePieces.count) pieces and \(m.deltas.count) deltas of \(m.deltaBytes) bytes, in \(milliseconds) ms",
                metadata: [LogKeys.partition: "\(p)"])
            return (engine, checkpointer, m.lostEvents, m.offset)
        } catch {
            corruptCheckpoints.add(1, ordering: .relaxed)
            metrics.corrupt.increment()
            logger.error(
                "checkpoint not loaded (\(error)); moving it aside and rebuilding the partition from the log's beginning",
                metadata: [LogKeys.partition: "\(p)"])
            do { try store.quarantine(topic: topic, partition: p) } catch {
                logger.error("cannot move the checkpoint aside: \(error)", metadata: [LogKeys.partition: "\(p)"])
            }
            // A fresh checkpoint, claimed again now that the old one is out of the way.
            let claimed = try? PartitionCheckpointer.restore(
                store: store, topic: topic, partition: p, configuration: configuration.engine)
            let checkpointer =
                claimed?.checkpointer
                ?? PartitionCheckpointer(
                    store: store, topic: topic, partition: p, configuration: configuration.engine, epoch: 0)
            return (Self.fresh(configuration.engine), checkpointer, 0, nil)
        }
    }

    /// An empty partition state that journals its changes.
    private static func fresh(_ configuration: EngineConfiguration) -> PartitionEngine {
        var engine = PartitionEngine(configuration: configuration)
        engine.startJournal()
        return engine
    }

    /// Once a second: lag, watermark delay, checkpoint age, totals, queue depths.
    private func report(_ now: Int64) {
        var tokens = 0
        var bytes = 0
        for (i, shard) in shards.enumerated() {
            metrics.queueDepth(shard: i, shard.queue.depth)
            for s in shard.status.withLock({ Array($0.values) }) {
                tokens += s.tokens
                bytes += s.stateBytes
                if let wm = consumer?.cachedWatermarks(TopicPartition(topic: topic, partition: s.partition)) {
                    metrics.lag(s.partition, max(0, wm.high - s.nextOffset))
                }
                if s.watermark != .min {
                    metrics.watermarkDelay(s.partition, seconds: Double(now - s.watermark) / 1000)
                }
                metrics.checkpointAge(s.partition, seconds: Double(now - s.lastCheckpointWall) / 1000)
            }
        }
        metrics.tokens.record(tokens)
        metrics.stateBytes.record(bytes)
    }
}
