import SwapStatsCore
import SwapStatsTestSupport
import Testing

/// Exactness of number conversion on long decimals (the Eisel–Lemire path and its
/// fallbacks): every accepted value must equal `Double(text)!` bit for bit, and values that
/// round to zero or infinity must meet the field rules.
extension EventDecoderTests {
    /// A random 17-significant-digit decimal at a random decimal exponent across (and a
    /// little beyond) the whole `Double` range, in scientific or positional form.
    static func random17Digits(_ rng: inout SplitMix64) -> String {
        var digits = String(1 + rng.next() % 9)
        for _ in 0..<16 { digits += String(rng.next() % 10) }
        let exponent = Int(rng.next() % 636) - 326  // of the leading digit: -326...309
        switch rng.next() % 4 {
        case 0 where (-20...20).contains(exponent):  // positional: "123.45678901234567", "0.00012345678901234567"
            if exponent >= 16 { return digits + String(repeating: "0", count: exponent - 16) }
            if exponent >= 0 {
                let point = digits.index(digits.startIndex, offsetBy: exponent + 1)
                return String(digits[..<point]) + "." + digits[point...]
            }
            return "0." + String(repeating: "0", count: -exponent - 1) + digits
        case 1:  // integer mantissa: "12345678901234567e-300"
            return digits + "e" + String(exponent - 16)
        default:  // "1.2345678901234567e-300", "1.2345678901234567E+12"
            digits.insert(".", at: digits.index(after: digits.startIndex))
            return digits + (rng.next() % 2 == 0 || exponent < 0 ? "e" : "E+") + String(exponent)
        }
    }

    /// The exact decimal digits `n` and exponent `x` of `m × 2^e` (value = n × 10^x).
    static func exactDecimal(_ m: UInt64, _ e: Int) -> (digits: String, exponent: Int) {
        var limbs: [UInt32] = [UInt32(truncatingIfNeeded: m), UInt32(m >> 32)]
        func multiply(_ factor: UInt32) {
            var carry: UInt64 = 0
            for k in limbs.indices {
                let p = UInt64(limbs[k]) * UInt64(factor) + carry
                limbs[k] = UInt32(truncatingIfNeeded: p)
                carry = p >> 32
            }
            if carry != 0 { limbs.append(UInt32(carry)) }
        }
        // m × 2^e (e ≥ 0), or m × 5^−e × 10^e (e < 0), in steps of 2^31 or 5^13.
        var left = abs(e)
        while left > 0 {
            let step = min(left, e >= 0 ? 31 : 13)
            multiply(e >= 0 ? 1 << UInt32(step) : (0..<step).reduce(1) { x, _ in x * 5 })
            left -= step
        }
        var chunks: [UInt32] = []  // base 10^9, least significant first
        while limbs.contains(where: { $0 != 0 }) {
            var remainder: UInt64 = 0
            for k in limbs.indices.reversed() {
                let x = remainder << 32 | UInt64(limbs[k])
                limbs[k] = UInt32(x / 1_000_000_000)
                remainder = x % 1_000_000_000
            }
            chunks.append(UInt32(remainder))
        }
        var text = String(chunks.last ?? 0)
        for chunk in chunks.dropLast().reversed() {
            let s = String(chunk)
            text += String(repeating: "0", count: 9 - s.count) + s
        }
        return (text, min(e, 0))
    }

    /// The point exactly halfway between a random double (normal or subnormal, any exponent)
    /// and the next one up, as exact decimal digits and exponent.
    static func randomHalfway(_ rng: inout SplitMix64) -> (digits: String, exponent: Int) {
        let biased = rng.next() % 8 == 0 ? 0 : 1 + Int(rng.next() % 2046)
        let fraction = rng.next() & (1 << 52 - 1)
        let significand = biased == 0 ? fraction : fraction | 1 << 52
        // (significand + 1/2) × 2^(max(biased, 1) − 1075)
        return exactDecimal(2 * significand + 1, max(biased, 1) - 1076)
    }

    /// `text` with its exact value checked through `amount` (string), `usd` and `price`.
    static func checkConversion(_ text: String) -> String? {
        guard let expected = Double(text) else { return "\(text): not parsed by Double(String)" }
        let json = message(["amount": "\"\(text)\"", "usd": text, "price": text])
        let result = decoder.decode(json)
        if expected.isFinite && expected > 0 {
            guard case .success(let event) = result else { return "\(text) rejected: \(result)" }
            if event.amount.bitPattern != expected.bitPattern || event.usd.bitPattern != expected.bitPattern
                || event.price.bitPattern != expected.bitPattern
            {
                return "\(text) → \(event.amount) / \(event.usd) / \(event.price), expected \(expected)"
            }
            return nil
        }
        // Rounds to zero: amount and price must be > 0; usd accepts +0.
        // Rounds to infinity: no field accepts it.
        guard reason(result) == .badAmount else { return "\(text) (\(expected)): \(result), expected badAmount" }
        let usd = decoder.decode(message(["usd": text]))
        let price = decoder.decode(message(["price": text]))
        if expected == 0 {
            guard case .success(let event) = usd, event.usd.bitPattern == 0 else { return "\(text): usd → \(usd)" }
            guard reason(price) == .badPrice else { return "\(text): price → \(price)" }
        } else {
            guard reason(usd) == .badUSD, reason(price) == .badPrice else { return "\(text): \(usd) / \(price)" }
        }
        return nil
    }

    @Test func longDecimalsAreCorrectlyRounded() {
        let seed: UInt64 = 0xE15E_1_1E11E
        var rng = SplitMix64(seed: seed)
        var texts = [
            // Subnormals and the bottom of the range.
            "4.9406564584124654e-324", "4.9406564584124654E-324", "2.4703282292062328e-324", "2.4703282292062327e-324",
            "1e-324", "2.2250738585072009e-308", "2.2250738585072011e-308", "2.2250738585072012e-308",
            "2.2250738585072014e-308", "2.2250738585072013e-308", "1e-342", "1e-343", "9.9999999999999999e-309",
            // The top of the range and overflow.
            "1.7976931348623157e308", "1.7976931348623158e308", "1.7976931348623159e308", "1.8e308", "1e308",
            "1e309", "17976931348623157e292", "179769313486231580793728971405301e275", "9999999999999999999e289",
            // Halfway between two doubles, and just either side.
            "9007199254740993", "9007199254740993.0", "9007199254740995", "9007199254740993.00000000000000000001",
            "9007199254740992.99999999999999999999", "4503599627370496.5", "4503599627370497.5", "2.5e-324",
            "18014398509481986", "18014398509481990", "36028797018963971e1", "1e23", "8.988465674311579e307",
            // Long inputs (more than 19 digits): the truncated mantissa and one more must agree.
            "12345678901234567890123", "1.2345678901234567890123e-200",
            "0.000000000000000000000000012345678901234567890123",
            "99999999999999999999e-10", "10000000000000000000000000000000000001e-37",
        ]
        for _ in 0..<200_000 { texts.append(Self.random17Digits(&rng)) }
        for _ in 0..<20_000 {
            // An exact tie (long: the fallback must take it; short: Eisel–Lemire must refuse it),
            // and the nearest 17- and 19-digit decimals either side of it.
            let (digits, exponent) = Self.randomHalfway(&rng)
            texts.append(digits + "e" + String(exponent))
            for length in [17, 19] where digits.count > length {
                guard let prefix = UInt64(digits.prefix(length)) else { continue }
                let scale = "e" + String(exponent + digits.count - length)
                texts.append(String(prefix) + scale)
                texts.append(String(prefix + 1) + scale)
            }
        }
        var failures = 0
        for (k, text) in texts.enumerated() {
            if let problem = Self.checkConversion(text) {
                Issue.record("seed \(seed) #\(k): \(problem)")
                failures += 1
                if failures > 10 { return }
            }
        }
        #expect(failures == 0)
    }
}
