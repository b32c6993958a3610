import CMallocInfo
import Foundation
import Glibc
import SwapStatsCore
import SwapStatsTestSupport

/// Release-built benchmarks of the core. Figures go to bench/README.md with this command:
///   swift run -c release --package-path bench swapstats-bench [engine|memory|query|decode|ingest|all]
swapstats_line_buffer_stdout()
let args = CommandLine.arguments.dropFirst()
let which = args.first ?? "all"
let scale = Double(ProcessInfo.processInfo.environment["BENCH_SCALE"] ?? "1") ?? 1

func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

/// Bytes the allocator has handed out and not had back.
func heapInUse() -> Int { Int(swapstats_heap_in_use()) }

func report(_ name: String, _ value: Double, _ unit: String) {
    let label = name.padding(toLength: 46, withPad: " ", startingAt: 0)
    print("\(label) \(String(format: "%12.2f", value)) \(unit)")
}

let configuration = try! EngineConfiguration(clock: .event)

func zipfEvents(_ n: Int, tokens: Int, wallets: Int, span: Int64 = 86_000_000) -> [SwapEvent] {
    var stream = ZipfStream(
        seed: 42, tokens: tokens, wallets: wallets, events: n, span: span, jitter: 2_000, duplicateShare: 0.01)
    var events: [SwapEvent] = []
    events.reserveCapacity(n)
    for _ in 0..<n { events.append(stream.next()) }
    return events
}

func engineBench(tokens: Int = 100_000, wallets: Int = 50_000) {
    let n = Int(10_000_000 * scale)
    print(
        "engine: \(n) events, Zipf(1.0) over \(tokens) tokens, \(wallets) wallets, 24h span, 1% duplicates, 2s jitter")
    let baseline = heapInUse()
    var stream = ZipfStream(
        seed: 42, tokens: tokens, wallets: wallets, events: n, span: 86_000_000, jitter: 2_000, duplicateShare: 0.01)
    var engine = PartitionEngine(configuration: configuration)
    // Events arrive in batches fresh from the decoder, as in the pipeline: generate a batch
    // (untimed), then time its ingest.
    var chunk: [SwapEvent] = []
    chunk.reserveCapacity(65_536)
    var elapsed = 0.0
    var done = 0
    while done < n {
        chunk.removeAll(keepingCapacity: true)
        for _ in 0..<min(65_536, n - done) { chunk.append(stream.next()) }
        let t0 = now()
        for e in chunk { engine.ingest(e) }
        elapsed += now() - t0
        done += chunk.count
    }
    let t0 = now()
    engine.flush()
    elapsed += now() - t0
    report("engine ingest, one core", Double(n) / elapsed / 1e6, "M events/s")
    report("  accepted / duplicate", Double(engine.counters.accepted), "/ \(engine.counters.duplicate)")
    chunk = []
    stream = ZipfStream(seed: 0, tokens: 1, wallets: 1, events: 1, span: 1)
    let held = heapInUse() - baseline
    let accepted = Double(engine.counters.accepted)
    report("state held (malloc), whole engine", Double(held) / 1_048_576, "MiB")
    report("  per event held in the 24h window", Double(held) / accepted, "B")
    report("  engine's own estimate per event", Double(engine.bytes) / accepted, "B")
    report("  dedup per event", Double(engine.dedupBytes) / accepted, "B")
    report("tokens tracked", Double(engine.tokenCount), "")
    withExtendedLifetime(engine) {}
    withExtendedLifetime(stream) {}
}

func memoryBench() {
    let n = Int(100_000 * scale)
    let baseline = heapInUse()
    var engine = PartitionEngine(configuration: configuration)
    for i in 0..<n {
        engine.ingest(
            SwapEvent(
                id: "0x" + String(repeating: "ab", count: 32) + ":\(i)", token: "0x\(String(format: "%040x", i))",
                who: "0x\(String(format: "%040x", i * 7))", side: .buy, amount: 2, usd: 3, ts: 1_763_800_000_000))
    }
    engine.flush()
    let held = heapInUse() - baseline
    report("idle tokens (one trade each), per token", Double(held) / Double(n), "B")
    report("  engine's own estimate per token", Double(engine.bytes) / Double(n), "B")
    withExtendedLifetime(engine) {}
}

func queryBench() {
    let n = Int(2_000_000 * scale)
    let events = zipfEvents(n, tokens: 100_000, wallets: 50_000, span: 86_000_000)
    var engine = PartitionEngine(configuration: configuration)
    for e in events { engine.ingest(e) }
    engine.flush()
    let stream = ZipfStream(seed: 42, tokens: 100_000, wallets: 1, events: 1, span: 1)
    var rng = SplitMix64(seed: 7)
    var samples: [Double] = []
    var found = 0
    let hot = stream.tokens[0]
    for i in 0..<200_000 {
        let token = i % 2 == 0 ? hot : stream.tokens[Int(rng.next() % 100_000)]
        let t0 = now()
        if let s = engine.stats(token: token) { found += s.windows.count }
        samples.append(now() - t0)
    }
    samples.sort()
    report("stats query, median (hot and random tokens)", samples[samples.count / 2] * 1e9, "ns")
    report("stats query, p99", samples[samples.count * 99 / 100] * 1e9, "ns")
    let s = engine.stats(token: hot)!
    let t0 = now()
    var bytes = 0
    for _ in 0..<100_000 { bytes += StatsJSON.encode(s).count }
    report("encode one stats body (3 windows)", (now() - t0) / 100_000 * 1e9, "ns")
    print("(\(found) windows answered, \(bytes / 100_000) B per body)")
}

func decodeBench() {
    let n = Int(1_000_000 * scale)
    let events = zipfEvents(n, tokens: 1_000, wallets: 5_000)
    let decoder = EventDecoder()
    var lines: [[UInt8]] = []
    for (label, decimals) in [("full-precision numbers", nil), ("numbers with 6 decimals", 6)] as [(String, Int?)] {
        lines = events.map { Array(ZipfStream.json($0, decimals: decimals).utf8) }
        let mb = Double(lines.reduce(0) { $0 + $1.count }) / 1e6
        var best = Double.infinity
        for _ in 0..<5 {
            var ok = 0
            let t0 = now()
            for line in lines { if case .success = decoder.decode(line) { ok += 1 } }
            best = min(best, now() - t0)
            precondition(ok == n, "decoder rejected generated events")
        }
        report("EventDecoder, one core, \(label)", Double(n) / best / 1e6, "M msgs/s")
        report("  throughput (\(Int(mb * 1e6) / n) B per message)", mb / best, "MB/s")
    }
    let best =
        Double(n)
        / {
            var b = Double.infinity
            for _ in 0..<3 {
                let t0 = now()
                for line in lines { _ = decoder.decode(line) }
                b = min(b, now() - t0)
            }
            return b
        }()
    struct Wire: Decodable {
        var id: String, token: String, who: String, side: String, ts: Int64, price: Double?
        var amount: Double, usd: Double
        enum K: String, CodingKey { case id, token, who, side, amount, usd, ts, price }
        init(from d: any Decoder) throws {
            let c = try d.container(keyedBy: K.self)
            func number(_ k: K) throws -> Double {
                if let v = try? c.decode(Double.self, forKey: k) { return v }
                guard let v = Double(try c.decode(String.self, forKey: k)) else {
                    throw DecodingError.dataCorruptedError(forKey: k, in: c, debugDescription: "not a number")
                }
                return v
            }
            id = try c.decode(String.self, forKey: .id)
            token = try c.decode(String.self, forKey: .token).lowercased()
            who = try c.decode(String.self, forKey: .who)
            side = try c.decode(String.self, forKey: .side)
            ts = try c.decode(Int64.self, forKey: .ts)
            price = try c.decodeIfPresent(Double.self, forKey: .price)
            amount = try number(.amount)
            usd = try number(.usd)
        }
    }
    let json = JSONDecoder()
    let datas = lines.prefix(200_000).map { Data($0) }
    var bestF = Double.infinity
    for _ in 0..<3 {
        var ok = 0
        let t0 = now()
        for d in datas {
            if let w = try? json.decode(Wire.self, from: d), w.amount > 0, w.usd >= 0,
                w.side == "buy" || w.side == "sell"
            {
                ok += 1
            }
        }
        bestF = min(bestF, now() - t0)
        precondition(ok == datas.count)
    }
    report("Foundation JSONDecoder (Codable), one core", Double(datas.count) / bestF / 1e6, "M msgs/s")
    report("  EventDecoder speed-up (6 decimals)", best / (Double(datas.count) / bestF), "x")
}

switch which {
case "engine": engineBench()
case "day": dayBench()
case "checkpoint-restore": checkpointBench(directory: String(args.dropFirst().first!), compact: false)
case "checkpoint-compact": checkpointBench(directory: String(args.dropFirst().first!), compact: true)
case "engine-hot": engineBench(tokens: 1_000, wallets: 5_000)
// One token, 100 wallets: the state stays in cache, so this is the per-event cost without
// memory stalls (the floor the layout and prefetching can approach).
case "engine-floor": engineBench(tokens: 1, wallets: 100)
case "memory": memoryBench()
case "query": queryBench()
case "decode": decodeBench()
case "ingest": ingestBench()
case "subscribers":
    let env = ProcessInfo.processInfo.environment
    try subscribersBench(
        port: Int(env["SUB_PORT"]!)!, connections: Int(env["SUB_CONNECTIONS"] ?? "100")!,
        tokens: env["SUB_TOKENS"]!.split(separator: ",").map(String.init),
        seconds: Double(env["SUB_SECONDS"] ?? "20")!)
case "fanout-clients": try fanoutClients()
case "redis-ws-latency": try redisWebSocketLatencyBench(updates: 2_000, every: 0.005)
case "redis-publish":
    try redisPublishBench(tokens: Int(ProcessInfo.processInfo.environment["REDIS_TOKENS"] ?? "100000")!)
case "fanout":
    let env = ProcessInfo.processInfo.environment
    try fanoutBench(
        connections: Int(env["FANOUT_CONNECTIONS"] ?? "10000")!, tokens: Int(env["FANOUT_TOKENS"] ?? "10")!,
        bodyBytes: Int(env["FANOUT_BODY"] ?? "1700")!, seconds: Double(env["FANOUT_SECONDS"] ?? "10")!)
case "all":
    decodeBench()
    engineBench()
    engineBench(tokens: 1_000, wallets: 5_000)
    memoryBench()
    queryBench()
    ingestBench()
default: print("usage: swapstats-bench [engine|engine-hot|memory|query|decode|ingest|all]")
}
