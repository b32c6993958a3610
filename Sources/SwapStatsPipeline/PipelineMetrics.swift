import CoreMetrics
import Metrics
import SwapStatsCore

/// The counters a shard increments (contract §7 names). Created once per shard, so the hot
/// path never looks a metric up.
struct ShardMetrics {
    let consumed: Counter
    let accepted: Counter
    let duplicate: Counter
    let lateApplied: Counter
    let lateDropped: Counter
    let expired: Counter
    let invalid: [InvalidReason: Counter]
    let deadLetterFailures: Counter
    let checkpointDuration: Timer
    let checkpointFailures: Counter
    let checkpointBytes: Counter
    let compactions: Counter
    let compactedBytes: Counter
    let compactionDuration: Timer

    init(factory f: any MetricsFactory) {
        consumed = Counter(label: "swapstats_events_consumed_total", factory: f)
        accepted = Counter(label: "swapstats_events_accepted_total", factory: f)
        duplicate = Counter(label: "swapstats_events_duplicate_total", factory: f)
        lateApplied = Counter(label: "swapstats_events_late_total", dimensions: [("outcome", "applied")], factory: f)
        lateDropped = Counter(label: "swapstats_events_late_total", dimensions: [("outcome", "dropped")], factory: f)
        expired = Counter(label: "swapstats_events_late_total", dimensions: [("outcome", "expired")], factory: f)
        invalid = Dictionary(
            uniqueKeysWithValues: InvalidReason.allCases.map {
                (
                    $0,
                    Counter(label: "swapstats_events_invalid_total", dimensions: [("reason", $0.rawValue)], factory: f)
                )
            })
        deadLetterFailures = Counter(label: "swapstats_dead_letter_failures_total", factory: f)
        checkpointDuration = Timer(label: "swapstats_checkpoint_duration_seconds", factory: f)
        checkpointFailures = Counter(label: "swapstats_checkpoint_failures_total", factory: f)
        checkpointBytes = Counter(label: "swapstats_checkpoint_written_bytes_total", factory: f)
        compactions = Counter(label: "swapstats_checkpoint_compactions_total", factory: f)
        compactedBytes = Counter(label: "swapstats_checkpoint_compacted_bytes_total", factory: f)
        compactionDuration = Timer(label: "swapstats_checkpoint_compaction_seconds", factory: f)
    }

    /// Adds what happened between two readings of a partition's counters.
    func record(from old: IngestCounters, to new: IngestCounters) {
        if new.accepted > old.accepted { accepted.increment(by: new.accepted - old.accepted) }
        if new.duplicate > old.duplicate { duplicate.increment(by: new.duplicate - old.duplicate) }
        if new.lateApplied > old.lateApplied { lateApplied.increment(by: new.lateApplied - old.lateApplied) }
        if new.lateDropped > old.lateDropped { lateDropped.increment(by: new.lateDropped - old.lateDropped) }
        if new.expired > old.expired { expired.increment(by: new.expired - old.expired) }
    }
}

/// Gauges and counters the pipeline reports once a second, per partition and in total.
struct PipelineMetrics {
    let topic: String
    let factory: any MetricsFactory
    let tokens: Gauge
    let stateBytes: Gauge
    let dropped: Counter
    let overflow: Counter
    let corrupt: Counter
    let offsetResets: Counter
    let consumerErrors: Counter

    init(topic: String, factory f: any MetricsFactory) {
        self.topic = topic
        factory = f
        tokens = Gauge(label: "swapstats_tokens_tracked", factory: f)
        stateBytes = Gauge(label: "swapstats_state_memory_bytes", factory: f)
        dropped = Counter(label: "swapstats_backpressure_dropped_total", factory: f)
        overflow = Counter(label: "swapstats_backpressure_overflow_total", factory: f)
        corrupt = Counter(label: "swapstats_checkpoint_corrupt_total", factory: f)
        offsetResets = Counter(label: "swapstats_checkpoint_offset_resets_total", factory: f)
        consumerErrors = Counter(label: "swapstats_consumer_errors_total", factory: f)
    }

    private func dims(_ p: Int32) -> [(String, String)] { [("topic", topic), ("partition", "\(p)")] }

    func owned(_ p: Int32, _ isOwned: Bool) {
        Gauge(label: "swapstats_partition_owned", dimensions: dims(p), factory: factory).record(isOwned ? 1 : 0)
    }
    func lag(_ p: Int32, _ value: Int64) {
        Gauge(label: "swapstats_consumer_lag", dimensions: dims(p), factory: factory).record(Double(value))
    }
    func watermarkDelay(_ p: Int32, seconds: Double) {
        Gauge(label: "swapstats_watermark_delay_seconds", dimensions: dims(p), factory: factory).record(seconds)
    }
    func checkpointAge(_ p: Int32, seconds: Double) {
        Gauge(label: "swapstats_checkpoint_age_seconds", dimensions: dims(p), factory: factory).record(seconds)
    }
    func lost(_ p: Int32, _ count: Int64) {
        Counter(label: "swapstats_events_lost_total", dimensions: dims(p), factory: factory).increment(by: Int(count))
    }
    func queueDepth(shard: Int, _ depth: Int) {
        Gauge(label: "swapstats_shard_queue_depth", dimensions: [("shard", "\(shard)")], factory: factory).record(depth)
    }
}
