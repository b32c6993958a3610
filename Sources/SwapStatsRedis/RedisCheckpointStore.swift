import Foundation
public import RedisClient
public import SwapStatsCheckpoints
import Synchronization

/// Partition checkpoints in Redis, so a partition that moves to another instance resumes
/// exactly where its state ends. Per partition (all keys share the hash tag
/// `{topic:partition}`, one Redis Cluster slot):
///
/// - `swapstats:ckpt:{topic:partition}` — the manifest (a string);
/// - `swapstats:ckpt:{topic:partition}:epoch` — the newest claim;
/// - `swapstats:ckpt:{topic:partition}:blob:<name>` — each blob the manifest names;
/// - `swapstats:ckpt:{topic:partition}:blobs` — the set of blob names, for collection.
///
/// **Fenced**: reading the manifest claims the partition (`INCR` of its epoch); a manifest
/// write carries the epoch its instance claimed, and a Lua script refuses it when a newer
/// owner has claimed the partition since (``CheckpointError/fenced(_:)``). A newer epoch raises
/// the stored one, so a Redis that lost writes does not fence the newest owner forever.
/// A checkpoint of the format before incremental checkpoints (a hash under the manifest's
/// key) is refused as unusable.
///
/// One connection behind a lock: checkpoints are few, and shard, writer and consumer
/// threads all call in.
public final class RedisCheckpointStore: CheckpointStore {
    private let connection: Mutex<RedisConnection>
    private let claims: Bool
    private let epochs = Mutex<[String: Int64]>([:])

    /// - Parameter claims: whether reading a manifest claims the partition (a server);
    ///   false for a reader that must not fence anyone (tools, tests).
    public init(url: RedisURL, claims: Bool = true) {
        connection = Mutex(RedisConnection(url: url, connectTimeout: 2, commandTimeout: 60))
        self.claims = claims
    }

    private static func key(_ topic: String, _ p: Int32) -> String { "swapstats:ckpt:{\(topic):\(p)}" }
    private static func blobKey(_ topic: String, _ p: Int32, _ name: String) -> [UInt8] {
        Array("\(key(topic, p)):blob:\(name)".utf8)
    }

    public func readManifest(topic: String, partition: Int32) throws(CheckpointError) -> (
        bytes: [UInt8]?, epoch: UInt64
    ) {
        let key = Self.key(topic, partition)
        var epoch: Int64 = 0
        if claims {
            guard case .integer(let claimed) = try run([b("INCR"), b("\(key):epoch")]) else {
                throw .io("INCR of the epoch did not answer an integer")
            }
            epoch = claimed
            epochs.withLock { $0[key] = claimed }
        }
        if case .status(let type) = try run([b("TYPE"), b(key)]), type == "hash" {
            throw .unusable("\(key) is a checkpoint of format 1, which this version does not read")
        }
        switch try run([b("GET"), b(key)]) {
        case .string(let bytes): return (bytes, UInt64(max(0, epoch)))
        case .null: return (nil, UInt64(max(0, epoch)))
        case let other: throw .io("GET \(key) answered \(other)")
        }
    }

    public func writeManifest(_ bytes: [UInt8], topic: String, partition: Int32) throws(CheckpointError) {
        let key = Self.key(topic, partition)
        let epoch = epochs.withLock { $0[key] } ?? 0
        switch try run([b("EVAL"), b(Self.replace), b("2"), b(key), b("\(key):epoch"), b("\(epoch)"), bytes]) {
        case .error(let message) where message.hasPrefix("FENCED"):
            throw .fenced("partition \(partition) was claimed by a newer owner (\(message))")
        case .error(let message): throw .io(message)
        default: return
        }
    }

    public func writeBlob(_ name: String, _ bytes: [UInt8], topic: String, partition: Int32) throws(CheckpointError) {
        let replies = try pipeline([
            [b("SET"), Self.blobKey(topic, partition, name), bytes],
            [b("SADD"), b("\(Self.key(topic, partition)):blobs"), b(name)],
        ])
        for case .error(let message) in replies { throw .io(message) }
    }

    public func readBlob(_ name: String, range: Range<Int>?, topic: String, partition: Int32) throws(CheckpointError)
        -> [UInt8]
    {
        let key = Self.blobKey(topic, partition, name)
        let command =
            range.map { [b("GETRANGE"), key, b("\($0.lowerBound)"), b("\($0.upperBound - 1)")] } ?? [b("GET"), key]
        switch try run(command) {
        case .string(let bytes):
            if let range, bytes.count != range.count {
                if bytes.isEmpty && !range.isEmpty { throw .io("blob \(name) is missing") }
                throw .corrupt("blob \(name) is shorter than its table says")
            }
            return bytes
        case .null: throw .io("blob \(name) is missing")
        case let other: throw .io("reading blob \(name) answered \(other)")
        }
    }

    public func listBlobs(topic: String, partition: Int32) throws(CheckpointError) -> [String] {
        guard case .array(let names) = try run([b("SMEMBERS"), b("\(Self.key(topic, partition)):blobs")]) else {
            throw .io("SMEMBERS failed")
        }
        return names.compactMap(\.text)
    }

    public func deleteBlobs(_ names: [String], topic: String, partition: Int32) throws(CheckpointError) {
        guard !names.isEmpty else { return }
        let replies = try pipeline([
            [b("DEL")] + names.map { Self.blobKey(topic, partition, $0) },
            [b("SREM"), b("\(Self.key(topic, partition)):blobs")] + names.map(b),
        ])
        for case .error(let message) in replies { throw .io(message) }
    }

    public func quarantine(topic: String, partition: Int32) throws(CheckpointError) {
        let key = Self.key(topic, partition)
        let stamp = Int(Date().timeIntervalSince1970)
        if case .error(let message) = try run([b("RENAME"), b(key), b("\(key):corrupt-\(stamp)")]),
            !message.contains("no such key")
        {
            throw .io(message)
        }
    }

    /// Replaces the manifest unless a newer owner claimed the partition (a larger epoch).
    /// Owners' epochs only grow, so a Redis that lost recent writes (a restart without
    /// `appendfsync always`) takes the newest owner's state again instead of fencing it.
    private static let replace = """
        local current = tonumber(redis.call('GET', KEYS[2]) or '0')
        local mine = tonumber(ARGV[1])
        if mine < current then return redis.error_reply('FENCED epoch ' .. current) end
        if mine > current then redis.call('SET', KEYS[2], mine) end
        redis.call('SET', KEYS[1], ARGV[2])
        return 'OK'
        """

    private func run(_ command: [[UInt8]]) throws(CheckpointError) -> RedisReply {
        try pipeline([command])[0]
    }

    private func pipeline(_ commands: [[[UInt8]]]) throws(CheckpointError) -> [RedisReply] {
        let result: Result<[RedisReply], RedisError> = connection.withLock { c in
            do throws(RedisError) { return .success(try c.pipeline(commands)) } catch { return .failure(error) }
        }
        do { return try result.get() } catch { throw .io("\(error)") }
    }
}
