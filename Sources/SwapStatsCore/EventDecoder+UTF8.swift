/// UTF-8 validation and JSON string unescaping, on raw bytes.
enum UTF8Scan {
    /// The result of ``validate(_:count:)``.
    enum Validity {
        /// Every byte is < 0x80: nothing to decode, and lowercasing may take the ASCII path.
        case ascii
        /// Well-formed UTF-8 (RFC 3629) with at least one multi-byte scalar.
        case unicode
        case invalid
    }

    /// Validates `count` bytes at `p`, skipping ASCII eight bytes at a time.
    static func validate(_ p: UnsafeRawPointer, count n: Int) -> Validity {
        var i = 0
        var sawNonASCII = false
        while i < n {
            if i + 8 <= n {
                let high =
                    UInt64(littleEndian: p.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                    & 0x8080_8080_8080_8080
                if high == 0 {
                    i += 8
                    continue
                }
                i += high.trailingZeroBitCount >> 3
            }
            let b0 = p.load(fromByteOffset: i, as: UInt8.self)
            if b0 < 0x80 {
                i += 1
                continue
            }
            sawNonASCII = true
            // Length of the sequence and the allowed range of its second byte.
            let length: Int
            var lo: UInt8 = 0x80
            var hi: UInt8 = 0xBF
            switch b0 {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; lo = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; hi = 0x9F  // no UTF-16 surrogates
            case 0xF0: length = 4; lo = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; hi = 0x8F  // nothing above U+10FFFF
            default: return .invalid  // continuation byte, overlong lead C0/C1, or F5...FF
            }
            guard i + length <= n else { return .invalid }
            let b1 = p.load(fromByteOffset: i + 1, as: UInt8.self)
            guard b1 >= lo && b1 <= hi else { return .invalid }
            var k = 2
            while k < length {
                guard p.load(fromByteOffset: i + k, as: UInt8.self) & 0xC0 == 0x80 else { return .invalid }
                k += 1
            }
            i += length
        }
        return sawNonASCII ? .unicode : .ascii
    }

    /// The value of one ASCII hex digit, or `nil`.
    @inline(__always)
    static func hexValue(_ b: UInt8) -> UInt32? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(b &- UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(b &- UInt8(ascii: "a") &+ 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(b &- UInt8(ascii: "A") &+ 10)
        default: nil
        }
    }

    /// The four hex digits at `p[i..<i+4]` (bounded by `end`), or `nil`.
    @inline(__always)
    static func hex4(_ p: UnsafeRawPointer, _ i: Int, end: Int) -> UInt32? {
        guard i + 4 <= end,
            let a = hexValue(p.load(fromByteOffset: i, as: UInt8.self)),
            let b = hexValue(p.load(fromByteOffset: i + 1, as: UInt8.self)),
            let c = hexValue(p.load(fromByteOffset: i + 2, as: UInt8.self)),
            let d = hexValue(p.load(fromByteOffset: i + 3, as: UInt8.self))
        else { return nil }
        return a << 12 | b << 8 | c << 4 | d
    }

    /// Decodes the escape sequence starting at the backslash `p[i]`.
    ///
    /// Returns the scalar and the index just past the escape (a surrogate pair is one
    /// escape of 12 bytes), or `nil` for a bad escape or a lone surrogate.
    static func escape(_ p: UnsafeRawPointer, at i: Int, end: Int) -> (scalar: UInt32, next: Int)? {
        guard i + 1 < end else { return nil }
        switch p.load(fromByteOffset: i + 1, as: UInt8.self) {
        case UInt8(ascii: "\""): return (0x22, i + 2)
        case UInt8(ascii: "\\"): return (0x5C, i + 2)
        case UInt8(ascii: "/"): return (0x2F, i + 2)
        case UInt8(ascii: "b"): return (0x08, i + 2)
        case UInt8(ascii: "f"): return (0x0C, i + 2)
        case UInt8(ascii: "n"): return (0x0A, i + 2)
        case UInt8(ascii: "r"): return (0x0D, i + 2)
        case UInt8(ascii: "t"): return (0x09, i + 2)
        case UInt8(ascii: "u"):
            guard let u = hex4(p, i + 2, end: end) else { return nil }
            switch u {
            case 0xD800...0xDBFF:
                guard i + 12 <= end,
                    p.load(fromByteOffset: i + 6, as: UInt8.self) == UInt8(ascii: "\\"),
                    p.load(fromByteOffset: i + 7, as: UInt8.self) == UInt8(ascii: "u"),
                    let low = hex4(p, i + 8, end: end), (0xDC00...0xDFFF).contains(low)
                else { return nil }
                return (0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00), i + 12)
            case 0xDC00...0xDFFF:
                return nil
            default:
                return (u, i + 6)
            }
        default:
            return nil
        }
    }

    /// Unescapes the string content `p[start..<end]` into `out`, returning the byte count,
    /// or `nil` on a bad escape. The output is never longer than the input.
    static func unescape(
        _ p: UnsafeRawPointer, from start: Int, to end: Int, into out: UnsafeMutableBufferPointer<UInt8>
    ) -> Int? {
        guard out.count >= end - start, let o = out.baseAddress else { return end == start ? 0 : nil }
        var i = start
        var n = 0
        while i < end {
            let b = p.load(fromByteOffset: i, as: UInt8.self)
            if b != UInt8(ascii: "\\") {
                o[n] = b
                n += 1
                i += 1
                continue
            }
            guard let (scalar, next) = escape(p, at: i, end: end) else { return nil }
            i = next
            switch scalar {
            case 0..<0x80:
                o[n] = UInt8(truncatingIfNeeded: scalar)
                n += 1
            case 0x80..<0x800:
                o[n] = UInt8(truncatingIfNeeded: 0xC0 | scalar >> 6)
                o[n + 1] = UInt8(truncatingIfNeeded: 0x80 | scalar & 0x3F)
                n += 2
            case 0x800..<0x10000:
                o[n] = UInt8(truncatingIfNeeded: 0xE0 | scalar >> 12)
                o[n + 1] = UInt8(truncatingIfNeeded: 0x80 | (scalar >> 6) & 0x3F)
                o[n + 2] = UInt8(truncatingIfNeeded: 0x80 | scalar & 0x3F)
                n += 3
            default:
                o[n] = UInt8(truncatingIfNeeded: 0xF0 | scalar >> 18)
                o[n + 1] = UInt8(truncatingIfNeeded: 0x80 | (scalar >> 12) & 0x3F)
                o[n + 2] = UInt8(truncatingIfNeeded: 0x80 | (scalar >> 6) & 0x3F)
                o[n + 3] = UInt8(truncatingIfNeeded: 0x80 | scalar & 0x3F)
                n += 4
            }
        }
        return n
    }
}
