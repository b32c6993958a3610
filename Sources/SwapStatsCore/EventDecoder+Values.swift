/// Per-field checks (contract §1). Each returns `nil` for an absent or `null` field and
/// throws the field's reason for any other invalid value.
enum FieldValue {
    /// A string field of 1...`maxBytes` UTF-8 bytes after unescaping.
    static func string(
        _ p: UnsafeRawPointer, _ slot: ValueSlot, maxBytes: Int, else reason: InvalidReason
    ) throws(InvalidReason) -> String? {
        switch slot.kind {
        case .absent, .null: return nil
        case .string: break
        default: throw reason
        }
        let length = slot.end - slot.start
        if !slot.escaped {
            guard length >= 1 && length <= maxBytes else { throw reason }
            return String(decoding: UnsafeRawBufferPointer(start: p + slot.start, count: length), as: UTF8.self)
        }
        let string = unescapedString(p, slot)
        guard (1...maxBytes).contains(string.utf8.count) else { throw reason }
        return string
    }

    /// The token as ``TokenID/normalized(_:)`` has it (ASCII lowercased in place here).
    static func token(_ p: UnsafeRawPointer, _ slot: ValueSlot, asciiOnly: Bool) throws(InvalidReason) -> String? {
        let length = slot.end - slot.start
        let start = p + slot.start
        if slot.kind == .string && !slot.escaped && length >= 1 && length <= 128
            && (asciiOnly || isASCII(start, length))
        {
            // ASCII fast path: lowercase into a stack buffer, then one copy into the String
            // (String(decoding:) is markedly faster than String(unsafeUninitializedCapacity:)).
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 128) { out in
                guard let base = out.baseAddress else { return "" }
                var k = 0
                while k + 8 <= length {
                    // Eight ASCII bytes at once: 0x41...0x5A get 0x20 (no carries below 0x80).
                    let w = start.loadUnaligned(fromByteOffset: k, as: UInt64.self)
                    let ones: UInt64 = 0x0101_0101_0101_0101
                    let upper = (w &+ ones &* 0x3F) & ~(w &+ ones &* 0x25) & (ones &* 0x80)
                    UnsafeMutableRawPointer(base).storeBytes(of: w | upper >> 2, toByteOffset: k, as: UInt64.self)
                    k += 8
                }
                while k < length {
                    let b = start.load(fromByteOffset: k, as: UInt8.self)
                    base[k] = b &- UInt8(ascii: "A") < 26 ? b | 0x20 : b
                    k += 1
                }
                return String(decoding: UnsafeBufferPointer(start: base, count: length), as: UTF8.self)
            }
        }
        guard let original = try string(p, slot, maxBytes: TokenID.maxBytes, else: .badToken) else { return nil }
        guard let token = TokenID.normalized(original) else { throw .badToken }
        return token
    }

    /// `"buy"` or `"sell"`.
    static func side(_ p: UnsafeRawPointer, _ slot: ValueSlot) throws(InvalidReason) -> Side? {
        switch slot.kind {
        case .absent, .null: return nil
        case .string: break
        default: throw .badSide
        }
        @inline(__always) func side(_ q: UnsafeRawPointer, _ length: Int) -> Side? {
            switch (length, length <= 4 ? KnownField.pack(q, length) : 0) {
            case (3, 0x79_75_62): .buy  // "buy"
            case (4, 0x6C_6C_65_73): .sell  // "sell"
            default: nil
            }
        }
        let result =
            slot.escaped
            ? withContent(p, slot) { q, start, end in side(q + start, end - start) } ?? nil
            : side(p + slot.start, slot.end - slot.start)
        guard let result else { throw .badSide }
        return result
    }

    /// A number, or a string holding exactly a JSON number; finite and > 0
    /// (or >= 0 if `allowZero`).
    static func decimal(
        _ p: UnsafeRawPointer, _ slot: ValueSlot, allowZero: Bool, else reason: InvalidReason
    ) throws(InvalidReason) -> Double? {
        let value: Double?
        switch slot.kind {
        case .absent, .null:
            return nil
        case .number:
            value = slot.number
        case .string:
            value = withContent(p, slot) { q, start, end in NumberScan.double(q, from: start, to: end) } ?? nil
        default:
            throw reason
        }
        guard let value, value.isFinite, value > 0 || (allowZero && value == 0) else { throw reason }
        return value
    }

    /// A JSON integer (digits only) in 0...2^53 − 1, as classified by the scan.
    static func timestamp(_ p: UnsafeRawPointer, _ slot: ValueSlot) throws(InvalidReason) -> Int64? {
        switch slot.kind {
        case .absent, .null: return nil
        case .number:
            guard slot.integer else { throw .badTimestamp }
            return Int64(slot.number)
        default: throw .badTimestamp
        }
    }

    /// The optional price: a JSON number (not a string), finite and > 0.
    static func price(_ p: UnsafeRawPointer, _ slot: ValueSlot) throws(InvalidReason) -> Double? {
        switch slot.kind {
        case .absent, .null: return nil
        case .number:
            let price = slot.number
            guard price.isFinite && price > 0 else { throw .badPrice }
            return price
        default: throw .badPrice
        }
    }

    // MARK: Helpers

    /// Every byte of `p[0..<count]` is < 0x80.
    static func isASCII(_ p: UnsafeRawPointer, _ count: Int) -> Bool {
        for k in 0..<count where p.load(fromByteOffset: k, as: UInt8.self) >= 0x80 { return false }
        return true
    }

    /// The unescaped content of the string `slot` as a `String`.
    static func unescapedString(_ p: UnsafeRawPointer, _ slot: ValueSlot) -> String {
        String(unsafeUninitializedCapacity: slot.end - slot.start) { out in
            UTF8Scan.unescape(p, from: slot.start, to: slot.end, into: out) ?? 0
        }
    }

    /// Calls `body` with the string content of `slot` (unescaped into a temporary buffer if
    /// needed) as `q[start..<end]`; `nil` if unescaping fails.
    static func withContent<R>(
        _ p: UnsafeRawPointer, _ slot: ValueSlot, _ body: (UnsafeRawPointer, Int, Int) -> R
    ) -> R? {
        guard slot.escaped else { return body(p, slot.start, slot.end) }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: slot.end - slot.start) { out -> R? in
            guard let n = UTF8Scan.unescape(p, from: slot.start, to: slot.end, into: out),
                let base = out.baseAddress
            else { return nil }
            return body(UnsafeRawPointer(base), 0, n)
        }
    }
}
