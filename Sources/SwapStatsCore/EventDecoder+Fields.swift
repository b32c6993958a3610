/// The fields of a swap message, in validation order (also the order producers usually
/// write them, which the key fast path expects).
enum KnownField: Int, CaseIterable {
    case id, token, who, side, amount, usd, ts, price

    /// The first (up to) eight bytes of `"name":` as a little-endian word, and the length
    /// of `"name":` (only `"amount":`, 9 bytes, is longer than a word; its ninth byte is `:`).
    var keyPattern: (word: UInt64, length: Int) {
        switch self {
        case .id: (0x3A_22_64_69_22, 5)  // "id":
        case .token: (0x3A_22_6E_65_6B_6F_74_22, 8)  // "token":
        case .who: (0x3A_22_6F_68_77_22, 6)  // "who":
        case .side: (0x3A_22_65_64_69_73_22, 7)  // "side":
        case .amount: (0x22_74_6E_75_6F_6D_61_22, 9)  // "amount" then ':'
        case .usd: (0x3A_22_64_73_75_22, 6)  // "usd":
        case .ts: (0x3A_22_73_74_22, 5)  // "ts":
        case .price: (0x3A_22_65_63_69_72_70_22, 8)  // "price":
        }
    }

    /// Whether `p[i...]` starts with this field's `"name":` (needs `i + 9 <= count`).
    @inline(__always)
    func matchesKey(_ p: UnsafeRawPointer, at i: Int) -> Bool {
        let (pattern, length) = keyPattern
        let word = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: i, as: UInt64.self))
        if length >= 8 {
            return word == pattern
                && (length == 8 || p.load(fromByteOffset: i + 8, as: UInt8.self) == UInt8(ascii: ":"))
        }
        return word & ((1 << UInt64(8 * length)) - 1) == pattern
    }

    /// The field named by the key string `key` (raw, possibly escaped), or `nil`.
    @inline(__always)
    init?(_ p: UnsafeRawPointer, count: Int, key: ValueSlot) {
        let length = key.end - key.start
        if !key.escaped {
            self.init(packed: Self.pack(p + key.start, length, readable: count - key.start), length: length)
            return
        }
        // An escaped key: the longest known name, "amount", is at most 36 escaped bytes.
        guard length <= 48 else { return nil }
        let field = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 48) { buffer -> KnownField? in
            guard let n = UTF8Scan.unescape(p, from: key.start, to: key.end, into: buffer),
                let base = buffer.baseAddress
            else { return nil }
            return KnownField(packed: Self.pack(UnsafeRawPointer(base), n), length: n)
        }
        guard let field else { return nil }
        self = field
    }

    /// Up to eight bytes at `p` as a little-endian integer (0 if longer). `readable` is how
    /// many bytes from `p` may be read; with eight or more, one unaligned load does it.
    @inline(__always)
    static func pack(_ p: UnsafeRawPointer, _ length: Int, readable: Int = 0) -> UInt64 {
        guard length <= 8 else { return 0 }
        if readable >= 8 {
            let word = UInt64(littleEndian: p.loadUnaligned(as: UInt64.self))
            return length == 8 ? word : word & ((1 << UInt64(8 * length)) - 1)
        }
        var word: UInt64 = 0
        for k in 0..<length {
            word |= UInt64(p.load(fromByteOffset: k, as: UInt8.self)) << UInt64(8 * k)
        }
        return word
    }

    @inline(__always)
    private init?(packed word: UInt64, length: Int) {
        switch (length, word) {
        case (2, 0x64_69): self = .id  // "id"
        case (5, 0x6E_65_6B_6F_74): self = .token  // "token"
        case (3, 0x6F_68_77): self = .who  // "who"
        case (4, 0x65_64_69_73): self = .side  // "side"
        case (6, 0x74_6E_75_6F_6D_61): self = .amount  // "amount"
        case (3, 0x64_73_75): self = .usd  // "usd"
        case (2, 0x73_74): self = .ts  // "ts"
        case (5, 0x65_63_69_72_70): self = .price  // "price"
        default: return nil
        }
    }
}

/// The values of the known fields of one message, as found by the scan.
struct FieldSlots {
    var id = ValueSlot(), token = ValueSlot(), who = ValueSlot(), side = ValueSlot()
    var amount = ValueSlot(), usd = ValueSlot(), ts = ValueSlot(), price = ValueSlot()
    /// A known field appeared more than once.
    var duplicate = false

    /// Records the value of `field`, noting a duplicate.
    @inline(__always)
    mutating func record(_ field: KnownField, _ value: ValueSlot) {
        switch field {
        case .id: Self.store(&id, value, &duplicate)
        case .token: Self.store(&token, value, &duplicate)
        case .who: Self.store(&who, value, &duplicate)
        case .side: Self.store(&side, value, &duplicate)
        case .amount: Self.store(&amount, value, &duplicate)
        case .usd: Self.store(&usd, value, &duplicate)
        case .ts: Self.store(&ts, value, &duplicate)
        case .price: Self.store(&price, value, &duplicate)
        }
    }

    @inline(__always)
    private static func store(_ slot: inout ValueSlot, _ value: ValueSlot, _ duplicate: inout Bool) {
        if slot.kind == .absent { slot = value } else { duplicate = true }
    }

    /// Validates the recorded values in contract order and builds the event.
    /// `asciiOnly` means the whole message had no byte >= 0x80.
    func build(_ p: UnsafeRawPointer, asciiOnly: Bool) -> Result<SwapEvent, InvalidReason> {
        do throws(InvalidReason) {
            // Each check throws its own reason; an absent or null field yields nil, and
            // missingField is reported only once every present field has passed.
            let id = try FieldValue.string(p, id, maxBytes: 256, else: .badID)
            let token = try FieldValue.token(p, token, asciiOnly: asciiOnly)
            let who = try FieldValue.string(p, who, maxBytes: 128, else: .badWho)
            let side = try FieldValue.side(p, side)
            let amount = try FieldValue.decimal(p, amount, allowZero: false, else: .badAmount)
            let usd = try FieldValue.decimal(p, usd, allowZero: true, else: .badUSD)
            let ts = try FieldValue.timestamp(p, ts)
            let price = try FieldValue.price(p, price)
            guard let id, let token, let who, let side, let amount, let usd, let ts else {
                throw .missingField
            }
            return .success(
                SwapEvent(id: id, token: token, who: who, side: side, amount: amount, usd: usd, ts: ts, price: price))
        } catch {
            return .failure(error)
        }
    }
}
