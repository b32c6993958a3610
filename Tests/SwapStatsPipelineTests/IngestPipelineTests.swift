import Foundation
import KafkaClient
import Logging
import MetricsTestKit
import SwapStatsCheckpoints
import SwapStatsCore
import SwapStatsPipeline
import SwapStatsTestSupport
import Synchronization
import Testing

@Suite(.serialized, .timeLimit(.minutes(3)))
struct IngestPipelineTests {
    let partitions = 4

    func traffic(seed: UInt64, events: Int) -> [SwapTraffic.Message] {
        var t = SwapTraffic(
            seed: seed, tokens: 300, wallets: 500, events: events, span: 20 * 60_000, jitter: 20_000,
            duplicateShare: 0.05, invalidShare: 0.01)
        return t.take(events)
    }

    /// Runs a pipeline until its checkpoints cover every produced offset, then stops it.
    func runToEnd(_ pipeline: IngestPipeline, store: DirectoryCheckpointStore, brokers: String) throws -> Bool {
        let highs = try highWatermarks(brokers: brokers, topic: "swaps", partitions: partitions)
        pipeline.start()
        let done = waitUntil(seconds: 60) {
            let status = pipeline.partitions
            return status.count == partitions
                && status.allSatisfy { $0.checkpointedOffset == highs[$0.partition] && $0.buffered == 0 }
        }
        pipeline.stop()
        return done
    }

    @Test func everyValidEventCountsOnceAndInvalidOnesReachTheDeadLetterTopic() throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: testLogger)
        try cluster.createTopic("swaps", partitions: partitions)
        try cluster.createTopic("swaps.dlq", partitions: 1)
        let messages = traffic(seed: 11, events: 20_000)
        try produce(messages, to: "swaps", brokers: cluster.bootstrapServers)
        let engine = try eventClockConfiguration()
        let store = try DirectoryCheckpointStore(directory: temporaryDirectory("once"))
        let metrics = TestMetrics()
        let pipeline = try IngestPipeline(
            configuration: pipelineConfiguration(brokers: cluster.bootstrapServers, group: "g", engine: engine),
            store: store, logger: testLogger, metricsFactory: metrics)
        #expect(try runToEnd(pipeline, store: store, brokers: cluster.bootstrapServers))

        let want = FinalAnswers(messages: messages, configuration: engine)
        let asOf = try #require(want.asOf)
        let got = try answersFromCheckpoints(store, partitions: partitions, configuration: engine, asOf: asOf)
        #expect(mismatches(got.stats, want.stats(asOf: asOf)).isEmpty)
        #expect(got.stats.count > 100)
        #expect(got.counters.accepted == want.unique)
        #expect(got.counters.duplicate == want.valid - want.unique)
        #expect(want.invalid > 100)

        // The contract §7 metrics saw the same.
        #expect(metrics.counterTotal(label: "swapstats_events_consumed_total") == Int64(messages.count))
        #expect(metrics.counterTotal(label: "swapstats_events_accepted_total") == Int64(want.unique))
        #expect(metrics.counterTotal(label: "swapstats_events_duplicate_total") == Int64(want.valid - want.unique))
        #expect(metrics.counterTotal(label: "swapstats_events_invalid_total") == Int64(want.invalid))
        #expect(
            metrics.counterTotal(label: "swapstats_events_late_total", dimensions: [("outcome", "applied")])
                == Int64(got.counters.lateApplied))
        for p in 0..<partitions {
            let dims = [("topic", "swaps"), ("partition", "\(p)")]
            #expect(try metrics.expectGauge("swapstats_partition_owned", dims).values == [1, 0])
            #expect(try metrics.expectGauge("swapstats_consumer_lag", dims).values.allSatisfy { $0 >= 0 })
            #expect(try metrics.expectGauge("swapstats_watermark_delay_seconds", dims).lastValue != nil)
        }
        #expect(try metrics.expectGauge("swapstats_tokens_tracked").lastValue ?? 0 > 100)
        #expect(try metrics.expectTimer("swapstats_checkpoint_duration_seconds").values.count >= partitions)

        // The dead-letter topic holds each invalid message once, with its reason.
        let dead = try consumeAll(topic: "swaps.dlq", brokers: cluster.bootstrapServers, expected: want.invalid)
        #expect(dead.count == want.invalid)
        let reasons = Set(InvalidReason.allCases.map(\.rawValue))
        #expect(dead.allSatisfy { reasons.contains($0.reason) && $0.source.hasPrefix("swaps/") })
        let invalidBodies = messages.filter {
            if case .failure = EventDecoder().decode($0.value) { true } else { false }
        }
        #expect(
            dead.map(\.value).sorted { $0.lexicographicallyPrecedes($1) }
                == invalidBodies.map(\.value).sorted { $0.lexicographicallyPrecedes($1) })
    }

    @Test func aRestartResumesFromTheCheckpointsAndCountsEachEventOnce() throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: testLogger)
        try cluster.createTopic("swaps", partitions: partitions)
        let messages = traffic(seed: 12, events: 16_000)
        let engine = try eventClockConfiguration()
        let store = try DirectoryCheckpointStore(directory: temporaryDirectory("restart"))
        let configuration = pipelineConfiguration(brokers: cluster.bootstrapServers, group: "g", engine: engine)

        try produce(Array(messages[..<9_000]), to: "swaps", brokers: cluster.bootstrapServers)
        let first = try IngestPipeline(configuration: configuration, store: store, logger: testLogger)
        #expect(try runToEnd(first, store: store, brokers: cluster.bootstrapServers))
        let middle = try answersFromCheckpoints(store, partitions: partitions, configuration: engine, asOf: 0)

        try produce(Array(messages[9_000...]), to: "swaps", brokers: cluster.bootstrapServers)
        let second = try IngestPipeline(configuration: configuration, store: store, logger: testLogger)
        #expect(try runToEnd(second, store: store, brokers: cluster.bootstrapServers))
        #expect(second.corruptCheckpoints == 0)

        let want = FinalAnswers(messages: messages, configuration: engine)
        let asOf = try #require(want.asOf)
        let got = try answersFromCheckpoints(store, partitions: partitions, configuration: engine, asOf: asOf)
        #expect(mismatches(got.stats, want.stats(asOf: asOf)).isEmpty)
        // Re-reading what the first run had checkpointed would show up as extra duplicates.
        #expect(got.counters.accepted == want.unique)
        #expect(got.counters.duplicate == want.valid - want.unique)
        #expect(middle.counters.accepted > 0 && middle.counters.accepted < want.unique)
        #expect(got.lostEvents == 0)
    }

    @Test func aCorruptCheckpointIsReportedMovedAsideAndRebuiltFromTheLog() throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: testLogger)
        try cluster.createTopic("swaps", partitions: partitions)
        let messages = traffic(seed: 13, events: 8_000)
        try produce(messages, to: "swaps", brokers: cluster.bootstrapServers)
        let engine = try eventClockConfiguration()
        let directory = temporaryDirectory("corrupt")
        let store = try DirectoryCheckpointStore(directory: directory)
        let configuration = pipelineConfiguration(brokers: cluster.bootstrapServers, group: "g", engine: engine)
        #expect(
            try runToEnd(
                IngestPipeline(configuration: configuration, store: store, logger: testLogger), store: store,
                brokers: cluster.bootstrapServers))

        // Flip one byte in the middle of partition 1's first delta.
        let manifest = try CheckpointManifest(
            decoding: try #require(try store.readManifest(topic: "swaps", partition: 1).bytes))
        let blob = try #require(manifest.deltas.first?.blob)
        var bytes = try store.readBlob(blob, range: nil, topic: "swaps", partition: 1)
        bytes[bytes.count / 2] ^= 0x40
        try store.writeBlob(blob, bytes, topic: "swaps", partition: 1)
        #expect(throws: CheckpointError.self) {
            _ = try StoredCheckpoint(store: store, partition: 1, configuration: engine)
        }

        let second = try IngestPipeline(configuration: configuration, store: store, logger: testLogger)
        #expect(try runToEnd(second, store: store, brokers: cluster.bootstrapServers))
        #expect(second.corruptCheckpoints == 1)
        let aside = try FileManager.default.contentsOfDirectory(atPath: "\(directory)/swaps")
        #expect(aside.contains { $0.hasPrefix("1.corrupt-") })

        let want = FinalAnswers(messages: messages, configuration: engine)
        let asOf = try #require(want.asOf)
        let got = try answersFromCheckpoints(store, partitions: partitions, configuration: engine, asOf: asOf)
        #expect(mismatches(got.stats, want.stats(asOf: asOf)).isEmpty)
        #expect(got.counters.accepted == want.unique)
    }

    @Test(arguments: [Backpressure.block, .drop, .buffer])
    func backpressureLosesNothingUnlessToldToDropAndCountsWhatItDrops(mode: Backpressure) throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: testLogger)
        try cluster.createTopic("swaps", partitions: partitions)
        let messages = traffic(seed: 16, events: 20_000)
        try produce(messages, to: "swaps", brokers: cluster.bootstrapServers)
        var configuration = pipelineConfiguration(
            brokers: cluster.bootstrapServers, group: "g", engine: try eventClockConfiguration())
        configuration.backpressure = mode
        configuration.queueCapacity = 1
        configuration.bufferFactor = 2
        configuration.batchSize = 50
        let metrics = TestMetrics()
        let store = try DirectoryCheckpointStore(directory: temporaryDirectory("backpressure"))
        let pipeline = try IngestPipeline(
            configuration: configuration, store: store, logger: testLogger, metricsFactory: metrics)
        pipeline.start()
        let consumed = { metrics.counterTotal(label: "swapstats_events_consumed_total") }
        let dropped = { metrics.counterTotal(label: "swapstats_backpressure_dropped_total") }
        #expect(waitUntil(seconds: 60) { consumed() + dropped() == Int64(messages.count) })
        pipeline.stop()
        #expect(consumed() + dropped() == Int64(messages.count))
        if mode != .drop { #expect(dropped() == 0) }
        if mode == .block { #expect(metrics.counterTotal(label: "swapstats_backpressure_overflow_total") == 0) }
    }

    @Test func aCheckpointBelowTheLogStartIsCountedAsLostAndStaysRecorded() throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: testLogger)
        try cluster.createTopic("swaps", partitions: 1)
        let tp = TopicPartition(topic: "swaps", partition: 0)
        let probe = try KafkaConsumer(
            properties: ["bootstrap.servers": cluster.bootstrapServers, "group.id": "wm"], rebalance: NoRebalance(),
            logger: testLogger)
        let engine = try eventClockConfiguration()
        let store = try DirectoryCheckpointStore(directory: temporaryDirectory("loss"))
        var configuration = pipelineConfiguration(brokers: cluster.bootstrapServers, group: "g", engine: engine)
        configuration.shards = 1

        // First run: 1,000 events, checkpointed exactly.
        var t = SwapTraffic(seed: 14, tokens: 50, wallets: 100, events: 41_000, span: 60 * 60_000)
        try produce(t.take(1_000), to: "swaps", brokers: cluster.bootstrapServers)
        let first = try IngestPipeline(configuration: configuration, store: store, logger: testLogger)
        first.start()
        #expect(waitUntil(seconds: 60) { first.partitions.first?.checkpointedOffset == 1_000 })
        #expect(first.partitions.first?.lostEvents == 0)
        first.stop()

        // While it is down, 40,000 more (about 300 bytes each) overflow the mock's ~5 MB retention.
        try produce(t.take(40_000), to: "swaps", brokers: cluster.bootstrapServers)
        let marks = try probe.queryWatermarks(tp, timeoutMilliseconds: 5000)
        try #require(marks.low > 1_000, "the mock cluster kept everything; retention assumption broken")

        let second = try IngestPipeline(configuration: configuration, store: store, logger: testLogger)
        second.start()
        #expect(waitUntil(seconds: 60) { second.partitions.first?.checkpointedOffset == marks.high })
        #expect(second.partitions.first?.lostEvents == marks.low - 1_000)
        second.stop()
        let checkpoint = try #require(try StoredCheckpoint(store: store, partition: 0, configuration: engine))
        #expect(checkpoint.manifest.lostEvents == marks.low - 1_000)
        #expect(checkpoint.manifest.offset == marks.high)

        // A restart keeps reporting the loss.
        let third = try IngestPipeline(configuration: configuration, store: store, logger: testLogger)
        third.start()
        #expect(waitUntil(seconds: 30) { third.partitions.first?.lostEvents == marks.low - 1_000 })
        third.stop()
    }

    @Test func aPartitionStartedOnATrimmedLogCountsWhatItNeverSaw() throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: testLogger)
        try cluster.createTopic("swaps", partitions: 1)
        var t = SwapTraffic(seed: 15, tokens: 50, wallets: 100, events: 40_000, span: 60 * 60_000)
        try produce(t.take(40_000), to: "swaps", brokers: cluster.bootstrapServers)
        let probe = try KafkaConsumer(
            properties: ["bootstrap.servers": cluster.bootstrapServers, "group.id": "wm"], rebalance: NoRebalance(),
            logger: testLogger)
        let marks = try probe.queryWatermarks(TopicPartition(topic: "swaps", partition: 0), timeoutMilliseconds: 5000)
        try #require(marks.low > 0, "the mock cluster kept everything; retention assumption broken")
        var configuration = pipelineConfiguration(
            brokers: cluster.bootstrapServers, group: "g", engine: try eventClockConfiguration())
        configuration.shards = 1
        let store = try DirectoryCheckpointStore(directory: temporaryDirectory("trimmed"))
        let pipeline = try IngestPipeline(configuration: configuration, store: store, logger: testLogger)
        pipeline.start()
        #expect(waitUntil(seconds: 60) { pipeline.partitions.first?.checkpointedOffset == marks.high })
        #expect(pipeline.partitions.first?.lostEvents == marks.low)
        pipeline.stop()
    }
}

/// Reads `expected` messages of `topic` from the beginning, with their headers.
func consumeAll(topic: String, brokers: String, expected: Int) throws -> [(
    value: [UInt8], reason: String, source: String
)] {
    let consumer = try KafkaConsumer(
        properties: [
            "bootstrap.servers": brokers, "group.id": "reader-\(UUID().uuidString)", "auto.offset.reset": "earliest",
            "session.timeout.ms": "6000", "heartbeat.interval.ms": "500",
        ], rebalance: NoRebalance(), logger: testLogger)
    try consumer.subscribe([topic])
    var out: [(value: [UInt8], reason: String, source: String)] = []
    _ = try waitUntil(seconds: 30) {
        try consumer.consume(maxMessages: 1000, timeoutMilliseconds: 100) { r in
            out.append(
                (
                    Array(r.payload), String(decoding: r.header("reason") ?? [], as: UTF8.self),
                    String(decoding: r.header("source") ?? [], as: UTF8.self)
                ))
        }
        return out.count >= expected
    }
    // Anything beyond `expected` would be a duplicate dead letter.
    try consumer.consume(maxMessages: 1000, timeoutMilliseconds: 500) { r in out.append((Array(r.payload), "", "")) }
    try consumer.close()
    return out
}
