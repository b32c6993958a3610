/// The `# HELP` text of every `swapstats_*` metric. swift-metrics has no help text, so
/// `/metrics` adds these lines to the Prometheus registry's output (promtool requires them).
enum MetricHelp {
    static let texts: [String: String] = [
        "swapstats_events_consumed_total": "Messages taken from Kafka.",
        "swapstats_events_accepted_total": "Valid events applied once (after dedup).",
        "swapstats_events_duplicate_total": "Events whose id was already accepted within DEDUP_TTL.",
        "swapstats_events_late_total": "Events older than the watermark, by outcome (applied or dropped).",
        "swapstats_events_invalid_total": "Invalid events sent to the dead-letter topic, by reason.",
        "swapstats_events_lost_total": "Offsets the log no longer held when they were needed (retention).",
        "swapstats_partition_owned": "1 for each partition this instance owns.",
        "swapstats_consumer_lag": "Messages between the state's offset and the partition's end.",
        "swapstats_watermark_delay_seconds": "Wall time minus the partition's watermark.",
        "swapstats_tokens_tracked": "Tokens held by this instance's partitions.",
        "swapstats_state_memory_bytes": "Approximate bytes of the partitions' state.",
        "swapstats_shard_queue_depth": "Record batches waiting for each shard.",
        "swapstats_checkpoint_duration_seconds": "Time to store one partition checkpoint (a delta and its manifest).",
        "swapstats_checkpoint_written_bytes_total": "Bytes of checkpoint deltas stored.",
        "swapstats_checkpoint_compactions_total": "Compactions of a partition's deltas into a new base.",
        "swapstats_checkpoint_compacted_bytes_total": "Bytes of checkpoint bases written by compactions.",
        "swapstats_checkpoint_compaction_seconds": "Time one compaction took (off the shard threads).",
        "swapstats_checkpoint_age_seconds": "Time since the partition's last checkpoint.",
        "swapstats_checkpoint_failures_total": "Checkpoints that could not be stored.",
        "swapstats_checkpoint_corrupt_total": "Checkpoints found unusable, moved aside and rebuilt from the log.",
        "swapstats_checkpoint_offset_resets_total": "Checkpoints past the log's end (the log was recreated).",
        "swapstats_consumer_errors_total": "Errors the Kafka consumer reported.",
        "swapstats_dead_letter_failures_total": "Invalid events the dead-letter topic did not take.",
        "swapstats_backpressure_dropped_total": "Messages dropped by BACKPRESSURE=drop.",
        "swapstats_backpressure_overflow_total": "Messages queued beyond capacity by BACKPRESSURE=buffer.",
        "swapstats_http_requests_total": "HTTP requests by route template and status.",
        "swapstats_http_request_duration_seconds": "HTTP request latency by route template.",
        "swapstats_ws_connections": "Open WebSocket connections.",
        "swapstats_ws_messages_sent_total": "Messages written to WebSocket clients.",
        "swapstats_ws_slow_client_closes_total": "WebSocket clients closed with 1008 for falling too far behind.",
        "swapstats_ws_stale_replaced_total": "Queued stats messages replaced by a newer one for the same token.",
        "swapstats_redis_publish_seconds": "Time to write one pipelined batch of snapshots to Redis.",
        "swapstats_redis_publish_batch_size": "Token updates per pipelined Redis batch.",
        "swapstats_redis_publish_errors_total":
            "Failed Redis snapshot writes: kind=connection (a batch not delivered, retried), transient (a token's write refused with LOADING, BUSY, READONLY…, retried with backoff), permanent (refused with WRONGTYPE, OOM, NOPERM…, dropped until the token's next update or refresh).",
        "swapstats_redis_republish_total":
            "Times every owned token was written to Redis again because Redis lost data, by reason (new_server, flushed, evicted).",
        "swapstats_redis_dirty_tokens": "Tokens whose newest stats wait to be written to Redis.",
        "swapstats_redis_fenced_writes_total":
            "Snapshot writes Redis refused because another instance claimed the token's partition since.",
        "swapstats_ingest_to_send_seconds":
            "From a change's consumption from Kafka (or the end of its WS_MIN_INTERVAL wait) to its WebSocket write.",
    ]

    /// `exposition` with a `# HELP` line before each known metric's `# TYPE` line.
    static func adding(to exposition: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(exposition.count + texts.count * 80)
        for line in exposition.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            if line.starts(with: "# TYPE ".utf8) {
                let name = String(decoding: line.dropFirst(7).prefix { $0 != UInt8(ascii: " ") }, as: UTF8.self)
                if let help = texts[name] { out += Array("# HELP \(name) \(help)\n".utf8) }
            }
            out += line
            out.append(UInt8(ascii: "\n"))
        }
        if exposition.last == UInt8(ascii: "\n") { out.removeLast() }
        return out
    }
}
