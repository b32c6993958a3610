/// JSON number grammar and exact decimal-to-binary conversion, on raw bytes.
enum NumberScan {
    @inline(__always)
    static func isDigit(_ b: UInt8) -> Bool { b &- UInt8(ascii: "0") < 10 }

    /// 10^k exactly, for k in 0...22 (the powers of ten a `Double` represents exactly).
    @inline(__always)
    static func powerOfTen(_ k: Int) -> Double {
        switch k {
        case 0: 1e0
        case 1: 1e1
        case 2: 1e2
        case 3: 1e3
        case 4: 1e4
        case 5: 1e5
        case 6: 1e6
        case 7: 1e7
        case 8: 1e8
        case 9: 1e9
        case 10: 1e10
        case 11: 1e11
        case 12: 1e12
        case 13: 1e13
        case 14: 1e14
        case 15: 1e15
        case 16: 1e16
        case 17: 1e17
        case 18: 1e18
        case 19: 1e19
        case 20: 1e20
        case 21: 1e21
        default: 1e22
        }
    }

    /// Scans the RFC 8259 number at `p[start]` (reading no further than `end`) and, if
    /// `convert`, computes its correctly rounded `Double` (identical to `Double(String)` on
    /// the same text) in the same pass. Returns the end of the number (the longest match;
    /// the caller checks what follows), the value (0 unless `convert`) and whether the text
    /// is a plain integer in 0...2^53 − 1 (digits only; false unless `convert`), or `nil` if no
    /// number starts there: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    ///
    /// Conversion keeps up to 19 significant digits in a `UInt64`. Clinger's fast path: when
    /// the mantissa is at most 2^53 and the decimal exponent within ±22, one exact multiply
    /// or divide by a power of ten is correctly rounded. Otherwise ``EiselLemire``, which
    /// decides almost every normal result; what it leaves undecided (ties it cannot
    /// resolve, subnormals, overflow, some inputs of more than 19 digits) goes to the stdlib.
    @inline(__always)
    static func scan(
        _ p: UnsafeRawPointer, from start: Int, to end: Int, convert: Bool
    ) -> (end: Int, value: Double, integer: Bool)? {
        var i = start
        @inline(__always) func at(_ k: Int) -> UInt8 { k < end ? p.load(fromByteOffset: k, as: UInt8.self) : 0 }
        let negative = at(i) == UInt8(ascii: "-")
        if negative { i += 1 }
        var mantissa: UInt64 = 0
        var digits = 0  // significant digits kept in `mantissa`
        var exponent = 0  // decimal exponent applied to `mantissa`
        var inexact = false  // a non-zero digit did not fit in `mantissa`
        let first = at(i) &- UInt8(ascii: "0")
        guard first < 10 else { return nil }
        if first == 0 {
            i += 1  // a leading zero stands alone
        } else {
            while case let d = at(i) &- UInt8(ascii: "0"), d < 10 {
                if digits < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(d)
                    digits += 1
                } else {
                    exponent += 1
                    inexact = inexact || d != 0
                }
                i += 1
            }
        }
        if at(i) == UInt8(ascii: ".") {
            i += 1
            guard at(i) &- UInt8(ascii: "0") < 10 else { return nil }
            while case let d = at(i) &- UInt8(ascii: "0"), d < 10 {
                if digits < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(d)
                    if mantissa != 0 { digits += 1 }
                    exponent -= 1
                } else {
                    inexact = inexact || d != 0
                }
                i += 1
            }
        }
        if at(i) | 0x20 == UInt8(ascii: "e") {
            i += 1
            var sign = 1
            if at(i) == UInt8(ascii: "-") {
                sign = -1
                i += 1
            } else if at(i) == UInt8(ascii: "+") {
                i += 1
            }
            guard at(i) &- UInt8(ascii: "0") < 10 else { return nil }
            var e = 0
            while case let d = at(i) &- UInt8(ascii: "0"), d < 10 {
                if e < 1_000_000 { e = e &* 10 &+ Int(d) }
                i += 1
            }
            exponent += sign * e
        }
        guard convert else { return (i, 0, false) }
        // Digits only (no sign, fraction or exponent), at most 2^53 - 1: an exact integer.
        let integer = (digits == i - start && !inexact && mantissa < 1 << 53) || (first == 0 && i == start + 1)
        if integer { return (i, Double(mantissa), true) }
        if mantissa == 0 && !inexact { return (i, negative ? -0.0 : 0.0, false) }
        if !inexact && mantissa <= 1 << 53 && exponent >= -22 && exponent <= 22 {
            var value = Double(mantissa)
            if exponent < 0 {
                value /= powerOfTen(-exponent)
            } else {
                value *= powerOfTen(exponent)
            }
            return (i, negative ? -value : value, false)
        }
        // Eisel–Lemire. With digits cut off, the exact value lies between `mantissa` and
        // `mantissa + 1` (times 10^exponent): rounding is monotonic, so if both ends round
        // to the same double, so does the value.
        if let value = EiselLemire.double(mantissa, exponent),
            !inexact || EiselLemire.double(mantissa + 1, exponent) == value
        {
            return (i, negative ? -value : value, false)
        }
        return (i, slowDouble(p, from: start, to: i), false)
    }

    /// The stdlib's correctly rounded conversion of `p[start..<end]` (NaN if it refuses).
    @inline(never)
    static func slowDouble(_ p: UnsafeRawPointer, from start: Int, to end: Int) -> Double {
        let text = UnsafeRawBufferPointer(start: p + start, count: end - start)
        return Double(String(decoding: text, as: UTF8.self)) ?? .nan
    }

    /// The value of `p[start..<end]` if it is exactly one JSON number, else `nil`.
    static func double(_ p: UnsafeRawPointer, from start: Int, to end: Int) -> Double? {
        guard let (numberEnd, value, _) = scan(p, from: start, to: end, convert: true), numberEnd == end else {
            return nil
        }
        return value
    }
}
