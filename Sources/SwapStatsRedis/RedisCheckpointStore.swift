import Foundation
public import RedisClient
public import SwapStatsPipeline
import Synchronization

/// Partition checkpoints in Redis (contract §5: `swapstats:ckpt:{topic:partition}`), so a
/// partition that moves to another instance resumes exactly where its state ends.
///
/// - **Atomic**: a checkpoint is a hash of chunks (`n`, `c0`…), replaced as a whole by one Lua
///   script; a reader sees the old one or the new one. Chunks keep each value under 8 MB.
/// - **Fenced**: loading a partition's checkpoint claims it: `INCR` of its epoch key. A save
///   carries the epoch its instance claimed, and the script refuses it when a newer owner has
///   claimed the partition since (``CheckpointError/fenced(_:)``), so an instance that lost a
///   partition never overwrites the new owner's checkpoint.
/// - Keys share the `{topic:partition}` hash tag (one Redis Cluster slot per partition).
///
/// One connection behind a lock: checkpoints are few and large, and shard, writer and
/// consumer threads all call in.
public final class RedisCheckpointStore: CheckpointStore, @unchecked Sendable {
    private let lock = NSLock()
    private let connection: RedisConnection
    private let claims: Bool
    private let chunkBytes: Int
    private let epochs = Mutex<[String: Int64]>([:])

    /// - Parameter claims: whether loading claims the partition (a server); false for a
    ///   reader that must not fence anyone (tools, tests).
    public init(url: RedisURL, claims: Bool = true, chunkBytes: Int = 8 << 20) {
        connection = RedisConnection(url: url, connectTimeout: 2, commandTimeout: 30)
        self.claims = claims
        self.chunkBytes = chunkBytes
    }

    private static func name(_ topic: String, _ p: Int32) -> String { "swapstats:ckpt:{\(topic):\(p)}" }

    public func load(topic: String, partition: Int32) throws(CheckpointError) -> [UInt8]? {
        let key = Self.name(topic, partition)
        if claims {
            guard case .integer(let epoch) = try run([b("INCR"), b("\(key):epoch")]) else {
                throw .io("INCR of the epoch did not answer an integer")
            }
            epochs.withLock { $0[key] = epoch }
        }
        guard case .array(let fields) = try run([b("HGETALL"), b(key)]) else { throw .io("HGETALL failed") }
        var chunks: [String: [UInt8]] = [:]
        var i = 0
        while i + 1 < fields.count {
            if let name = fields[i].text, case .string(let value) = fields[i + 1] { chunks[name] = value }
            i += 2
        }
        guard let n = chunks["n"].flatMap({ Int(String(decoding: $0, as: UTF8.self)) }) else { return nil }
        var bytes: [UInt8] = []
        for c in 0..<n {
            guard let chunk = chunks["c\(c)"] else { throw .corrupt("chunk \(c) of \(n) missing") }
            bytes += chunk
        }
        return bytes
    }

    public func save(_ bytes: [UInt8], topic: String, partition: Int32) throws(CheckpointError) {
        let key = Self.name(topic, partition)
        let epoch = epochs.withLock { $0[key] } ?? 0
        var command: [[UInt8]] = [b("EVAL"), b(Self.replace), b("2"), b(key), b("\(key):epoch"), b("\(epoch)")]
        var start = 0
        repeat {
            let end = min(bytes.count, start + chunkBytes)
            command.append(Array(bytes[start..<end]))
            start = end
        } while start < bytes.count
        switch try run(command) {
        case .error(let message) where message.hasPrefix("FENCED"):
            throw .fenced("partition \(partition) was claimed by a newer owner (\(message))")
        case .error(let message): throw .io(message)
        default: return
        }
    }

    public func quarantine(topic: String, partition: Int32) throws(CheckpointError) {
        let key = Self.name(topic, partition)
        let stamp = Int(Date().timeIntervalSince1970)
        _ = try run([b("RENAME"), b(key), b("\(key):corrupt-\(stamp)")])
    }

    /// Replaces the hash unless a newer owner claimed the partition (a larger epoch). Owners'
    /// epochs only grow, so a Redis that lost recent writes (a restart without `appendfsync
    /// always`) takes the newest owner's state again instead of fencing it forever.
    private static let replace = """
        local current = tonumber(redis.call('GET', KEYS[2]) or '0')
        local mine = tonumber(ARGV[1])
        if mine < current then return redis.error_reply('FENCED epoch ' .. current) end
        if mine > current then redis.call('SET', KEYS[2], mine) end
        redis.call('DEL', KEYS[1])
        for i = 2, #ARGV do redis.call('HSET', KEYS[1], 'c' .. (i - 2), ARGV[i]) end
        redis.call('HSET', KEYS[1], 'n', #ARGV - 1)
        return 'OK'
        """

    private func run(_ command: [[UInt8]]) throws(CheckpointError) -> RedisReply {
        lock.lock()
        defer { lock.unlock() }
        do { return try connection.command(bytes: command) } catch { throw .io("\(error)") }
    }
}

private func b(_ s: String) -> [UInt8] { Array(s.utf8) }
