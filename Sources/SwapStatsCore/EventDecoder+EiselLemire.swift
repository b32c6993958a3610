/// The Eisel–Lemire conversion of `w × 10^q` to the nearest `Double`, for a decimal
/// mantissa `w` of at most 19 digits: one or two 64 × 64-bit multiplications by a 128-bit
/// truncation of 5^q, then rounding. It gives up (returns `nil`) whenever the truncations
/// leave the rounding in doubt, and for subnormal or overflowing results; the caller then
/// falls back to an exact conversion.
///
/// Notation: `w' = w << lz` is the mantissa normalized to [2^63, 2^64); `T(q)` is the table
/// entry, `T(q) = ⌊5^q × 2^s⌋` with `s` chosen so that `T(q)` is in [2^127, 2^128). Then
/// `w × 10^q = w' × 5^q × 2^(q − lz) = (w' × T(q) + ε) × 2^(q − lz − s)` with `0 ≤ ε < w'`,
/// so the 192-bit product `w' × T(q)` is a lower bound on the exact scaled value that is
/// short of it by less than `w'` units of its last bit.
enum EiselLemire {
    /// The decimal exponents the table covers. Below, `w × 10^q < 10^19 × 10^−343` rounds to
    /// zero; above, `w × 10^q ≥ 10^309` overflows. (Both are left to the fallback.)
    static let minExponent = -342
    static let maxExponent = 308

    /// `w × 10^q` correctly rounded, or `nil` if undecided, subnormal or not finite.
    static func double(_ w: UInt64, _ q: Int) -> Double? {
        guard w != 0 && q >= minExponent && q <= maxExponent else { return nil }
        let lz = w.leadingZeroBitCount
        let m = w << UInt64(lz)
        let index = 2 * (q - minExponent)
        // The top 128 bits of w' × T(q), from the high word of T(q) first. The rest of the
        // 192-bit product, and ε, add less than w' to `low`; they can only change the bits
        // we keep (or the rounding below them) if `high` ends in nine ones and `low` can carry.
        var (high, low) = m.multipliedFullWidth(by: powersOfFive[index])
        if high & 0x1FF == 0x1FF && low &+ m < m {
            let (extraHigh, extraLow) = m.multipliedFullWidth(by: powersOfFive[index + 1])
            let (sum, carry) = low.addingReportingOverflow(extraHigh)
            high &+= carry ? 1 : 0
            low = sum
            // Now only ε (< w') is missing, added to `extraLow`: undecided if it can still carry.
            if high & 0x1FF == 0x1FF && low == .max && extraLow &+ m < m { return nil }
        }
        // Keep 54 bits (the 53 of the result and a rounding bit): `high` is in [2^62, 2^64).
        let top = Int(high >> 63)
        let shift = UInt64(9 + top)
        var mantissa = high >> shift
        // The biased exponent: 1086 + top − lz + ⌊q × log2(10)⌋, with 217706 / 2^16 for
        // log2(10) (the floor is exact over the table's range: the table builder asserts it).
        var exponent = 1086 + top - lz + (217_706 &* q) >> 16
        // Exactly halfway (everything below the rounding bit zero, so far as we know) and the
        // kept mantissa even: ties-to-even would round down, but the exact value may be just
        // above the tie. Leave it to the fallback.
        if low == 0 && high & ((1 << shift) - 1) == 0 && mantissa & 3 == 1 { return nil }
        // Round half up (a tie here has an odd kept mantissa, so this is ties-to-even).
        mantissa = (mantissa + (mantissa & 1)) >> 1
        if mantissa >> 53 != 0 {  // rounded up to 2^53
            mantissa >>= 1
            exponent += 1
        }
        guard exponent > 0 && exponent < 0x7FF else { return nil }
        return Double(bitPattern: UInt64(exponent) << 52 | mantissa & (1 << 52 - 1))
    }

    /// `T(q)` for `q` in `minExponent...maxExponent`: high word at `2 × (q − minExponent)`,
    /// low word after it. Built on first use with exact big-integer arithmetic.
    static let powersOfFive: [UInt64] = PowerOfFiveTable.build(from: minExponent, to: maxExponent)
}

/// Builds the 128-bit truncations of 5^q (see ``EiselLemire``), with a minimal unsigned
/// big integer (little-endian 32-bit limbs).
enum PowerOfFiveTable {
    static func build(from minExponent: Int, to maxExponent: Int) -> [UInt64] {
        var table = [UInt64](repeating: 0, count: 2 * (maxExponent - minExponent + 1))
        func store(_ q: Int, _ value: (high: UInt64, low: UInt64), binaryExponent: Int) {
            // The exponent formula in `EiselLemire.double` relies on this identity:
            // ⌊q × log2(10)⌋ = ⌊q × log2(5)⌋ + q, where ⌊q × log2(5)⌋ = `binaryExponent`.
            assert((217_706 * q) >> 16 == binaryExponent + q, "log2(10) approximation fails at \(q)")
            table[2 * (q - minExponent)] = value.high
            table[2 * (q - minExponent) + 1] = value.low
        }
        var power: [UInt32] = [1]  // 5^n
        for n in 0...max(maxExponent, -minExponent) {
            let bits = bitLength(power)
            // 5^n is in [2^(bits − 1), 2^bits): for q = n ≥ 0, ⌊log2 5^q⌋ = bits − 1.
            if n <= maxExponent { store(n, top128(power), binaryExponent: bits - 1) }
            // For q = −n < 0, 5^q is in (2^−bits, 2^(1 − bits)): ⌊log2 5^q⌋ = −bits.
            if n > 0 && -n >= minExponent { store(-n, reciprocal128(power), binaryExponent: -bits) }
            multiply(&power, by: 5)
        }
        return table
    }

    /// The number of significant bits of `x` (normalized: no leading zero limbs).
    static func bitLength(_ x: [UInt32]) -> Int {
        32 * x.count - (x.last ?? 0).leadingZeroBitCount
    }

    /// `x × factor`, in place.
    static func multiply(_ x: inout [UInt32], by factor: UInt32) {
        var carry: UInt64 = 0
        for k in x.indices {
            let product = UInt64(x[k]) * UInt64(factor) + carry
            x[k] = UInt32(truncatingIfNeeded: product)
            carry = product >> 32
        }
        if carry != 0 { x.append(UInt32(carry)) }
    }

    /// The 128 most significant bits of `x` (shifted left with zeros if `x` is shorter):
    /// `⌊x × 2^(128 − bitLength(x))⌋`.
    static func top128(_ x: [UInt32]) -> (high: UInt64, low: UInt64) {
        let bits = bitLength(x)
        var high: UInt64 = 0, low: UInt64 = 0
        for k in 0..<128 {  // bit k from the top
            let i = bits - 1 - k
            let bit = i >= 0 ? UInt64(x[i / 32] >> UInt32(i % 32) & 1) : 0
            if k < 64 { high |= bit << UInt64(63 - k) } else { low |= bit << UInt64(127 - k) }
        }
        return (high, low)
    }

    /// `⌊2^(bitLength(d) + 127) / d⌋` for `d` not a power of two, which is in [2^127, 2^128):
    /// the 128 most significant bits of 1/d, by binary long division.
    static func reciprocal128(_ d: [UInt32]) -> (high: UInt64, low: UInt64) {
        let bits = bitLength(d)
        let width = d.count + 1
        let divisor = d + [0]
        // The remainder starts at 2^bits, which is in (d, 2d): the first quotient bit is 1.
        var remainder = [UInt32](repeating: 0, count: width)
        remainder[bits / 32] = 1 << UInt32(bits % 32)
        subtract(&remainder, divisor)
        var high: UInt64 = 1 << 63, low: UInt64 = 0
        for k in 1..<128 {
            shiftLeftOne(&remainder)
            if !isLess(remainder, divisor) {
                subtract(&remainder, divisor)
                if k < 64 { high |= 1 << UInt64(63 - k) } else { low |= 1 << UInt64(127 - k) }
            }
        }
        return (high, low)
    }

    /// `x -= y` for equal-length `x ≥ y`.
    static func subtract(_ x: inout [UInt32], _ y: [UInt32]) {
        var borrow: UInt64 = 0
        for k in x.indices {
            let difference = UInt64(x[k]) &- UInt64(y[k]) &- borrow
            x[k] = UInt32(truncatingIfNeeded: difference)
            borrow = difference >> 63  // 1 if it wrapped
        }
    }

    /// `x <<= 1`, for `x` with a free top bit.
    static func shiftLeftOne(_ x: inout [UInt32]) {
        var carry: UInt32 = 0
        for k in x.indices {
            let next = x[k] >> 31
            x[k] = x[k] << 1 | carry
            carry = next
        }
    }

    /// `x < y` for equal-length numbers.
    static func isLess(_ x: [UInt32], _ y: [UInt32]) -> Bool {
        for k in x.indices.reversed() where x[k] != y[k] { return x[k] < y[k] }
        return false
    }
}
