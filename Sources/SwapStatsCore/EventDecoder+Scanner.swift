/// The kind of a JSON value, as recorded for a known field.
enum ValueKind: UInt8 {
    case absent, null, string, number, bool, object, array
}

/// Where a known field's value sits in the message: `start..<end` is the string content
/// (without quotes) or the number text.
struct ValueSlot {
    var kind: ValueKind = .absent
    var start = 0
    var end = 0
    /// The string content contains at least one backslash escape.
    var escaped = false
    /// A number's value, when the scan converted it.
    var number: Double = 0
    /// The converted number is digits only and at most 2^53 − 1 (so `number` is exact).
    var integer = false
}

/// A single-pass, non-recursive JSON scanner over validated UTF-8 bytes.
///
/// Nesting is tracked in a 64-bit stack (one bit per open container), so depth is bounded
/// by ``EventDecoder/maxDepth`` and nothing recurses.
struct JSONScanner {
    let p: UnsafeRawPointer
    let count: Int
    var i = 0
    /// The OR of (at least) every byte inside the strings scanned so far: if its high bit
    /// is clear after a successful scan, the whole message is ASCII (outside strings, a
    /// byte >= 0x80 is a syntax error anyway).
    var stringBits: UInt64 = 0

    init(_ p: UnsafeRawPointer, count: Int) {
        self.p = p
        self.count = count
    }

    /// The byte at `k`, or 0 past the end (0 is invalid everywhere in JSON, so it fails
    /// whatever expected a real byte).
    @inline(__always)
    func byte(_ k: Int) -> UInt8 { k < count ? p.load(fromByteOffset: k, as: UInt8.self) : 0 }

    @inline(__always)
    mutating func skipWhitespace() {
        while true {
            switch byte(i) {
            case 0x20, 0x0A, 0x0D, 0x09: i += 1
            default: return
            }
        }
    }

    /// Scans the string whose opening quote is at `i`, leaving `i` past the closing quote.
    /// Validates escapes (including surrogate pairs) and rejects raw control characters.
    @inline(__always)
    mutating func scanString() -> ValueSlot? {
        i += 1
        let start = i
        var escaped = false
        while true {
            if i + 16 <= count {
                // Sixteen bytes per step while no byte is special (two independent words).
                let w0 = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                let w1 = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self))
                stringBits |= w0 | w1
                let s0 = Self.specialBytes(w0)
                if s0 != 0 {
                    i += s0.trailingZeroBitCount >> 3
                } else {
                    let s1 = Self.specialBytes(w1)
                    if s1 == 0 {
                        i += 16
                        continue
                    }
                    i += 8 + s1.trailingZeroBitCount >> 3
                }
            } else if i + 8 <= count {
                let w = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                stringBits |= w
                let special = Self.specialBytes(w)
                if special == 0 {
                    i += 8
                    continue
                }
                i += special.trailingZeroBitCount >> 3
            } else {
                let b = byte(i)
                stringBits |= UInt64(b)
                if b != UInt8(ascii: "\"") && b != UInt8(ascii: "\\") && b >= 0x20 {
                    i += 1
                    continue
                }
            }
            let b = byte(i)
            if b == UInt8(ascii: "\"") {
                let slot = ValueSlot(kind: .string, start: start, end: i, escaped: escaped)
                i += 1
                return slot
            }
            guard b == UInt8(ascii: "\\"), let (_, next) = UTF8Scan.escape(p, at: i, end: count) else {
                return nil  // control character, end of input or bad escape
            }
            escaped = true
            i = next
        }
    }

    /// The high bit of each byte of `w` that is `"`, `\` or < 0x20. The SWAR zero-byte
    /// tests are exact up to the first flagged byte, so the lowest set bit marks the first
    /// special byte (bytes >= 0x80 never flag).
    @inline(__always)
    static func specialBytes(_ w: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let quote = w ^ (ones &* 0x22)
        let slash = w ^ (ones &* 0x5C)
        return ((quote &- ones) & ~quote | (slash &- ones) & ~slash | (w &- ones &* 0x20) & ~w)
            & 0x8080_8080_8080_8080
    }

    /// Scans one scalar value (string, number, `true`, `false`, `null`) at `i`; with
    /// `convert`, a number's `Double` value is computed too. Returns `nil` if none starts
    /// there (including `{` and `[`).
    mutating func scanScalar(convert: Bool = false) -> ValueSlot? {
        switch byte(i) {
        case UInt8(ascii: "\""):
            return scanString()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            guard let (end, value, integer) = NumberScan.scan(p, from: i, to: count, convert: convert) else {
                return nil
            }
            defer { i = end }
            return ValueSlot(kind: .number, start: i, end: end, number: value, integer: integer)
        case UInt8(ascii: "t"):
            return literal(0x65_75_72_74, length: 4, kind: .bool)  // "true"
        case UInt8(ascii: "f"):
            guard byte(i + 4) == UInt8(ascii: "e") else { return nil }
            i += 1
            return literal(0x65_73_6C_61, length: 4, kind: .bool)  // "alse"
        case UInt8(ascii: "n"):
            return literal(0x6C_6C_75_6E, length: 4, kind: .null)  // "null"
        default:
            return nil
        }
    }

    /// Matches the four bytes `word` (little-endian) at `i`.
    @inline(__always)
    private mutating func literal(_ word: UInt32, length: Int, kind: ValueKind) -> ValueSlot? {
        guard i + length <= count,
            UInt32(littleEndian: p.loadUnaligned(fromByteOffset: i, as: UInt32.self)) == word
        else { return nil }
        i += length
        return ValueSlot(kind: kind)
    }

    /// Skips one complete JSON value at `i` (any type), nested inside `outerDepth`
    /// containers. Fails with `.tooDeep` as soon as a container would open deeper than
    /// ``EventDecoder/maxDepth``, or `.malformedJSON`.
    mutating func skipValue(outerDepth: Int) -> InvalidReason? {
        var stack: UInt64 = 0  // bit k set: the container at level k + 1 is an object
        var level = 0
        while true {
            // A value is expected at `i`.
            skipWhitespace()
            let b = byte(i)
            if b == UInt8(ascii: "{") || b == UInt8(ascii: "[") {
                level += 1
                if outerDepth + level > EventDecoder.maxDepth { return .tooDeep }
                let isObject = b == UInt8(ascii: "{")
                if isObject { stack |= 1 << UInt64(level - 1) }
                i += 1
                skipWhitespace()
                if byte(i) == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                    stack &= ~(1 << UInt64(level - 1))
                    level -= 1
                    i += 1
                } else {
                    if isObject, let error = skipKeyAndColon() { return error }
                    continue
                }
            } else if scanScalar() == nil {
                return .malformedJSON
            }
            // After a value: close containers or move to the next element.
            while true {
                if level == 0 { return nil }
                skipWhitespace()
                let isObject = stack & (1 << UInt64(level - 1)) != 0
                let c = byte(i)
                if c == UInt8(ascii: ",") {
                    i += 1
                    if isObject {
                        skipWhitespace()
                        if let error = skipKeyAndColon() { return error }
                    }
                    break
                }
                guard c == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) else { return .malformedJSON }
                stack &= ~(1 << UInt64(level - 1))
                level -= 1
                i += 1
            }
        }
    }

    /// Scans `"key" :` at `i` (whitespace before the key already skipped).
    private mutating func skipKeyAndColon() -> InvalidReason? {
        guard byte(i) == UInt8(ascii: "\""), scanString() != nil else { return .malformedJSON }
        skipWhitespace()
        guard byte(i) == UInt8(ascii: ":") else { return .malformedJSON }
        i += 1
        return nil
    }
}
