/// Durable storage of partition checkpoints: per partition, one small *manifest* naming
/// *blobs* (a base cut in pieces, the deltas after it; see ``CheckpointManifest``).
///
/// Blobs are written first, then the manifest that names them replaces the old one
/// atomically: a reader sees the previous checkpoint or the new one, never a mix. A store
/// shared by several instances fences the manifest: reading it claims the partition (an
/// *epoch* that only grows), and a manifest write of an older epoch is refused
/// (``CheckpointError/fenced(_:)``), so an instance that lost a partition never overwrites
/// the new owner's. Blob names carry their writer's epoch and a random prefix, so no two
/// writers' blobs collide.
///
/// - Important: methods block (disk or network); call them from shard, writer or consumer
///   threads, never from an event loop.
public protocol CheckpointStore: Sendable {
    /// The partition's manifest (nil when it has no checkpoint), and the epoch this reader
    /// holds: a store that fences claims the partition here (a new, larger epoch); one that
    /// does not answers 0.
    /// - Throws: ``CheckpointError/unusable(_:)`` for a checkpoint in the format before
    ///   incremental checkpoints (it is not read), or ``CheckpointError/io(_:)``.
    func readManifest(topic: String, partition: Int32) throws(CheckpointError) -> (bytes: [UInt8]?, epoch: UInt64)
    /// Replaces the partition's manifest atomically (fenced where the store is shared).
    func writeManifest(_ bytes: [UInt8], topic: String, partition: Int32) throws(CheckpointError)
    /// Stores a blob durably; the manifest that names it is written after.
    func writeBlob(_ name: String, _ bytes: [UInt8], topic: String, partition: Int32) throws(CheckpointError)
    /// Reads a blob whole, or the byte range `range` of it.
    func readBlob(_ name: String, range: Range<Int>?, topic: String, partition: Int32) throws(CheckpointError)
        -> [UInt8]
    /// The names of the partition's blobs.
    func listBlobs(topic: String, partition: Int32) throws(CheckpointError) -> [String]
    /// Deletes the partition's blobs `names` (missing ones are ignored).
    func deleteBlobs(_ names: [String], topic: String, partition: Int32) throws(CheckpointError)
    /// Moves a checkpoint that cannot be used out of the way (kept for inspection).
    func quarantine(topic: String, partition: Int32) throws(CheckpointError)
}

/// Why a checkpoint cannot be used.
public enum CheckpointError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The bytes are damaged (checksum, length, magic).
    case corrupt(String)
    /// Intact, but not usable here (taken under other `WINDOWS`, or an older format).
    case unusable(String)
    /// The store could not read or write.
    case io(String)
    /// Another instance claimed the partition after this one loaded it: the write was refused.
    case fenced(String)

    public var description: String {
        switch self {
        case .corrupt(let m): "corrupt checkpoint: \(m)"
        case .unusable(let m): "unusable checkpoint: \(m)"
        case .io(let m): "checkpoint i/o: \(m)"
        case .fenced(let m): "checkpoint fenced: \(m)"
        }
    }
}
