import CoreMetrics
import Metrics
import SwapStatsCore

/// The counters a shard increments (contract §7 names). Created once per shard, so the hot
/// path never looks a metric up.
struct ShardMetrics {
    let consumed = Counter(label: "swapstats_events_consumed_total")
    let accepted = Counter(label: "swapstats_events_accepted_total")
    let duplicate = Counter(label: "swapstats_events_duplicate_total")
    let lateApplied = Counter(label: "swapstats_events_late_total", dimensions: [("outcome", "applied")])
    let lateDropped = Counter(label: "swapstats_events_late_total", dimensions: [("outcome", "dropped")])
    let expired = Counter(label: "swapstats_events_late_total", dimensions: [("outcome", "expired")])
    let invalid: [InvalidReason: Counter] = Dictionary(
        uniqueKeysWithValues: InvalidReason.allCases.map {
            ($0, Counter(label: "swapstats_events_invalid_total", dimensions: [("reason", $0.rawValue)]))
        })
    let deadLetterFailures = Counter(label: "swapstats_dead_letter_failures_total")
    let checkpointDuration = Timer(label: "swapstats_checkpoint_duration_seconds", preferredDisplayUnit: .seconds)
    let checkpointFailures = Counter(label: "swapstats_checkpoint_failures_total")

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
    let tokens = Gauge(label: "swapstats_tokens_tracked")
    let stateBytes = Gauge(label: "swapstats_state_memory_bytes")
    let dropped = Counter(label: "swapstats_backpressure_dropped_total")
    let overflow = Counter(label: "swapstats_backpressure_overflow_total")
    let corrupt = Counter(label: "swapstats_checkpoint_corrupt_total")
    let offsetResets = Counter(label: "swapstats_checkpoint_offset_resets_total")
    let consumerErrors = Counter(label: "swapstats_consumer_errors_total")

    private func dims(_ p: Int32) -> [(String, String)] { [("topic", topic), ("partition", "\(p)")] }

    func owned(_ p: Int32, _ isOwned: Bool) {
        Gauge(label: "swapstats_partition_owned", dimensions: dims(p)).record(isOwned ? 1 : 0)
    }
    func lag(_ p: Int32, _ value: Int64) {
        Gauge(label: "swapstats_consumer_lag", dimensions: dims(p)).record(Double(value))
    }
    func watermarkDelay(_ p: Int32, seconds: Double) {
        Gauge(label: "swapstats_watermark_delay_seconds", dimensions: dims(p)).record(seconds)
    }
    func checkpointAge(_ p: Int32, seconds: Double) {
        Gauge(label: "swapstats_checkpoint_age_seconds", dimensions: dims(p)).record(seconds)
    }
    func lost(_ p: Int32, _ count: Int64) {
        Counter(label: "swapstats_events_lost_total", dimensions: dims(p)).increment(by: Int(count))
    }
    func queueDepth(shard: Int, _ depth: Int) {
        Gauge(label: "swapstats_shard_queue_depth", dimensions: [("shard", "\(shard)")]).record(depth)
    }
}
