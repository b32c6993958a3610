/// Log metadata keys, in one place.
enum LogKeys {
    static let topic = "kafka.topic"
    static let partition = "kafka.partition"
    static let offset = "kafka.offset"
    static let shard = "pipeline.shard"
}
