import SwapStatsCore
import SwapStatsTestSupport
import Testing

@Suite struct SnapshotTests {
    /// An engine fed the first part of a generated stream.
    func engine(seed: UInt64) -> (PartitionEngine, AdversarialStream) {
        let stream = AdversarialStream(seed: seed, events: 300...300)
        var e = PartitionEngine(configuration: stream.configuration)
        for step in stream.steps {
            if case .message(_, _, let expected?) = step { e.ingest(expected) }
            if case .tick(let wall) = step { e.tick(wallNow: wall) }
        }
        return (e, stream)
    }

    @Test func restoreAnswersIdenticallyAndKeepsAccepting() throws {
        for seed in UInt64(1)...20 {
            var (original, stream) = engine(seed: seed)
            original.nextOffset = 4_242
            var restored = try PartitionEngine(restoring: original.snapshot(), configuration: stream.configuration)
            #expect(restored.nextOffset == 4_242)
            #expect(restored.counters == original.counters)
            #expect(restored.allStats().count == original.allStats().count)
            for s in original.allStats() { #expect(restored.stats(token: s.token) == s) }
            // Both keep going the same way.
            let t = (original.asOf ?? 0) + 1
            for i in 0..<50 {
                let e = SwapEvent(
                    id: "more-\(i)", token: "0xnew\(i % 3)", who: "w\(i % 7)", side: i % 2 == 0 ? .buy : .sell,
                    amount: Double(i + 1), usd: Double(i * 3 + 1), ts: t + Int64(i * 700))
                #expect(original.ingest(e) == restored.ingest(e))
            }
            original.flush()
            restored.flush()
            #expect(restored.allStats() == original.allStats(), "seed \(seed)")
            let again = try PartitionEngine(restoring: restored.snapshot(), configuration: stream.configuration)
            #expect(again.allStats() == original.allStats(), "seed \(seed)")
            #expect(again.counters == original.counters)
        }
    }

    @Test func corruptionIsDetectedNeverLoaded() throws {
        let (e, stream) = engine(seed: 7)
        let bytes = e.snapshot()
        var rng = SplitMix64(seed: 99)
        for _ in 0..<200 {
            var bad = bytes
            let i = Int(rng.next() % UInt64(bad.count))
            bad[i] ^= UInt8(1 << (rng.next() % 8))
            #expect(throws: SnapshotError.self) {
                _ = try PartitionEngine(restoring: bad, configuration: stream.configuration)
            }
        }
        #expect(throws: SnapshotError.truncated) {
            _ = try PartitionEngine(restoring: Array(bytes.dropLast(5)), configuration: stream.configuration)
        }
        #expect(throws: SnapshotError.badMagic) {
            _ = try PartitionEngine(restoring: Array("nope".utf8), configuration: stream.configuration)
        }
    }

    @Test func anotherConfigurationIsRefused() throws {
        let (e, stream) = engine(seed: 3)
        let other = try EngineConfiguration(
            windows: stream.configuration.windows, bucketStep: stream.configuration.bucketStep,
            allowedLateness: stream.configuration.allowedLateness + 1)
        #expect {
            _ = try PartitionEngine(restoring: e.snapshot(), configuration: other)
        } throws: { error in
            if case .configurationMismatch = error as? SnapshotError { return true }
            return false
        }
    }
}
