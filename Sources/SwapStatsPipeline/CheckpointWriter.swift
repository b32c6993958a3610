import CoreMetrics
import Dispatch
import KafkaClient
import Logging
import SwapStatsCheckpoints
import SwapStatsCore
import Synchronization

/// Stores a shard's checkpoints on a thread of its own, so encoding, fsync and compaction
/// never stall ingest. The shard hands over deltas (``EngineDelta``, captured in time
/// proportional to the change); this writer encodes each, stores it with the manifest that
/// names it, commits the offset for lag tools, and compacts a partition's deltas into a new
/// base when they outgrow it.
///
/// Deltas of a partition are stored in order: one the store refused stays queued and goes
/// first next time (``takeFailures()`` tells the shard to try again). A synchronous write
/// (a partition's release) or ``drain()`` stops a running compaction between two pieces.
final class CheckpointWriter: Sendable {
    private let queue: DispatchQueue
    private let context: ShardContext
    private let metrics: ShardMetrics
    /// Per partition: its checkpoint and the deltas not stored yet. Touched on `queue` only.
    private let partitions = Mutex<[Int32: Partition]>([:])
    /// Callers waiting for the queue; a compaction stops when it sees one.
    private let waiting = Atomic<Int>(0)
    /// Partitions whose last write failed (the shard marks them dirty again).
    private let failed = Mutex<Set<Int32>>([])
    /// Durable offsets (and their wall time) written since the shard last asked.
    private let written = Mutex<[Int32: (offset: Int64, wall: Int64)]>([:])

    private struct Partition {
        var checkpointer: PartitionCheckpointer
        var pending: [(delta: EngineDelta, lostEvents: Int64)] = []
    }

    init(shard: Int, context: ShardContext, metrics: ShardMetrics) {
        queue = DispatchQueue(label: "swapstats.checkpoints.\(shard)")
        self.context = context
        self.metrics = metrics
    }

    /// Takes charge of partition `p`'s checkpoint.
    func adopt(_ p: Int32, _ checkpointer: PartitionCheckpointer) {
        queue.async { [self] in partitions.withLock { $0[p] = Partition(checkpointer: checkpointer) } }
    }

    /// Queues a delta of partition `p`; it is stored after any earlier one.
    func write(_ p: Int32, delta: EngineDelta, lostEvents: Int64, wall: Int64) {
        queue.async { [self] in
            if store(p, delta: delta, lostEvents: lostEvents, wall: wall) {
                compactIfDue(p)
            } else {
                _ = failed.withLock { $0.insert(p) }
            }
        }
    }

    /// Stores a final delta now, on the caller's thread, after every queued write, and
    /// forgets the partition; true when everything of it was stored.
    func writeNow(_ p: Int32, delta: EngineDelta, lostEvents: Int64, wall: Int64) -> Bool {
        waiting.add(1, ordering: .relaxed)
        defer { waiting.subtract(1, ordering: .relaxed) }
        return queue.sync {
            defer { _ = partitions.withLock { $0.removeValue(forKey: p) } }
            return store(p, delta: delta, lostEvents: lostEvents, wall: wall)
        }
    }

    /// Forgets partition `p` after every queued write (a release with nothing new to store).
    func forget(_ p: Int32) {
        waiting.add(1, ordering: .relaxed)
        defer { waiting.subtract(1, ordering: .relaxed) }
        queue.sync { _ = partitions.withLock { $0.removeValue(forKey: p) } }
    }

    /// Waits until every queued write is done (a compaction under way stops early).
    func drain() {
        waiting.add(1, ordering: .relaxed)
        defer { waiting.subtract(1, ordering: .relaxed) }
        queue.sync {}
    }

    func takeFailures() -> Set<Int32> {
        failed.withLock { f in
            defer { f = [] }
            return f
        }
    }

    func takeWritten() -> [Int32: (offset: Int64, wall: Int64)] {
        written.withLock { w in
            defer { w = [:] }
            return w
        }
    }

    /// Stores every pending delta of `p` and then `delta`, in order; commits the offset.
    private func store(_ p: Int32, delta: EngineDelta, lostEvents: Int64, wall: Int64) -> Bool {
        guard var partition = partitions.withLock({ $0[p] }) else { return false }
        partitions.withLock { $0[p] = nil }
        defer { partitions.withLock { $0[p] = partition } }
        partition.pending.append((delta, lostEvents))
        let topic = context.configuration.topic
        let started = DispatchTime.now().uptimeNanoseconds
        while let (next, lost) = partition.pending.first {
            do {
                let bytes = try partition.checkpointer.append(next, lostEvents: lost)
                metrics.checkpointBytes.increment(by: bytes)
                partition.pending.removeFirst()
            } catch {
                metrics.checkpointFailures.increment()
                if case .fenced = error {
                    // Another instance owns the partition now: nothing of it is ours to store.
                    partition.pending.removeAll()
                    context.logger.warning("checkpoint fenced: \(error)", metadata: [LogKeys.partition: "\(p)"])
                } else {
                    context.logger.error("checkpoint failed: \(error)", metadata: [LogKeys.partition: "\(p)"])
                }
                return false
            }
        }
        metrics.checkpointDuration.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - started))
        let offset = partition.checkpointer.manifest.offset
        written.withLock { $0[p] = (offset, wall) }
        context.commit([TopicPartition(topic: topic, partition: p): offset])
        return true
    }

    /// Compacts `p`'s deltas into a new base when they outgrew it; stops (keeping the old
    /// base and deltas) when a caller starts waiting for this queue.
    private func compactIfDue(_ p: Int32) {
        guard var partition = partitions.withLock({ $0[p] }), partition.checkpointer.wantsCompaction else { return }
        partitions.withLock { $0[p] = nil }
        defer { partitions.withLock { $0[p] = partition } }
        let started = DispatchTime.now().uptimeNanoseconds
        do {
            guard let bytes = try partition.checkpointer.compact(shouldStop: { waiting.load(ordering: .relaxed) > 0 })
            else { return }
            metrics.compactions.increment()
            metrics.compactedBytes.increment(by: bytes)
            metrics.compactionDuration.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - started))
        } catch {
            metrics.checkpointFailures.increment()
            context.logger.error("checkpoint compaction failed: \(error)", metadata: [LogKeys.partition: "\(p)"])
        }
    }
}
