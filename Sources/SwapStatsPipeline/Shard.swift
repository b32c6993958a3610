import CoreMetrics
import Dispatch
import Foundation
import KafkaClient
import Logging
import Metrics
import SwapStatsCheckpoints
import SwapStatsCore
import SwapStatsPublishing
import Synchronization

/// Work for a shard, in the order the consumer thread saw it.
enum ShardWork {
    case records(RecordBatch)
    /// Take ownership of a partition, with its restored (or empty) state, journaling, and
    /// its checkpoint.
    case adopt(Int32, PartitionEngine, PartitionCheckpointer, lostEvents: Int64, restoredOffset: Int64?)
    /// The log had no longer the next `count` events of the partition.
    case loss(Int32, count: Int64)
    /// Checkpoint and drop a partition, then signal.
    case release(Int32, DispatchSemaphore)
    /// Run a read-only visit of every owned partition on the shard thread, then `done`.
    case inspect(@Sendable (Int32, PartitionEngine) -> Void, @Sendable () -> Void)
    case stop(DispatchSemaphore)

    var isData: Bool { if case .records = self { true } else { false } }
}

/// What every shard shares (all of it thread-safe or immutable).
struct ShardContext: Sendable {
    let configuration: PipelineConfiguration
    let store: any CheckpointStore
    let deadLetters: KafkaProducer
    let commit: @Sendable ([TopicPartition: Int64]) -> Void
    let wallClock: @Sendable () -> Int64
    let logger: Logger
    let metricsFactory: any MetricsFactory
    /// Where changed tokens' stats are published (nil: nowhere).
    let sink: (any SnapshotSink)?
}

/// One thread that alone owns the engines of its partitions. It applies record batches,
/// ticks the engines (idle flush, wall clock), writes checkpoints, and publishes a status
/// after every batch and tick.
///
/// `@unchecked Sendable` is sound: `slots` is touched only on the shard's own thread; the
/// queue and status are locked.
final class Shard: @unchecked Sendable {
    let index: Int
    let queue = WorkQueue<ShardWork>()
    let status = Mutex<[Int32: PartitionStatus]>([:])
    /// Applied batches, emptied, for the consumer thread to refill: batch storage is
    /// allocated once, not per batch (fresh megabyte arrays cost page faults).
    private let recycled = Mutex<[RecordBatch]>([])
    private let context: ShardContext
    private let metrics: ShardMetrics
    private let decoder = EventDecoder()
    private var slots: [Int32: Slot] = [:]
    private var lastTick: Int64 = 0
    private var lastBytesRefresh: Int64 = 0
    private var publisher: ShardPublisher?
    private let writer: CheckpointWriter

    private struct Slot {
        var engine: PartitionEngine
        var lostEvents: Int64
        var counters: IngestCounters
        var invalid = 0
        var checkpointedOffset: Int64?
        var lastCheckpointWall: Int64
        var dirty = false
        var stateBytes = 0
    }

    init(index: Int, context: ShardContext) {
        self.index = index
        self.context = context
        metrics = ShardMetrics(factory: context.metricsFactory)
        writer = CheckpointWriter(shard: index, context: context, metrics: metrics)
        publisher = context.sink.map {
            ShardPublisher(sink: $0, minInterval: UInt64(context.configuration.publishInterval) * 1_000_000)
        }
    }

    private var topic: String { context.configuration.topic }

    /// The thread body: runs until `.stop`.
    func run() {
        while true {
            let now = DispatchTime.now().uptimeNanoseconds
            let wait = min(50_000_000, publisher?.nextDue(now: now) ?? .max)
            var work = queue.pop(timeout: Double(wait) / 1e9, isData: \.isData)
            if case .records(var batch)? = work {
                work = nil  // the batch's storage is now referenced once: clearing it copies nothing
                apply(batch)
                batch.clear()
                recycled.withLock { if $0.count < 4 { $0.append(batch) } }
            }
            switch work {
            case .records?: break
            case .adopt(let p, let engine, let checkpointer, let lost, let restored)?:
                writer.adopt(p, checkpointer)
                adopt(p, engine, lostEvents: lost, restoredOffset: restored)
            case .loss(let p, let count)?: slots[p]?.lostEvents += count
            case .release(let p, let done)?:
                release(p)
                done.signal()
            case .inspect(let visit, let done)?:
                for (p, slot) in slots { visit(p, slot.engine) }
                done()
            case .stop(let done)?:
                writer.drain()
                done.signal()
                return
            case nil: break
            }
            let wall = context.wallClock()
            if wall - lastTick >= 100 || wall < lastTick { tick(wall) }
            if publisher != nil { publishDue() }
        }
    }

    /// Sends the coalesced updates whose interval ended, and what batches and ticks collected.
    private func publishDue() {
        let now = DispatchTime.now().uptimeNanoseconds
        publisher!.flushDue(now: now) { slots[$0]?.engine }
        publisher!.send()
    }

    /// Hands partition `p`'s changed tokens and watched trades to the publisher.
    private func collectChanges(_ p: Int32, _ slot: inout Slot, changedAt: UInt64) {
        guard publisher != nil else { return }
        publisher!.collect(p, engine: &slot.engine, changedAt: changedAt, now: DispatchTime.now().uptimeNanoseconds)
    }

    /// Applies a new set of watched tokens to every engine, when it changed.
    private func refreshWatch() {
        guard let watched = publisher?.watchChange() else { return }
        for p in Array(slots.keys) { slots[p]!.engine.watchTrades(of: watched) }
    }

    /// An empty batch with storage, if one came back.
    func reusableBatch() -> RecordBatch? { recycled.withLock { $0.popLast() } }

    private func apply(_ batch: RecordBatch) {
        refreshWatch()
        var i = 0
        batch.bytes.withUnsafeBytes { raw in
            while i < batch.count {
                // A run of one partition's records: take its slot out once.
                let p = batch.partitions[i]
                var j = i
                while j < batch.count && batch.partitions[j] == p { j += 1 }
                defer { i = j }
                guard var slot = slots.removeValue(forKey: p) else { continue }
                for k in i..<j {
                    let start = k == 0 ? 0 : batch.ends[k - 1]
                    let payload = UnsafeRawBufferPointer(rebasing: raw[start..<batch.ends[k]])
                    switch decoder.decode(payload) {
                    case .success(let event): slot.engine.ingest(event)
                    case .failure(let reason):
                        slot.invalid += 1
                        deadLetter(payload, reason: reason, partition: p, offset: batch.offsets[k])
                    }
                    slot.engine.nextOffset = batch.offsets[k] + 1
                }
                metrics.record(from: slot.counters, to: slot.engine.counters)
                slot.counters = slot.engine.counters
                slot.dirty = true
                collectChanges(p, &slot, changedAt: batch.consumedAt)
                slots[p] = slot
                publish(p)
            }
        }
        metrics.consumed.increment(by: batch.count)
    }

    private func deadLetter(_ payload: UnsafeRawBufferPointer, reason: InvalidReason, partition: Int32, offset: Int64) {
        metrics.invalid[reason]?.increment()
        do {
            try context.deadLetters.send(
                topic: context.configuration.deadLetterTopic, key: nil, value: payload,
                headers: [
                    ("reason", Array(reason.rawValue.utf8)),
                    ("source", Array("\(topic)/\(partition)@\(offset)".utf8)),
                ])
        } catch {
            metrics.deadLetterFailures.increment()
            context.logger.error(
                "dead-letter produce failed: \(error)",
                metadata: [LogKeys.partition: "\(partition)", LogKeys.offset: "\(offset)"])
        }
    }

    private func adopt(_ p: Int32, _ engine: PartitionEngine, lostEvents: Int64, restoredOffset: Int64?) {
        var slot = Slot(
            engine: engine, lostEvents: lostEvents, counters: engine.counters, checkpointedOffset: restoredOffset,
            lastCheckpointWall: context.wallClock())
        if let watched = publisher?.watchChange() {
            for q in Array(slots.keys) { slots[q]!.engine.watchTrades(of: watched) }
        }
        if let publisher { slot.engine.watchTrades(of: publisher.watchedTokens) }
        collectChanges(p, &slot, changedAt: DispatchTime.now().uptimeNanoseconds)
        slots[p] = slot
        publish(p)
    }

    private func release(_ p: Int32) {
        publisher?.release(p, now: DispatchTime.now().uptimeNanoseconds)
        guard var slot = slots.removeValue(forKey: p) else {
            writer.drain()
            return
        }
        // The final checkpoint is written before the partition goes, after any queued one.
        if slot.dirty || slot.checkpointedOffset == nil {
            let delta = slot.engine.takeDelta()
            _ = writer.writeNow(p, delta: delta, lostEvents: slot.lostEvents, wall: context.wallClock())
        } else {
            writer.forget(p)
        }
        _ = status.withLock { $0.removeValue(forKey: p) }
    }

    private func tick(_ now: Int64) {
        lastTick = now
        for (p, w) in writer.takeWritten() where slots[p] != nil {
            slots[p]!.checkpointedOffset = w.offset
        }
        for p in writer.takeFailures() where slots[p] != nil { slots[p]!.dirty = true }
        let refreshBytes = now - lastBytesRefresh >= 1000
        if refreshBytes { lastBytesRefresh = now }
        for p in Array(slots.keys) {
            var slot = slots.removeValue(forKey: p)!
            let buffered = slot.engine.bufferedCount
            slot.engine.tick(wallNow: now)
            if slot.engine.bufferedCount != buffered { slot.dirty = true }
            if slot.dirty && now - slot.lastCheckpointWall >= context.configuration.checkpointInterval {
                checkpoint(p, &slot, now: now)
            }
            if refreshBytes { slot.stateBytes = slot.engine.bytes }
            collectChanges(p, &slot, changedAt: DispatchTime.now().uptimeNanoseconds)
            slots[p] = slot
            publish(p)
        }
    }

    /// Captures what changed in the partition since its last checkpoint (a delta, in time
    /// proportional to the change) and queues it to the writer thread, which stores it and
    /// then commits the offset for lag tools.
    private func checkpoint(_ p: Int32, _ slot: inout Slot, now: Int64) {
        writer.write(p, delta: slot.engine.takeDelta(), lostEvents: slot.lostEvents, wall: now)
        slot.lastCheckpointWall = now
        slot.dirty = false
    }

    private func publish(_ p: Int32) {
        guard let slot = slots[p] else { return }
        let e = slot.engine
        let s = PartitionStatus(
            partition: p, nextOffset: e.nextOffset, newestEventTime: e.newestEventTime, watermark: e.watermark,
            tokens: e.tokenCount, buffered: e.bufferedCount, stateBytes: slot.stateBytes, lostEvents: slot.lostEvents,
            lastCheckpointWall: slot.lastCheckpointWall, checkpointedOffset: slot.checkpointedOffset,
            accepted: e.counters.accepted, duplicate: e.counters.duplicate, invalid: slot.invalid)
        status.withLock { $0[p] = s }
    }
}
