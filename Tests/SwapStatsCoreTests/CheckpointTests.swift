import SwapStatsTestSupport
import Testing

@testable import SwapStatsCore

/// Incremental checkpoints: a base and the deltas after it restore exactly the state they
/// were taken from, whatever the interval and however the base was cut; damage is always
/// detected.
@Suite struct IncrementalCheckpointTests {
    static let configuration = try! EngineConfiguration(
        windows: [WindowSpec(name: "1m", millis: 60_000), WindowSpec(name: "10m", millis: 600_000)],
        bucketStep: 1_000, allowedLateness: 2_000, clock: .event)

    /// A realistic stream: Zipf tokens, a few hundred wallets, jitter, duplicates, 20 minutes.
    static func stream(_ seed: UInt64, events: Int) -> [SwapEvent] {
        var s = ZipfStream(
            seed: seed, tokens: 300, wallets: 400, events: events, span: 1_200_000, jitter: 3_000,
            duplicateShare: 0.02)
        return (0..<events).map { _ in s.next() }
    }

    @Test func restoringAtEveryIntervalBoundaryEqualsTheUninterruptedEngine() throws {
        for seed in UInt64(1)...4 {
            let events = Self.stream(seed, events: 8_000)
            var rng = SplitMix64(seed: seed)
            var live = PartitionEngine(configuration: Self.configuration)
            live.startJournal()
            var chain = CheckpointChain()
            var i = 0
            while i < events.count {
                let n = rng.int(1...1_500)
                for e in events[i..<min(events.count, i + n)] { live.ingest(e) }
                i = min(i + n, events.count)
                live.nextOffset = Int64(i)
                chain.append(live.takeDelta())
                if rng.chance(0.3) { try chain.compact(configuration: Self.configuration, count: 1 << rng.int(0...6)) }
                var restored = try chain.restore(configuration: Self.configuration)
                #expect(restored.allStats() == live.allStats(), "seed \(seed) at \(i)")
                #expect(restored.counters == live.counters && restored.nextOffset == live.nextOffset)
                #expect(restored.bufferedCount == live.bufferedCount)
                // Both go on the same way (the restored copy without a journal of its own).
                var copy = live
                let more = events[i..<min(events.count, i + 300)]
                for e in more {
                    #expect(restored.ingest(e) == copy.ingest(e))
                }
                restored.flush()
                copy.flush()
                #expect(restored.allStats() == copy.allStats(), "seed \(seed) after \(i)")
            }
        }
    }

    @Test func aDeltaHoldsWhatChangedNotTheState() throws {
        let events = Self.stream(11, events: 60_000)
        var engine = PartitionEngine(configuration: Self.configuration)
        engine.startJournal()
        for e in events[..<50_000] { engine.ingest(e) }
        let first = CheckpointFormat.encodeDelta(engine.takeDelta(), sequence: 1)
        for e in events[50_000..<50_500] { engine.ingest(e) }
        let small = CheckpointFormat.encodeDelta(engine.takeDelta(), sequence: 2)
        let idle = CheckpointFormat.encodeDelta(engine.takeDelta(), sequence: 3)
        // The state holds 50,000 events; the delta of 500 more holds their tokens' headers,
        // the buckets they touched, their ids and wallets: less than twice their JSON.
        let json = events[50_000..<50_500].reduce(0) { $0 + ZipfStream.json($1).utf8.count }
        #expect(small.count < 2 * json, "\(small.count) bytes for 500 events of \(json) bytes of JSON")
        #expect(first.count > 10 * small.count, "\(first.count) vs \(small.count)")
        #expect(idle.count < small.count / 10, "\(idle.count) bytes with nothing applied")
    }

    @Test func damagedDeltasAndBasesAreDetectedNeverLoaded() throws {
        let events = Self.stream(21, events: 4_000)
        var engine = PartitionEngine(configuration: Self.configuration)
        engine.startJournal()
        var chain = CheckpointChain()
        for e in events[..<2_000] { engine.ingest(e) }
        chain.append(engine.takeDelta())
        try chain.compact(configuration: Self.configuration, count: 2)
        for e in events[2_000...] { engine.ingest(e) }
        chain.append(engine.takeDelta())
        var rng = SplitMix64(seed: 77)
        for _ in 0..<300 {
            var bad = chain
            if rng.chance(0.5) {
                var blob = bad.deltas[0]
                blob[rng.int(0...(blob.count - 1))] ^= UInt8(1 << rng.int(0...7))
                bad.deltas[0] = blob
            } else {
                let k = rng.int(0...1)
                var blob = bad.basePieces[k]
                blob[rng.int(0...(blob.count - 1))] ^= UInt8(1 << rng.int(0...7))
                bad.basePieces[k] = blob
            }
            #expect(throws: SnapshotError.self) { _ = try bad.restore(configuration: Self.configuration) }
        }
        var truncated = chain
        truncated.deltas[0].removeLast(9)
        #expect(throws: SnapshotError.self) { _ = try truncated.restore(configuration: Self.configuration) }
        let other = try EngineConfiguration(
            windows: Self.configuration.windows, bucketStep: 1_000, allowedLateness: 1_000, clock: .event)
        #expect {
            _ = try chain.restore(configuration: other)
        } throws: { error in
            if case .configurationMismatch = error as? SnapshotError { true } else { false }
        }
    }

    @Test func compactionKeepsEachPieceToItsShareOfTheState() throws {
        let events = Self.stream(31, events: 30_000)
        var engine = PartitionEngine(configuration: Self.configuration)
        engine.startJournal()
        var chain = CheckpointChain()
        for e in events { engine.ingest(e) }
        chain.append(engine.takeDelta())
        try chain.compact(configuration: Self.configuration, count: 8)
        let sizes = chain.basePieces.map(\.count)
        let total = sizes.reduce(0, +)
        #expect(sizes.count == 8)
        for s in sizes { #expect(s < total / 3, "\(sizes)") }
        #expect(try chain.restore(configuration: Self.configuration).allStats() == engine.allStats())
        #expect(CheckpointCompaction.pieceCount(forBytes: 10 << 20) == 1)
        #expect(CheckpointCompaction.pieceCount(forBytes: 5 << 30) == 64)
    }
}
