import Foundation

/// A tiny seeded random generator (SplitMix64): the same seed, the same stream, everywhere.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform double in [0, 1).
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Whether a coin with probability `p` comes up.
    public mutating func chance(_ p: Double) -> Bool { unit() < p }

    /// Log-uniform in [lo, hi).
    public mutating func logUniform(_ lo: Double, _ hi: Double) -> Double {
        lo * pow(hi / lo, unit())
    }

    /// A uniform integer in `range`.
    public mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self) }
}
