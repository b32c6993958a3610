public import SwapStatsCore

/// One step of a generated stream.
public enum StreamStep: Sendable {
    /// A Kafka message on `partition`; `expected` is the event it must decode to, nil when
    /// the bytes are invalid.
    case message(partition: Int, bytes: [UInt8], expected: SwapEvent?)
    /// Wall time passes (ticks every partition).
    case tick(wallNow: Int64)
    /// Compare every token at `asOf` = the newest partition `asOf` plus `extraBuckets` steps.
    case query(extraBuckets: Int64)
    /// Snapshot every partition and continue from the restored copies.
    case checkpoint
}

/// A random adversarial stream and the configuration to run it under: duplicates (same
/// bytes, and same id with other content), out-of-order, late and expired events, equal
/// timestamps, invalid messages, mixed-case tokens, prices from 1e-9 to 1e6, several
/// partitions, idle gaps.
public struct AdversarialStream: Sendable {
    public let seed: UInt64
    public let configuration: EngineConfiguration
    public let partitions: Int
    public let steps: [StreamStep]

    public init(seed: UInt64, events: ClosedRange<Int> = 50...400) {
        var rng = SplitMix64(seed: seed)
        self.seed = seed
        let step: Int64 = [1_000, 5_000][rng.int(0...1)]
        let spans: [[Int64]] = [[3, 12, 60], [1, 4], [6], [2, 10, 30]]
        let chosen = spans[rng.int(0...(spans.count - 1))]
        let windows = chosen.map { WindowSpec(name: "\($0 * step / 1000)s", millis: $0 * step) }
        let largest = chosen.last! * step
        let lateness = [0, step, step * 5 / 2, largest / 2][rng.int(0...3)]
        configuration = try! EngineConfiguration(
            windows: windows, bucketStep: step, allowedLateness: min(lateness, largest - 1),
            latePolicy: rng.chance(0.5) ? .apply : .drop,
            dedupTTL: rng.chance(0.3) ? max(step, largest / 2) : nil,
            clock: rng.chance(0.5) ? .event : .wall, idleFlush: [1, 500, 3_000][rng.int(0...2)])
        let partitions = rng.int(1...3)
        self.partitions = partitions

        let tokenCount = rng.int(1...8)
        var tokens: [String] = []
        for i in 0..<tokenCount {
            tokens.append(i % 3 == 2 ? "Tok\u{00C4}n-\(i)" : "0xAbC\(String(rng.next() % 0xFFFF, radix: 16))\(i)")
        }
        var tokenPartition: [Int] = []
        for _ in tokens { tokenPartition.append(rng.int(0...(partitions - 1))) }
        var prices: [Double] = []
        for _ in tokens { prices.append(rng.logUniform(1e-9, 1e6)) }
        let wallets = (0..<rng.int(1...10)).map { i in i % 4 == 3 ? "w\"\\\u{00E9}\(i)" : "0xw\(i)" }
        var now: Int64 = 1_763_800_000_000 + Int64(rng.int(0...100_000))
        var sent: [(partition: Int, bytes: [UInt8], event: SwapEvent)] = []
        var steps: [StreamStep] = []
        var serial = 0
        let count = rng.int(events)
        for _ in 0..<count {
            let r = rng.unit()
            if r < 0.04 {
                steps.append(.tick(wallNow: now + Int64(rng.int(0...Int(step * 3)))))
                continue
            }
            if r < 0.08 {
                steps.append(.query(extraBuckets: Int64(rng.int(0...Int(chosen.last! + 2)))))
                continue
            }
            if r < 0.09 {
                steps.append(.checkpoint)
                continue
            }
            if r < 0.14, let old = sent.randomElement(using: &rng) {
                steps.append(.message(partition: old.partition, bytes: old.bytes, expected: old.event))
                continue
            }
            if r < 0.18 {
                steps.append(
                    .message(partition: rng.int(0...(partitions - 1)), bytes: Self.invalid(&rng), expected: nil))
                continue
            }
            now += Int64(rng.int(0...Int(step)))
            let t = rng.int(0...(tokenCount - 1))
            var ts = now
            let lag = rng.unit()
            if lag < 0.15 {
                ts -= Int64(rng.int(0...Int(configuration.allowedLateness + step)))
            } else if lag < 0.22 {
                ts -= Int64(rng.int(0...Int(largest + 2 * step)))
            } else if lag < 0.27, let last = sent.last {
                ts = last.event.ts
            }
            ts = max(ts, 0)
            prices[t] *= rng.logUniform(0.95, 1.05)
            if rng.chance(0.1) { prices[t] *= rng.chance(0.5) ? 1e3 : 1e-3 }
            let amount = rng.chance(0.05) ? 1e-12 : rng.logUniform(1e-3, 1e9)
            let explicitPrice = rng.chance(0.5)
            let usd = rng.chance(0.03) ? 0 : prices[t] * amount
            serial += 1
            var id = "0x\(String(rng.next(), radix: 16)):\(serial)"
            if rng.chance(0.05), let old = sent.randomElement(using: &rng) { id = old.event.id }
            if rng.chance(0.05) { id = "é\u{1F600}-\(id)" }
            let token = tokens[t]
            let displayed = rng.chance(0.5) ? token.uppercased() : token
            let who = wallets[rng.int(0...(wallets.count - 1))]
            let side: Side = rng.chance(0.55) ? .buy : .sell
            let event = SwapEvent(
                id: id, token: token.lowercased(), who: who, side: side, amount: amount, usd: usd, ts: ts,
                price: explicitPrice ? prices[t] : nil)
            var json = "{\"id\":\(Self.quote(id)),\"token\":\(Self.quote(displayed)),\"who\":\(Self.quote(who)),"
            json += "\"side\":\"\(side.name)\","
            json += rng.chance(0.5) ? "\"amount\":\"\(amount)\"," : "\"amount\":\(amount),"
            json += rng.chance(0.3) ? "\"usd\":\"\(usd)\"," : "\"usd\":\(usd),"
            json += "\"ts\":\(ts)"
            if explicitPrice { json += ",\"price\":\(prices[t])" }
            if rng.chance(0.2) { json += ",\"extra\":{\"a\":[1,2,{\"b\":null}],\"c\":true}" }
            json += "}"
            let bytes = Array(json.utf8)
            sent.append((tokenPartition[t], bytes, event))
            steps.append(.message(partition: tokenPartition[t], bytes: bytes, expected: event))
        }
        steps.append(.tick(wallNow: now + 10_000))
        steps.append(.tick(wallNow: now + 20_000))
        steps.append(.query(extraBuckets: 0))
        steps.append(.query(extraBuckets: 1 + chosen.last! / 2))
        self.steps = steps
    }

    /// A JSON string literal.
    public static func quote(_ s: String) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default: out.unicodeScalars.append(c)
            }
        }
        return out + "\""
    }

    static func invalid(_ rng: inout SplitMix64) -> [UInt8] {
        let samples = [
            "{\"id\":\"x\",\"token\":\"t\",\"who\":\"w\",\"side\":\"hold\",\"amount\":1,\"usd\":1,\"ts\":1}",
            "{\"id\":\"x\",\"token\":\"t\",\"who\":\"w\",\"side\":\"buy\",\"amount\":-1,\"usd\":1,\"ts\":1}",
            "{\"id\":\"x\",\"token\":\"t\",\"who\":\"w\",\"side\":\"buy\",\"amount\":1,\"ts\":1}",
            "{\"id\":\"x\",\"token\":\"\",\"who\":\"w\",\"side\":\"buy\",\"amount\":1,\"usd\":1,\"ts\":1}",
            "{\"id\":\"x\",\"token\":\"t\",\"who\":\"w\",\"side\":\"buy\",\"amount\":1,\"usd\":1,\"ts\":\"1\"}",
            "{\"id\":\"x\",\"token\":\"t\",\"who\":\"w\",\"side\":\"buy\",\"amount\":1,\"usd\":1,\"ts\":1",
            "[1,2,3]", "", "not json",
        ]
        var bytes = Array(samples[rng.int(0...(samples.count - 1))].utf8)
        if rng.chance(0.2) { bytes.append(0xFF) }
        return bytes
    }
}
