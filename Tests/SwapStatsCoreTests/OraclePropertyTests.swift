import SwapStatsTestSupport
import Testing

@testable import SwapStatsCore

/// The engine against the brute-force oracle on random adversarial streams.
@Suite struct OraclePropertyTests {
    /// Tokens seen in each representation over a run.
    struct Modes {
        var small = 0
        var sliding = 0
    }

    /// Runs one stream; returns a description of every mismatch (empty when exact).
    static func run(_ stream: AdversarialStream, modes: inout Modes) -> [String] {
        let config = stream.configuration
        let decoder = EventDecoder()
        // Odd seeds make nearly every token slide; even seeds keep the default threshold.
        let threshold = stream.seed % 2 == 1 ? 2 : TokenState.defaultSlidingThreshold
        var engines = (0..<stream.partitions).map { _ in
            var e = PartitionEngine(configuration: config, slidingThreshold: threshold)
            e.startJournal()
            return e
        }
        var chains = (0..<stream.partitions).map { _ in CheckpointChain() }
        var rng = SplitMix64(seed: stream.seed ^ 0xC0FFEE)
        var oracles = (0..<stream.partitions).map { _ in Oracle(configuration: config) }
        var problems: [String] = []
        for (n, step) in stream.steps.enumerated() {
            let at = "seed \(stream.seed) step \(n)"
            switch step {
            case .message(let p, let bytes, let expected):
                switch decoder.decode(bytes) {
                case .success(let event):
                    guard let expected else {
                        problems.append("\(at): invalid bytes decoded as \(event)")
                        continue
                    }
                    if event != expected { problems.append("\(at): decoded \(event), want \(expected)") }
                    let got = engines[p].ingest(event)
                    let want = oracles[p].ingest(expected)
                    if got != want { problems.append("\(at): outcome \(got), want \(want)") }
                case .failure(let reason):
                    if expected != nil { problems.append("\(at): valid event rejected as \(reason)") }
                }
            case .tick(let wall):
                for p in engines.indices {
                    engines[p].tick(wallNow: wall)
                    oracles[p].tick(wallNow: wall)
                }
            case .checkpoint:
                // A delta of what changed; now and then the chain is compacted into a new
                // base (cut in 1 to 8 pieces); the engine goes on from the restored state.
                for p in engines.indices {
                    do {
                        chains[p].append(engines[p].takeDelta())
                        if rng.chance(0.4) { try chains[p].compact(configuration: config, count: 1 << rng.int(0...3)) }
                        var restored = try chains[p].restore(configuration: config, slidingThreshold: threshold)
                        if restored.allStats() != engines[p].allStats() { problems.append("\(at): restore differs") }
                        if restored.counters != engines[p].counters || restored.asOf != engines[p].asOf
                            || restored.bufferedCount != engines[p].bufferedCount
                            || restored.nextOffset != engines[p].nextOffset
                        {
                            problems.append("\(at): restored scalars differ")
                        }
                        restored.startJournal()
                        engines[p] = restored
                    } catch {
                        problems.append("\(at): restore failed: \(error)")
                    }
                }
            case .query(let extra):
                for p in engines.indices where engines[p].asOf != oracles[p].asOf {
                    problems.append(
                        "\(at): partition \(p) asOf \(String(describing: engines[p].asOf)), want \(String(describing: oracles[p].asOf))"
                    )
                }
                guard let newest = engines.compactMap(\.asOf).max() else { continue }
                let asOf = newest + extra * config.bucketStep
                for p in engines.indices {
                    let tokens = Set(engines[p].allStats(asOf: asOf).map(\.token)).union(oracles[p].tokens(asOf: asOf))
                    for token in tokens.sorted() {
                        let diff = StatsComparison.mismatches(
                            engines[p].stats(token: token, asOf: asOf), oracles[p].stats(token: token, asOf: asOf))
                        problems += diff.map { "\(at) token \(token) asOf \(asOf): \($0)" }
                    }
                }
            }
            if problems.count > 20 { break }
        }
        for engine in engines {
            for i in engine.tokens.indices where !engine.tokenNames[i].isEmpty {
                if engine.tokens[i].isSliding { modes.sliding += 1 } else { modes.small += 1 }
            }
        }
        for p in engines.indices where engines[p].counters != oracles[p].counters {
            problems.append("seed \(stream.seed): counters \(engines[p].counters), want \(oracles[p].counters)")
        }
        return problems
    }

    @Test func engineMatchesOracleOnOneThousandAdversarialStreams() {
        var failing: [String] = []
        var queries = 0
        var modes = Modes()
        for seed in UInt64(1)...1_000 {
            let stream = AdversarialStream(seed: seed)
            queries += stream.steps.filter { if case .query = $0 { true } else { false } }.count
            let problems = Self.run(stream, modes: &modes)
            if !problems.isEmpty { failing.append(problems.prefix(5).joined(separator: "\n")) }
        }
        #expect(queries > 2_000)
        // Both representations of a token (scanned while small, sliding when busy) are covered.
        #expect(modes.small > 500 && modes.sliding > 500, "\(modes)")
        #expect(
            failing.isEmpty, "\(failing.count) streams mismatch:\n\(failing.prefix(5).joined(separator: "\n---\n"))")
    }

    @Test func theGeneratorReallyIsAdversarial() {
        var totals = IngestCounters()
        for seed in UInt64(1)...100 {
            let stream = AdversarialStream(seed: seed)
            var oracles = (0..<stream.partitions).map { _ in Oracle(configuration: stream.configuration) }
            for step in stream.steps {
                if case .message(let p, _, let e?) = step { _ = oracles[p].ingest(e) }
                if case .tick(let wall) = step { for p in oracles.indices { oracles[p].tick(wallNow: wall) } }
            }
            for o in oracles {
                totals.accepted += o.counters.accepted
                totals.duplicate += o.counters.duplicate
                totals.lateApplied += o.counters.lateApplied
                totals.lateDropped += o.counters.lateDropped
                totals.expired += o.counters.expired
            }
        }
        #expect(totals.duplicate > 500)
        #expect(totals.lateApplied > 200)
        #expect(totals.lateDropped > 200)
        #expect(totals.expired > 200)
        #expect(totals.accepted > 5 * totals.duplicate)
    }
}
