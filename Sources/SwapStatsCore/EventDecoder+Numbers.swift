/// JSON number grammar and exact decimal-to-binary conversion, on raw bytes.
enum NumberScan {
    @inline(__always)
    static func isDigit(_ b: UInt8) -> Bool { b &- UInt8(ascii: "0") < 10 }

    /// The end of the RFC 8259 number starting at `p[start]`, scanning no further than
    /// `end`, or `nil` if no number starts there: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    ///
    /// The number is the longest match; the caller checks what follows it.
    static func numberEnd(_ p: UnsafeRawPointer, from start: Int, to end: Int) -> Int? {
        var i = start
        @inline(__always) func at(_ k: Int) -> UInt8 { k < end ? p.load(fromByteOffset: k, as: UInt8.self) : 0 }
        if at(i) == UInt8(ascii: "-") { i += 1 }
        if at(i) == UInt8(ascii: "0") {
            i += 1
        } else if isDigit(at(i)) {
            i += 1
            while isDigit(at(i)) { i += 1 }
        } else {
            return nil
        }
        if at(i) == UInt8(ascii: ".") {
            i += 1
            guard isDigit(at(i)) else { return nil }
            while isDigit(at(i)) { i += 1 }
        }
        if at(i) | 0x20 == UInt8(ascii: "e") {
            i += 1
            if at(i) == UInt8(ascii: "+") || at(i) == UInt8(ascii: "-") { i += 1 }
            guard isDigit(at(i)) else { return nil }
            while isDigit(at(i)) { i += 1 }
        }
        return i
    }

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

    /// The correctly rounded `Double` for the grammatical number `p[start..<end]`
    /// (identical to `Double(String)` on the same text).
    ///
    /// Clinger's fast path: up to 19 significant digits in a `UInt64`; when the mantissa is
    /// at most 2^53 and the decimal exponent within ±22, one exact multiply or divide by a
    /// power of ten is correctly rounded. Anything else goes to the stdlib parser.
    static func double(_ p: UnsafeRawPointer, from start: Int, to end: Int) -> Double {
        var i = start
        @inline(__always) func at(_ k: Int) -> UInt8 { k < end ? p.load(fromByteOffset: k, as: UInt8.self) : 0 }
        let negative = at(i) == UInt8(ascii: "-")
        if negative { i += 1 }
        var mantissa: UInt64 = 0
        var digits = 0  // significant digits kept in `mantissa`
        var exponent = 0  // decimal exponent applied to `mantissa`
        var inexact = false  // a non-zero digit did not fit in `mantissa`
        // Integer part (no leading zeros by grammar, except a lone "0").
        while case let d = at(i) &- UInt8(ascii: "0"), d < 10 {
            if digits < 19 {
                mantissa = mantissa &* 10 &+ UInt64(d)
                if mantissa != 0 { digits += 1 }
            } else {
                exponent += 1
                inexact = inexact || d != 0
            }
            i += 1
        }
        if at(i) == UInt8(ascii: ".") {
            i += 1
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
            var e = 0
            while case let d = at(i) &- UInt8(ascii: "0"), d < 10 {
                if e < 1_000_000 { e = e &* 10 &+ Int(d) }
                i += 1
            }
            exponent += sign * e
        }
        if mantissa == 0 && !inexact { return negative ? -0.0 : 0.0 }
        if !inexact && mantissa <= 1 << 53 && exponent >= -22 && exponent <= 22 {
            var value = Double(mantissa)
            if exponent < 0 {
                value /= powerOfTen(-exponent)
            } else {
                value *= powerOfTen(exponent)
            }
            return negative ? -value : value
        }
        let text = UnsafeRawBufferPointer(start: p + start, count: end - start)
        return Double(String(decoding: text, as: UTF8.self)) ?? .nan
    }

    /// The value of the JSON integer `p[start..<end]` if it is digits only (no sign,
    /// fraction or exponent) and at most 2^53 − 1; else `nil`.
    static func timestamp(_ p: UnsafeRawPointer, from start: Int, to end: Int) -> Int64? {
        guard end > start, end - start <= 16 else { return nil }
        var value: Int64 = 0
        for k in start..<end {
            let b = p.load(fromByteOffset: k, as: UInt8.self)
            guard isDigit(b) else { return nil }
            value = value * 10 + Int64(b &- UInt8(ascii: "0"))
        }
        return value <= (1 << 53) - 1 ? value : nil
    }
}
