import Foundation
import SwapStatsCore
import SwapStatsPipeline
import SwapStatsTestSupport
import Testing

@Suite struct CheckpointTests {
    func sampleCheckpoint() throws -> (PartitionCheckpoint, EngineConfiguration) {
        let configuration = try eventClockConfiguration()
        var engine = PartitionEngine(configuration: configuration)
        var stream = ZipfStream(seed: 5, tokens: 20, wallets: 30, events: 300, span: 600_000, jitter: 5_000)
        for _ in 0..<300 { engine.ingest(stream.next()) }
        engine.nextOffset = 300
        return (PartitionCheckpoint(engine: engine, lostEvents: 7), configuration)
    }

    @Test func roundTripsStateOffsetAndLoss() throws {
        let (checkpoint, configuration) = try sampleCheckpoint()
        let decoded = try PartitionCheckpoint(decoding: checkpoint.encoded())
        #expect(decoded.offset == 300)
        #expect(decoded.lostEvents == 7)
        #expect(decoded.state == checkpoint.state)
        let engine = try decoded.restore(configuration: configuration)
        #expect(engine.nextOffset == 300)
        #expect(engine.counters.accepted > 0)
    }

    @Test func everyFlippedBitAndEveryTruncationIsDetected() throws {
        let bytes = try sampleCheckpoint().0.encoded()
        var rng = SplitMix64(seed: 99)
        for _ in 0..<2_000 {
            var damaged = bytes
            let i = Int(rng.next() % UInt64(bytes.count))
            damaged[i] ^= UInt8(1) << (rng.next() % 8)
            #expect(throws: CheckpointError.self) { try PartitionCheckpoint(decoding: damaged) }
        }
        for length in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 500)) {
            #expect(throws: CheckpointError.self) { try PartitionCheckpoint(decoding: Array(bytes[..<length])) }
        }
    }

    @Test func aCheckpointTakenUnderOtherWindowsIsRefused() throws {
        let (checkpoint, _) = try sampleCheckpoint()
        let other = try EngineConfiguration.fromEnvironment(["CLOCK": "event", "WINDOWS": "5m,1h"])
        #expect(throws: CheckpointError.self) { try checkpoint.restore(configuration: other) }
    }

    @Test func theDirectoryStoreReplacesAtomicallyAndQuarantines() throws {
        let directory = temporaryDirectory("store")
        let store = try DirectoryCheckpointStore(directory: directory)
        #expect(try store.load(topic: "swaps", partition: 3) == nil)
        try store.save([1, 2, 3], topic: "swaps", partition: 3)
        try store.save([4, 5], topic: "swaps", partition: 3)
        #expect(try store.load(topic: "swaps", partition: 3) == [4, 5])
        // No temporary file is left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(directory)/swaps") == ["3.ckpt"])
        try store.quarantine(topic: "swaps", partition: 3)
        #expect(try store.load(topic: "swaps", partition: 3) == nil)
        let files = try FileManager.default.contentsOfDirectory(atPath: "\(directory)/swaps")
        #expect(files.count == 1 && files[0].hasPrefix("3.ckpt.corrupt-"))
    }

    @Test func anUnwritableDirectoryIsAnError() {
        #expect(throws: CheckpointError.self) {
            try DirectoryCheckpointStore(directory: "/proc/swapstats-cannot-exist")
        }
    }
}
