import Foundation
import SwapStatsCore
import SwapStatsTestSupport

/// Peak resident set size of this process so far, from /proc/self/status (VmHWM), in bytes.
func peakRSS() -> Int { procStatus("VmHWM") }

/// Resident set size now, in bytes.
func currentRSS() -> Int { procStatus("VmRSS") }

private func procStatus(_ key: String) -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
        let kb = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
        return kb * 1024
    }
    return 0
}

/// A full day of the design load through one engine: 1,000 swaps/s for 24 h (86.4 M events)
/// over Zipf(1.0) tokens (20,000), 500,000 wallets, 1 % duplicates, 2 s jitter, default
/// windows and DEDUP_TTL, event clock. `DAY_EVENTS` runs a shorter stream over the same 24 h.
func dayBench() {
    let env = ProcessInfo.processInfo.environment
    let n = Int(env["DAY_EVENTS"] ?? "86400000")!
    let tokens = Int(env["DAY_TOKENS"] ?? "20000")!
    let wallets = Int(env["DAY_WALLETS"] ?? "500000")!
    let span = Int64(env["DAY_SPAN"] ?? "86400000")!
    let configuration = try! EngineConfiguration(clock: .event)
    print(
        "day: \(n) events over \(span / 1000) s, Zipf(1.0) over \(tokens) tokens, \(wallets) wallets, 1% duplicates, 2s jitter"
    )
    var stream = ZipfStream(
        seed: 42, tokens: tokens, wallets: wallets, events: n, span: span, jitter: 2_000, duplicateShare: 0.01)
    let rssBefore = currentRSS()
    var engine = PartitionEngine(configuration: configuration)
    var chunk: [SwapEvent] = []
    chunk.reserveCapacity(65_536)
    var elapsed = 0.0
    var done = 0
    var nextReport = n / 8
    let pregenerated = env["DAY_PREGENERATE"] != nil
    if pregenerated {
        chunk.reserveCapacity(n)
        for _ in 0..<n { chunk.append(stream.next()) }
    }
    while done < n {
        if !pregenerated {
            chunk.removeAll(keepingCapacity: true)
            for _ in 0..<min(65_536, n - done) { chunk.append(stream.next()) }
        }
        // Events are moved into the engine, as the decoder hands them over (no copies).
        let count = chunk.count
        chunk.reverse()
        let t0 = now()
        while let e = chunk.popLast() { engine.ingest(e) }
        elapsed += now() - t0
        done += count
        if done >= nextReport {
            nextReport += n / 8
            let m = engine.memory
            print(
                "  \(done / 1_000_000)M events: \(String(format: "%.2f", Double(done) / elapsed / 1e6)) M/s, "
                    + "RSS \(currentRSS() >> 20) MiB, state \(m.total >> 20) MiB "
                    + "(dedup \(m.dedup >> 20), buckets \(m.buckets >> 20), ids \(m.ids >> 20), "
                    + "wallets \(m.wallets >> 20), other \(m.other >> 20))")
        }
    }
    let t0 = now()
    engine.flush()
    elapsed += now() - t0
    let accepted = Double(engine.counters.accepted)
    let m = engine.memory
    report("day ingest, one core", Double(n) / elapsed / 1e6, "M events/s")
    report("  accepted / duplicate", accepted, "/ \(engine.counters.duplicate)")
    report("peak RSS of the process", Double(peakRSS()) / 1_073_741_824, "GiB")
    report("  per event held in the 24h window", Double(peakRSS()) / accepted, "B")
    report("  RSS before the engine", Double(rssBefore) / 1_048_576, "MiB")
    report("engine's own estimate per event", Double(m.total) / accepted, "B")
    report("  dedup", Double(m.dedup) / accepted, "B")
    report("  bucket slots and records", Double(m.buckets) / accepted, "B")
    report("  open/close ids", Double(m.ids) / accepted, "B")
    report("  wallets (per token and numbers)", Double(m.wallets) / accepted, "B")
    report("  other", Double(m.other) / accepted, "B")
    report("tokens / wallets numbered", Double(engine.tokenCount), "/ \(engine.walletCount)")
    withExtendedLifetime(engine) {}
}
