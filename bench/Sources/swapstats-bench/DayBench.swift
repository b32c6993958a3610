import Dispatch
import Foundation
import SwapStatsCheckpoints
import SwapStatsCore
import SwapStatsPipeline
import SwapStatsTestSupport
import Synchronization

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

/// Checkpoints of the day bench, stored by a writer thread of their own as the pipeline's
/// writer does: deltas appended in order, compaction when they outgrow the base.
final class DayCheckpoints: Sendable {
    struct Figures {
        var deltas = 0
        /// Bytes written per checkpoint (delta and manifest) and the events it covered.
        var deltaBytes: [Int] = []
        var deltaEvents: [Int] = []
        var writeSeconds: [Double] = []
        var compactions = 0
        var compactionSeconds: [Double] = []
        var compactedBytes: [Int] = []
    }

    let queue = DispatchQueue(label: "day.checkpoints")
    let checkpointer: Mutex<PartitionCheckpointer>
    let figures = Mutex(Figures())
    /// Deltas handed over and not stored yet (with a compaction that follows).
    let queued = Atomic<Int>(0)

    init(_ checkpointer: PartitionCheckpointer) { self.checkpointer = Mutex(checkpointer) }

    /// Whether the writer is through with every delta handed over.
    var isIdle: Bool { queued.load(ordering: .acquiring) == 0 }

    func write(_ delta: EngineDelta, events: Int) {
        queued.add(1, ordering: .relaxed)
        queue.async { [self] in
            defer { queued.subtract(1, ordering: .releasing) }
            let t0 = now()
            let bytes = try! checkpointer.withLock { try $0.append(delta, lostEvents: 0) }
            let t1 = now()
            figures.withLock {
                $0.deltas += 1
                $0.deltaBytes.append(bytes)
                $0.deltaEvents.append(events)
                $0.writeSeconds.append(t1 - t0)
            }
            if checkpointer.withLock({ $0.wantsCompaction }) {
                let c0 = now()
                let base = try! checkpointer.withLock { try $0.compact() }
                let seconds = now() - c0
                figures.withLock {
                    $0.compactions += 1
                    $0.compactionSeconds.append(seconds)
                    $0.compactedBytes.append(base ?? 0)
                }
                print(
                    "  compaction: base of \(String(format: "%.1f", Double(base ?? 0) / 1e6)) MB in \(String(format: "%.1f", seconds)) s"
                )
            }
        }
    }

    func drain() { queue.sync {} }
}

/// A full day of the design load through one engine: 1,000 swaps/s for 24 h (86.4 M events)
/// over Zipf(1.0) tokens (20,000), 500,000 wallets, 1 % duplicates, 2 s jitter, default
/// windows and DEDUP_TTL, event clock.
///
/// Environment: `DAY_EVENTS` (a shorter stream over the same 24 h), `DAY_TOKENS`,
/// `DAY_WALLETS`, `DAY_SPAN` (ms); `DAY_STATE_DIR` checkpoints into that directory every
/// `DAY_CHECKPOINT_EVENTS` events (default: 10 s of event time). The engine runs some 200
/// times faster than the stream's real time, and the server's `CHECKPOINT_INTERVAL` is wall
/// time, so deltas would come far more often here than in the server and pile up behind the
/// writer: a checkpoint is taken at a boundary only when the writer is through with the last
/// one, otherwise at the next boundary where it is (that delta covers more events). When the
/// directory already holds a checkpoint, the bench first restores it and goes on from its offset (the restart after a `kill -9`);
/// `DAY_DIGEST` writes a digest of the final answers to that file.
func dayBench() {
    let env = ProcessInfo.processInfo.environment
    let n = Int(env["DAY_EVENTS"] ?? "86400000")!
    let tokens = Int(env["DAY_TOKENS"] ?? "20000")!
    let wallets = Int(env["DAY_WALLETS"] ?? "500000")!
    let span = Int64(env["DAY_SPAN"] ?? "86400000")!
    let interval = Int(env["DAY_CHECKPOINT_EVENTS"] ?? "\(max(1, Int(Int64(n) * 10_000 / span)))")!
    let configuration = try! EngineConfiguration(clock: .event)
    print(
        "day: \(n) events over \(span / 1000) s, Zipf(1.0) over \(tokens) tokens, \(wallets) wallets, 1% duplicates, 2s jitter"
    )
    var stream = ZipfStream(
        seed: 42, tokens: tokens, wallets: wallets, events: n, span: span, jitter: 2_000, duplicateShare: 0.01)
    let rssBefore = currentRSS()
    var engine = PartitionEngine(configuration: configuration)
    var checkpoints: DayCheckpoints?
    var done = 0
    if let dir = env["DAY_STATE_DIR"] {
        let store = try! DirectoryCheckpointStore(directory: dir)
        let t0 = now()
        let (checkpointer, restored) = try! PartitionCheckpointer.restore(
            store: store, topic: "swaps", partition: 0, configuration: configuration)
        if let restored {
            let seconds = now() - t0
            engine = restored
            done = Int(engine.nextOffset)
            let m = checkpointer.manifest
            report("restore (base + deltas), ready after", seconds, "s")
            report("  base bytes / pieces", Double(m.baseBytes), "/ \(m.basePieces.count)")
            report("  deltas / their bytes", Double(m.deltas.count), "/ \(m.deltaBytes)")
            report("  events restored", Double(done), "")
            let s0 = now()
            for _ in 0..<done { _ = stream.next() }
            print("  (stream regenerated up to the checkpoint in \(String(format: "%.0f", now() - s0)) s, untimed)")
        } else {
            engine.startJournal()
        }
        checkpoints = DayCheckpoints(checkpointer)
    }
    let first = done
    var chunk: [SwapEvent] = []
    chunk.reserveCapacity(65_536)
    var elapsed = 0.0
    var nextReport = done + n / 8
    var captureSeconds: [Double] = []
    var jsonSample = (bytes: 0, events: 0)
    var sinceCheckpoint = 0
    /// Takes a delta of the events since the last one (timed: it runs on the ingest thread)
    /// and hands it to the writer.
    func checkpoint(_ checkpoints: DayCheckpoints) {
        engine.nextOffset = Int64(done)
        let c0 = now()
        let delta = engine.takeDelta()
        let c1 = now()
        captureSeconds.append(c1 - c0)
        elapsed += c1 - c0
        checkpoints.write(delta, events: sinceCheckpoint)
        sinceCheckpoint = 0
    }
    while done < n {
        chunk.removeAll(keepingCapacity: true)
        for _ in 0..<min(65_536, n - done) {
            let e = stream.next()
            if (done + chunk.count) % 97 == 0 {
                jsonSample.bytes += ZipfStream.json(e).utf8.count
                jsonSample.events += 1
            }
            chunk.append(e)
        }
        // Events are moved into the engine, as the decoder hands them over (no copies).
        let count = chunk.count
        chunk.reverse()
        var left = count
        while left > 0 {
            let take = checkpoints == nil ? left : min(left, interval - sinceCheckpoint % interval)
            let t0 = now()
            for _ in 0..<take { engine.ingest(chunk.removeLast()) }
            elapsed += now() - t0
            left -= take
            done += take
            sinceCheckpoint += take
            if let checkpoints, sinceCheckpoint % interval == 0, checkpoints.isIdle { checkpoint(checkpoints) }
        }
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
    if let checkpoints, sinceCheckpoint > 0 {
        // The last events, checkpointed once the writer is free (as the server's final
        // checkpoint on shutdown): the state on disk reflects the whole stream.
        checkpoints.drain()
        checkpoint(checkpoints)
    }
    let t0 = now()
    engine.flush()
    elapsed += now() - t0
    let accepted = Double(engine.counters.accepted)
    let m = engine.memory
    report("day ingest, one core (this run's events)", Double(done - first) / elapsed / 1e6, "M events/s")
    report("  accepted / duplicate", accepted, "/ \(engine.counters.duplicate)")
    report("peak RSS of the process", Double(peakRSS()) / 1_073_741_824, "GiB")
    report("  per event held in the 24h window", Double(peakRSS()) / accepted, "B")
    report("  RSS before the engine", Double(rssBefore) / 1_048_576, "MiB")
    report("engine's own estimate per event", Double(m.total) / accepted, "B")
    report("  dedup", Double(m.dedup) / accepted, "B")
    report("  bucket slots and records", Double(m.buckets) / accepted, "B")
    report("    of which multi-trade records", Double(m.records) / accepted, "B")
    report("  open/close ids", Double(m.ids) / accepted, "B")
    report("    of which released, not yet compacted", Double(m.idsGarbage) / accepted, "B")
    report("    of which room not yet used", Double(m.idsUnused) / accepted, "B")
    report("  wallets (per token and numbers)", Double(m.wallets) / accepted, "B")
    report("  other", Double(m.other) / accepted, "B")
    report("tokens / wallets numbered", Double(engine.tokenCount), "/ \(engine.walletCount)")
    if let checkpoints {
        checkpoints.drain()
        let f = checkpoints.figures.withLock { $0 }
        let jsonPerEvent = Double(jsonSample.bytes) / Double(max(1, jsonSample.events))
        let deltas = f.deltaBytes.map(Double.init)
        let covered = Double(f.deltaEvents.reduce(0, +))
        let ratios = zip(f.deltaBytes, f.deltaEvents).map { Double($0) / (jsonPerEvent * Double(max(1, $1))) }.sorted()
        let sortedCapture = captureSeconds.sorted()
        report("checkpoint boundary (events)", Double(interval), "")
        report("checkpoints taken (writer idle at the boundary)", Double(f.deltas), "")
        report("  events per checkpoint, mean", covered / Double(max(1, f.deltas)), "")
        report(
            "  bytes per checkpoint (delta + manifest), mean", deltas.reduce(0, +) / Double(max(1, deltas.count)), "B")
        report("  bytes per checkpoint, max", deltas.max() ?? 0, "B")
        report("  JSON bytes per event", jsonPerEvent, "B")
        report(
            "  checkpoint bytes / its events' JSON, all", deltas.reduce(0, +) / (jsonPerEvent * max(1, covered)), "x")
        report("  same, per checkpoint: median", ratios.isEmpty ? 0 : ratios[ratios.count / 2], "x")
        report("  same, per checkpoint: max", ratios.last ?? 0, "x")
        report(
            "  capture on the ingest thread, p50",
            (sortedCapture.isEmpty ? 0 : sortedCapture[sortedCapture.count / 2]) * 1e3, "ms")
        report(
            "  capture on the ingest thread, p99",
            (sortedCapture.isEmpty ? 0 : sortedCapture[sortedCapture.count * 99 / 100]) * 1e3, "ms")
        report("  capture on the ingest thread, max", (sortedCapture.last ?? 0) * 1e3, "ms")
        let writes = f.writeSeconds.sorted()
        report(
            "  store (encode, write, fsync, manifest), p50", (writes.isEmpty ? 0 : writes[writes.count / 2]) * 1e3, "ms"
        )
        report("  store, max", (writes.last ?? 0) * 1e3, "ms")
        report("compactions (writer thread)", Double(f.compactions), "")
        report("  compaction seconds, max", f.compactionSeconds.max() ?? 0, "s")
        report("  base bytes, last", Double(f.compactedBytes.last ?? 0), "B")
    }
    if let path = env["DAY_BODIES"] {
        let busiest = TopTokens.rank(engine.allStats(), window: "24h", by: .txns, limit: 20)
        let lines = busiest.compactMap { t in
            engine.stats(token: t.token).map {
                "\(t.token)\t\(String(decoding: StatsJSON.encode($0), as: UTF8.self))\n"
            }
        }
        try! lines.joined().write(toFile: path, atomically: true, encoding: .utf8)
    }
    if let path = env["DAY_DIGEST"] {
        var digest: UInt64 = 0
        for s in engine.allStats() {
            let body = StatsJSON.encode(s)
            digest = digest &* 31 &+ body.withUnsafeBytes { Fingerprint.of($0) }
        }
        let text =
            "\(String(digest, radix: 16)) tokens=\(engine.tokenCount) accepted=\(engine.counters.accepted) duplicate=\(engine.counters.duplicate)\n"
        try! text.write(toFile: path, atomically: true, encoding: .utf8)
        print("digest: \(text)", terminator: "")
    }
    withExtendedLifetime(engine) {}
}

/// Restores (and with `compact`, first compacts) the day load's checkpoint in `directory`
/// (partition 0 of `swaps`, default settings, event clock), timing each step.
func checkpointBench(directory: String, compact: Bool) {
    let configuration = try! EngineConfiguration(clock: .event)
    let store = try! DirectoryCheckpointStore(directory: directory)
    let t0 = now()
    var (checkpointer, engine) = try! PartitionCheckpointer.restore(
        store: store, topic: "swaps", partition: 0, configuration: configuration)
    let m = checkpointer.manifest
    report("restore (base + deltas)", now() - t0, "s")
    report("  base bytes / pieces", Double(m.baseBytes), "/ \(m.basePieces.count)")
    report("  deltas / their bytes", Double(m.deltas.count), "/ \(m.deltaBytes)")
    report("  peak RSS", Double(peakRSS()) / 1_048_576, "MiB")
    if compact {
        engine = nil
        let c0 = now()
        let bytes = try! checkpointer.compact()
        report("compaction", now() - c0, "s")
        report("  new base bytes / pieces", Double(bytes ?? 0), "/ \(checkpointer.manifest.basePieces.count)")
    }
    withExtendedLifetime(engine) {}
}
