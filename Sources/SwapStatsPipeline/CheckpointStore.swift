/// Durable storage of partition checkpoints. Writes are atomic: a reader sees the previous
/// checkpoint or the new one, never a mix.
///
/// - Important: methods block (disk or network); call them from shard or consumer threads.
public protocol CheckpointStore: Sendable {
    /// The stored checkpoint bytes, or nil when the partition has none.
    func load(topic: String, partition: Int32) throws(CheckpointError) -> [UInt8]?
    /// Replaces the partition's checkpoint atomically.
    func save(_ bytes: [UInt8], topic: String, partition: Int32) throws(CheckpointError)
    /// Moves a checkpoint that cannot be used out of the way (kept for inspection).
    func quarantine(topic: String, partition: Int32) throws(CheckpointError)
}
