import Foundation
import SwapStatsCheckpoints
import SwapStatsCore
import SwapStatsPipeline
import SwapStatsTestSupport
import Testing

@Suite struct CheckpointTests {
    /// An engine fed `events` generated swaps, journaling from the start.
    func engine(events: Int, seed: UInt64 = 5) throws -> (PartitionEngine, EngineConfiguration, ZipfStream) {
        let configuration = try eventClockConfiguration()
        var engine = PartitionEngine(configuration: configuration)
        engine.startJournal()
        var stream = ZipfStream(seed: seed, tokens: 20, wallets: 30, events: 3_000, span: 600_000, jitter: 5_000)
        for _ in 0..<events { engine.ingest(stream.next()) }
        engine.nextOffset = Int64(events)
        return (engine, configuration, stream)
    }

    @Test func aCheckpointRoundTripsStateOffsetAndLoss() throws {
        let store = try DirectoryCheckpointStore(directory: temporaryDirectory("ckpt"))
        var (engine, configuration, _) = try engine(events: 300)
        var checkpointer = try PartitionCheckpointer.restore(
            store: store, topic: "swaps", partition: 0, configuration: configuration
        ).checkpointer
        try checkpointer.append(engine.takeDelta(), lostEvents: 7)
        let stored = try #require(try StoredCheckpoint(store: store, partition: 0, configuration: configuration))
        #expect(stored.manifest.offset == 300)
        #expect(stored.manifest.lostEvents == 7)
        #expect(stored.engine.allStats() == engine.allStats())
        #expect(stored.engine.counters == engine.counters)
    }

    @Test func deltasPileUpAndACompactionFoldsThemIntoABase() throws {
        let directory = temporaryDirectory("compact")
        let store = try DirectoryCheckpointStore(directory: directory)
        var (engine, configuration, stream) = try engine(events: 100)
        var checkpointer = try PartitionCheckpointer.restore(
            store: store, topic: "swaps", partition: 0, configuration: configuration
        ).checkpointer
        for round in 1...6 {
            for _ in 0..<200 { engine.ingest(stream.next()) }
            engine.nextOffset = Int64(100 + 200 * round)
            try checkpointer.append(engine.takeDelta(), lostEvents: 0)
        }
        #expect(checkpointer.manifest.deltas.count == 6 && checkpointer.manifest.generation == 0)
        let bytes = try #require(try checkpointer.compact())
        #expect(bytes > 0 && checkpointer.manifest.deltas.isEmpty && checkpointer.manifest.generation == 1)
        // Only the manifest and the base's pieces are left.
        let files = try FileManager.default.contentsOfDirectory(atPath: "\(directory)/swaps/0")
        #expect(Set(files) == checkpointer.manifest.blobs.union(["MANIFEST"]), "\(files)")
        for _ in 0..<200 { engine.ingest(stream.next()) }
        engine.nextOffset = 1_500
        try checkpointer.append(engine.takeDelta(), lostEvents: 0)
        let stored = try #require(try StoredCheckpoint(store: store, partition: 0, configuration: configuration))
        #expect(stored.engine.allStats() == engine.allStats())
        #expect(stored.manifest.offset == 1_500)
    }

    /// A base keeps its scalars (the reorder buffer among them) in a blob of their own, so
    /// each checkpoint's manifest stays small; a damaged scalars blob is never loaded, and a
    /// version 1 manifest (scalars inline) is still read and appended to.
    @Test func theBasesScalarsLiveInABlobAndVersionOneManifestsAreStillRead() throws {
        let directory = temporaryDirectory("scalars")
        let store = try DirectoryCheckpointStore(directory: directory)
        var (engine, configuration, stream) = try engine(events: 600)
        var checkpointer = try PartitionCheckpointer.restore(
            store: store, topic: "swaps", partition: 0, configuration: configuration
        ).checkpointer
        try checkpointer.append(engine.takeDelta(), lostEvents: 0)
        _ = try #require(try checkpointer.compact())
        let m = checkpointer.manifest
        #expect(!m.baseScalarsBlob.isEmpty && m.baseScalars.isEmpty && m.blobs.contains(m.baseScalarsBlob))
        let scalars = try store.readBlob(m.baseScalarsBlob, range: nil, topic: "swaps", partition: 0)
        // The reorder buffer holds events (5 s of jitter): the scalars outweigh the manifest.
        #expect(engine.bufferedCount > 0)
        #expect(scalars.count > m.encoded().count)
        #expect(Array(m.encoded()[4..<6]) == [2, 0])

        // Damaged: refused.
        let path = "\(directory)/swaps/0/\(m.baseScalarsBlob)"
        let good = try Data(contentsOf: URL(fileURLWithPath: path))
        var bad = good
        bad[bad.count / 2] ^= 0x10
        try bad.write(to: URL(fileURLWithPath: path))
        #expect(throws: CheckpointError.self) {
            _ = try StoredCheckpoint(store: store, partition: 0, configuration: configuration)
        }
        try good.write(to: URL(fileURLWithPath: path))

        // The same checkpoint as version 1 wrote it: scalars inline, no scalars blob.
        var legacy = m
        legacy.baseScalars = scalars
        legacy.baseScalarsBlob = ""
        legacy.baseScalarsChecksum = 0
        let bytes = legacy.encoded()
        #expect(Array(bytes[4..<6]) == [1, 0])
        #expect(try CheckpointManifest(decoding: bytes) == legacy)
        try store.deleteBlobs([m.baseScalarsBlob], topic: "swaps", partition: 0)
        try store.writeManifest(bytes, topic: "swaps", partition: 0)
        var (again, restored) = try PartitionCheckpointer.restore(
            store: store, topic: "swaps", partition: 0, configuration: configuration)
        #expect(try #require(restored).allStats() == engine.allStats())
        for _ in 0..<300 { engine.ingest(stream.next()) }
        engine.nextOffset = 900
        try again.append(engine.takeDelta(), lostEvents: 0)
        let stored = try #require(try StoredCheckpoint(store: store, partition: 0, configuration: configuration))
        #expect(stored.engine.allStats() == engine.allStats())
        #expect(stored.manifest.baseScalars == scalars)
    }

    @Test func aCompactionAskedToStopChangesNothing() throws {
        let store = try DirectoryCheckpointStore(directory: temporaryDirectory("stop"))
        var (engine, configuration, _) = try engine(events: 500)
        var checkpointer = try PartitionCheckpointer.restore(
            store: store, topic: "swaps", partition: 0, configuration: configuration
        ).checkpointer
        try checkpointer.append(engine.takeDelta(), lostEvents: 0)
        let before = checkpointer.manifest
        #expect(try checkpointer.compact(shouldStop: { true }) == nil)
        #expect(checkpointer.manifest == before)
        #expect(Set(try store.listBlobs(topic: "swaps", partition: 0)) == before.blobs)
    }

    @Test func damagedBlobsAndManifestsAreDetectedNeverLoaded() throws {
        let directory = temporaryDirectory("damage")
        let store = try DirectoryCheckpointStore(directory: directory)
        var (engine, configuration, _) = try engine(events: 400)
        var checkpointer = try PartitionCheckpointer.restore(
            store: store, topic: "swaps", partition: 0, configuration: configuration
        ).checkpointer
        try checkpointer.append(engine.takeDelta(), lostEvents: 0)
        let folder = "\(directory)/swaps/0"
        var rng = SplitMix64(seed: 3)
        for name in ["MANIFEST", checkpointer.manifest.deltas[0].blob] {
            let path = "\(folder)/\(name)"
            let good = try Data(contentsOf: URL(fileURLWithPath: path))
            for _ in 0..<40 {
                var bad = good
                bad[rng.int(0...(bad.count - 1))] ^= UInt8(1 << rng.int(0...7))
                try bad.write(to: URL(fileURLWithPath: path))
                #expect(throws: CheckpointError.self) {
                    _ = try StoredCheckpoint(store: store, partition: 0, configuration: configuration)
                }
            }
            try good.write(to: URL(fileURLWithPath: path))
        }
        #expect(try StoredCheckpoint(store: store, partition: 0, configuration: configuration) != nil)
    }

    @Test func aFormatOneCheckpointIsRefusedAndMovedAside() throws {
        let directory = temporaryDirectory("legacy")
        let store = try DirectoryCheckpointStore(directory: directory)
        try FileManager.default.createDirectory(atPath: "\(directory)/swaps", withIntermediateDirectories: true)
        try Data("SWPC old".utf8).write(to: URL(fileURLWithPath: "\(directory)/swaps/3.ckpt"))
        #expect {
            _ = try PartitionCheckpointer.restore(
                store: store, topic: "swaps", partition: 3, configuration: try eventClockConfiguration())
        } throws: { error in
            if case .unusable(let why) = error as? CheckpointError { why.contains("format 1") } else { false }
        }
        try store.quarantine(topic: "swaps", partition: 3)
        let files = try FileManager.default.contentsOfDirectory(atPath: "\(directory)/swaps")
        #expect(files.count == 1 && files[0].hasPrefix("3.ckpt.corrupt-"))
        #expect(try store.readManifest(topic: "swaps", partition: 3).bytes == nil)
    }

    @Test func blobsNoManifestNamesAreCollectedOnRestore() throws {
        let store = try DirectoryCheckpointStore(directory: temporaryDirectory("stray"))
        var (engine, configuration, _) = try engine(events: 200)
        var checkpointer = try PartitionCheckpointer.restore(
            store: store, topic: "swaps", partition: 0, configuration: configuration
        ).checkpointer
        try checkpointer.append(engine.takeDelta(), lostEvents: 0)
        // A crash between a blob and its manifest leaves the blob behind.
        try store.writeBlob("e0-crashed-d9", [1, 2, 3], topic: "swaps", partition: 0)
        let restored = try PartitionCheckpointer.restore(
            store: store, topic: "swaps", partition: 0, configuration: configuration)
        #expect(restored.engine?.allStats() == engine.allStats())
        #expect(Set(try store.listBlobs(topic: "swaps", partition: 0)) == checkpointer.manifest.blobs)
    }

    @Test func anUnwritableDirectoryIsAnError() {
        #expect(throws: CheckpointError.self) {
            try DirectoryCheckpointStore(directory: "/proc/swapstats-cannot-exist")
        }
    }
}
