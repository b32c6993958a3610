import RedisClient
import SwapStatsPipeline
import SwapStatsRedis
import SwapStatsTestSupport
import Testing

@Suite(.serialized, .timeLimit(.minutes(2)))
struct RedisCheckpointStoreTests {
    @Test func largeCheckpointsRoundTripInChunks() throws {
        let server = try RedisServer()
        let url = RedisURL(server.url)!
        let owner = RedisCheckpointStore(url: url, chunkBytes: 1 << 20)
        #expect(try owner.load(topic: "swaps", partition: 3) == nil)
        var rng = SplitMix64(seed: 7)
        let bytes = (0..<(5 << 20) + 123).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        try owner.save(bytes, topic: "swaps", partition: 3)
        let reader = RedisCheckpointStore(url: url, claims: false)
        #expect(try reader.load(topic: "swaps", partition: 3) == bytes)
        // Replaced as a whole: a smaller checkpoint leaves no chunk of the bigger one.
        try owner.save([1, 2, 3], topic: "swaps", partition: 3)
        #expect(try reader.load(topic: "swaps", partition: 3) == [1, 2, 3])
        #expect(try reader.load(topic: "swaps", partition: 4) == nil)
    }

    @Test func anOwnerThatLostThePartitionCannotOverwriteTheNewOwner() throws {
        let server = try RedisServer()
        let url = RedisURL(server.url)!
        let old = RedisCheckpointStore(url: url)
        _ = try old.load(topic: "swaps", partition: 0)
        try old.save([1], topic: "swaps", partition: 0)
        // The partition moves: the new owner loads (claims) it and sees the old state.
        let new = RedisCheckpointStore(url: url)
        #expect(try new.load(topic: "swaps", partition: 0) == [1])
        #expect {
            try old.save([9], topic: "swaps", partition: 0)
        } throws: { error in
            if case .fenced = error as? CheckpointError { true } else { false }
        }
        try new.save([2], topic: "swaps", partition: 0)
        let reader = RedisCheckpointStore(url: url, claims: false)
        #expect(try reader.load(topic: "swaps", partition: 0) == [2])
        // A reader never claims, and cannot write.
        #expect(throws: CheckpointError.self) { try reader.save([3], topic: "swaps", partition: 0) }
        try new.save([4], topic: "swaps", partition: 0)
        #expect(try reader.load(topic: "swaps", partition: 0) == [4])
    }

    @Test func quarantineMovesTheCheckpointAside() throws {
        let server = try RedisServer()
        let url = RedisURL(server.url)!
        let store = RedisCheckpointStore(url: url)
        _ = try store.load(topic: "t", partition: 1)
        try store.save([5, 6], topic: "t", partition: 1)
        try store.quarantine(topic: "t", partition: 1)
        #expect(try store.load(topic: "t", partition: 1) == nil)
        let redis = RedisConnection(url: url)
        guard case .array(let keys) = try redis.command(["KEYS", "swapstats:ckpt:{t:1}:corrupt-*"]) else {
            Issue.record("KEYS failed")
            return
        }
        #expect(keys.count == 1)
    }
}
