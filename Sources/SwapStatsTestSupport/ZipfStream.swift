import Foundation
public import SwapStatsCore

/// Realistic synthetic swaps: Zipf token popularity, a wallet population, log-normal-ish
/// sizes, smooth per-token price walks, event times spread evenly over a span, with a share
/// of small out-of-order jitter and of duplicates. Deterministic for a seed.
public struct ZipfStream: Sendable {
    public let tokens: [String]
    public let wallets: [String]
    let cdf: [Double]
    var prices: [Double]
    var rng: SplitMix64
    var serial = 0
    let start: Int64
    let spacing: Double
    let jitter: Int64
    let duplicateShare: Double
    var recent: [SwapEvent] = []

    /// - Parameters:
    ///   - span: event time covered by `events` events, in ms.
    ///   - jitter: events move back in time by up to this many ms (out of order).
    public init(
        seed: UInt64, tokens: Int, wallets: Int, exponent: Double = 1.0, events: Int, span: Int64,
        start: Int64 = 1_763_800_000_000, jitter: Int64 = 0, duplicateShare: Double = 0
    ) {
        var rng = SplitMix64(seed: seed)
        self.tokens = (0..<tokens).map { i in Self.address(UInt64(i), salt: 0x70) }
        self.wallets = (0..<wallets).map { i in Self.address(UInt64(i), salt: 0x77) }
        var weights = (1...tokens).map { 1 / pow(Double($0), exponent) }
        let total = weights.reduce(0, +)
        var acc = 0.0
        for i in weights.indices {
            acc += weights[i] / total
            weights[i] = acc
        }
        cdf = weights
        prices = (0..<tokens).map { _ in rng.logUniform(1e-6, 1e4) }
        self.rng = rng
        self.start = start
        spacing = Double(span) / Double(max(events, 1))
        self.jitter = jitter
        self.duplicateShare = duplicateShare
    }

    /// The next swap.
    public mutating func next() -> SwapEvent {
        if duplicateShare > 0, !recent.isEmpty, rng.chance(duplicateShare) {
            return recent[Int(rng.next() % UInt64(recent.count))]
        }
        serial += 1
        let u = rng.unit()
        var lo = 0
        var hi = cdf.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if cdf[mid] < u { lo = mid + 1 } else { hi = mid }
        }
        let t = lo
        prices[t] *= 1 + (rng.unit() - 0.5) * 0.004
        let usd = rng.logUniform(1, 50_000)
        let amount = usd / prices[t]
        let ts = start + Int64(Double(serial) * spacing) - (jitter > 0 ? Int64(rng.next() % UInt64(jitter)) : 0)
        let e = SwapEvent(
            id: "0x" + Self.hex(rng.next(), 16) + Self.hex(rng.next(), 16) + Self.hex(rng.next(), 16)
                + Self.hex(rng.next(), 16) + ":\(serial % 512)",
            token: tokens[t], who: wallets[Int(rng.next() % UInt64(wallets.count))],
            side: rng.chance(0.5) ? .buy : .sell, amount: amount, usd: usd, ts: ts,
            price: rng.chance(0.5) ? prices[t] : nil)
        if duplicateShare > 0 {
            if recent.count < 1_024 { recent.append(e) } else { recent[serial % 1_024] = e }
        }
        return e
    }

    /// The event as a JSON line (amount as a decimal string, like many producers write it).
    /// Numbers are written in full (Swift's shortest round-trip form, up to 17 digits), or
    /// with `decimals` digits after the point, as feeds that round to cents or micro-units do.
    public static func json(_ e: SwapEvent, decimals: Int? = nil) -> String {
        func number(_ v: Double) -> String { decimals.map { String(format: "%.\($0)f", v) } ?? "\(v)" }
        var s = "{\"id\":\"\(e.id)\",\"token\":\"\(e.token)\",\"who\":\"\(e.who)\",\"side\":\"\(e.side.name)\","
        s += "\"amount\":\"\(number(e.amount))\",\"usd\":\(number(e.usd)),\"ts\":\(e.ts)"
        if e.price != e.usd / e.amount { s += ",\"price\":\(number(e.price))" }
        return s + "}"
    }

    /// The low `digits` (<= 16) hex digits of `v`, zero-padded.
    static func hex(_ v: UInt64, _ digits: Int) -> String {
        let s = String(v, radix: 16)
        let padded = String(repeating: "0", count: max(0, 16 - s.count)) + s
        return String(padded.suffix(digits))
    }

    /// A 20-byte address (`0x` and 40 hex digits) derived from `i`.
    static func address(_ i: UInt64, salt: UInt64) -> String {
        var rng = SplitMix64(seed: i &* 0x9E37_79B9_7F4A_7C15 ^ salt)
        return "0x" + hex(rng.next(), 16) + hex(rng.next(), 16) + hex(rng.next(), 8)
    }
}
