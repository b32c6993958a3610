import RedisClient
import SwapStatsCheckpoints
import SwapStatsCore
import SwapStatsRedis
import SwapStatsTestSupport
import Testing

@Suite(.serialized, .timeLimit(.minutes(2)))
struct RedisCheckpointStoreTests {
    static let configuration = try! EngineConfiguration(clock: .event)

    /// An engine fed generated swaps, journaling from the start.
    static func engine(_ events: Int) -> (PartitionEngine, ZipfStream) {
        var engine = PartitionEngine(configuration: configuration)
        engine.startJournal()
        var stream = ZipfStream(seed: 4, tokens: 40, wallets: 60, events: 5_000, span: 3_600_000, jitter: 2_000)
        for _ in 0..<events { engine.ingest(stream.next()) }
        engine.nextOffset = Int64(events)
        return (engine, stream)
    }

    @Test func blobsRoundTripWholeAndByRange() throws {
        let server = try RedisServer()
        let store = RedisCheckpointStore(url: RedisURL(server.url)!)
        #expect(try store.readManifest(topic: "swaps", partition: 3).bytes == nil)
        var rng = SplitMix64(seed: 7)
        let bytes = (0..<(3 << 20) + 123).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        try store.writeBlob("e1-x-b1-0", bytes, topic: "swaps", partition: 3)
        #expect(try store.readBlob("e1-x-b1-0", range: nil, topic: "swaps", partition: 3) == bytes)
        #expect(
            try store.readBlob("e1-x-b1-0", range: 1_000..<2_024, topic: "swaps", partition: 3)
                == Array(bytes[1_000..<2_024]))
        #expect(try store.listBlobs(topic: "swaps", partition: 3) == ["e1-x-b1-0"])
        try store.deleteBlobs(["e1-x-b1-0"], topic: "swaps", partition: 3)
        #expect(try store.listBlobs(topic: "swaps", partition: 3).isEmpty)
        #expect(throws: CheckpointError.self) {
            try store.readBlob("e1-x-b1-0", range: nil, topic: "swaps", partition: 3)
        }
    }

    @Test func deltasAndACompactedBaseRestoreTheState() throws {
        let server = try RedisServer()
        let url = RedisURL(server.url)!
        var (engine, stream) = Self.engine(500)
        var owner = try PartitionCheckpointer.restore(
            store: RedisCheckpointStore(url: url), topic: "swaps", partition: 0, configuration: Self.configuration
        ).checkpointer
        try owner.append(engine.takeDelta(), lostEvents: 0)
        for _ in 0..<500 { engine.ingest(stream.next()) }
        engine.nextOffset = 1_000
        try owner.append(engine.takeDelta(), lostEvents: 2)
        #expect(try owner.compact() != nil)
        for _ in 0..<300 { engine.ingest(stream.next()) }
        engine.nextOffset = 1_300
        try owner.append(engine.takeDelta(), lostEvents: 2)
        let reader = RedisCheckpointStore(url: url, claims: false)
        let stored = try #require(try StoredCheckpoint(store: reader, partition: 0, configuration: Self.configuration))
        #expect(stored.engine.allStats() == engine.allStats())
        #expect(stored.manifest.offset == 1_300 && stored.manifest.lostEvents == 2)
        #expect(stored.manifest.generation == 1 && stored.manifest.deltas.count == 1)
        #expect(Set(try reader.listBlobs(topic: "swaps", partition: 0)) == stored.manifest.blobs)
    }

    @Test func anOwnerThatLostThePartitionCannotOverwriteTheNewOwner() throws {
        let server = try RedisServer()
        let url = RedisURL(server.url)!
        var (engine, stream) = Self.engine(300)
        var old = try PartitionCheckpointer.restore(
            store: RedisCheckpointStore(url: url), topic: "swaps", partition: 0, configuration: Self.configuration
        ).checkpointer
        try old.append(engine.takeDelta(), lostEvents: 0)
        // The partition moves: the new owner claims it and sees the old state.
        let claimed = try PartitionCheckpointer.restore(
            store: RedisCheckpointStore(url: url), topic: "swaps", partition: 0, configuration: Self.configuration)
        var new = claimed.checkpointer
        var moved = try #require(claimed.engine)
        #expect(moved.allStats() == engine.allStats())
        // The former owner's late delta is refused, and its blob collides with nothing.
        for _ in 0..<100 { engine.ingest(stream.next()) }
        engine.nextOffset = 400
        #expect {
            try old.append(engine.takeDelta(), lostEvents: 0)
        } throws: { error in
            if case .fenced = error as? CheckpointError { true } else { false }
        }
        for _ in 0..<50 { moved.ingest(stream.next()) }
        moved.nextOffset = 350
        try new.append(moved.takeDelta(), lostEvents: 0)
        let reader = RedisCheckpointStore(url: url, claims: false)
        let stored = try #require(try StoredCheckpoint(store: reader, partition: 0, configuration: Self.configuration))
        #expect(stored.manifest.offset == 350)
        #expect(stored.engine.allStats() == moved.allStats())
        // A reader never claims: it cannot write a manifest.
        #expect(throws: CheckpointError.self) { try reader.writeManifest([1], topic: "swaps", partition: 0) }
    }

    @Test func aFormatOneCheckpointIsRefusedAndQuarantineMovesItAside() throws {
        let server = try RedisServer()
        let url = RedisURL(server.url)!
        let redis = RedisConnection(url: url)
        _ = try redis.command(["HSET", "swapstats:ckpt:{t:1}", "n", "1", "c0", "old"])
        let store = RedisCheckpointStore(url: url)
        #expect {
            _ = try store.readManifest(topic: "t", partition: 1)
        } throws: { error in
            if case .unusable = error as? CheckpointError { true } else { false }
        }
        try store.quarantine(topic: "t", partition: 1)
        #expect(try store.readManifest(topic: "t", partition: 1).bytes == nil)
        guard case .array(let keys) = try redis.command(["KEYS", "swapstats:ckpt:{t:1}:corrupt-*"]) else {
            Issue.record("KEYS failed")
            return
        }
        #expect(keys.count == 1)
    }
}
