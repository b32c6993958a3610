import CoreMetrics
import Dispatch
import KafkaClient
import Logging
import SwapStatsCore
import Synchronization

/// Writes a shard's periodic checkpoints on a thread of its own, so encoding and fsync
/// never stall ingest. The shard hands over a copy of the engine: copy-on-write makes the
/// copy O(1), and the shard pays only for the storage it mutates before the write is done.
/// Writes of one shard run in order; ``drain()`` waits for all of them (before a
/// partition is released and its final checkpoint written on the shard thread).
final class CheckpointWriter: Sendable {
    private let queue: DispatchQueue
    private let context: ShardContext
    private let metrics: ShardMetrics
    /// Partitions whose last write failed (the shard marks them dirty again).
    private let failed = Mutex<Set<Int32>>([])
    /// Durable offsets (and their wall time) written since the shard last asked.
    private let written = Mutex<[Int32: (offset: Int64, wall: Int64)]>([:])

    init(shard: Int, context: ShardContext, metrics: ShardMetrics) {
        queue = DispatchQueue(label: "swapstats.checkpoints.\(shard)")
        self.context = context
        self.metrics = metrics
    }

    /// Queues the checkpoint of partition `p` as of `engine`.
    func write(_ p: Int32, engine: PartitionEngine, lostEvents: Int64, wall: Int64) {
        queue.async { [self] in
            if save(p, engine: engine, lostEvents: lostEvents) {
                written.withLock { $0[p] = (engine.nextOffset, wall) }
            } else {
                _ = failed.withLock { $0.insert(p) }
            }
        }
    }

    /// Writes now, on the caller's thread, after every queued write; true when stored.
    func writeNow(_ p: Int32, engine: PartitionEngine, lostEvents: Int64) -> Bool {
        drain()
        return save(p, engine: engine, lostEvents: lostEvents)
    }

    /// Waits until every queued write is done.
    func drain() { queue.sync {} }

    func takeFailures() -> Set<Int32> {
        failed.withLock { f in
            defer { f = [] }; return f
        }
    }

    func takeWritten() -> [Int32: (offset: Int64, wall: Int64)] {
        written.withLock { w in
            defer { w = [:] }; return w
        }
    }

    /// Encodes and stores the checkpoint, then commits its offset for lag tools.
    private func save(_ p: Int32, engine: PartitionEngine, lostEvents: Int64) -> Bool {
        let topic = context.configuration.topic
        let started = DispatchTime.now().uptimeNanoseconds
        let bytes = PartitionCheckpoint(engine: engine, lostEvents: lostEvents).encoded()
        do {
            try context.store.save(bytes, topic: topic, partition: p)
        } catch {
            metrics.checkpointFailures.increment()
            context.logger.error("checkpoint failed: \(error)", metadata: [LogKeys.partition: "\(p)"])
            return false
        }
        metrics.checkpointDuration.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - started))
        context.commit([TopicPartition(topic: topic, partition: p): engine.nextOffset])
        return true
    }
}
