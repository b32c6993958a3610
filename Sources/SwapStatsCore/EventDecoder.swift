/// Decodes and validates one swap message (contract §1). Never traps, whatever the bytes.
///
/// A message is one JSON object (RFC 8259, UTF-8) with the fields `id`, `token`, `who`,
/// `side`, `amount`, `usd`, `ts` and optionally `price`; unknown fields are ignored but
/// must be well-formed. The bytes are scanned once, without recursion or intermediate
/// collections; the only allocations of a valid message are the three strings
/// (`id`, `token`, `who`).
///
/// When several things are wrong, the reason reported is the first of:
/// 1. ``InvalidReason/tooLarge`` — more than ``maxMessageBytes`` bytes (checked before
///    anything else);
/// 2. ``InvalidReason/invalidUTF8`` — anywhere in the message, even inside unknown fields;
/// 3. ``InvalidReason/malformedJSON`` / ``InvalidReason/tooDeep`` /
///    ``InvalidReason/notObject`` — whichever the left-to-right scan meets first;
///    `notObject` is reported only for a top-level value that is otherwise well-formed
///    JSON (so malformed beats not-an-object);
/// 4. ``InvalidReason/duplicateField`` — a known field appearing twice (whatever its values);
/// 5. the per-field reasons, checked in the order `id`, `token`, `who`, `side`, `amount`,
///    `usd`, `ts`, `price`;
/// 6. ``InvalidReason/missingField`` — a required field absent or `null`.
public struct EventDecoder: Sendable {
    /// Messages longer than this many bytes are rejected with ``InvalidReason/tooLarge``.
    public static let maxMessageBytes = 65_536
    /// The deepest nesting accepted, counting the top-level object as depth 1; deeper is
    /// ``InvalidReason/tooDeep``.
    public static let maxDepth = 32

    /// Creates a decoder. It holds no state, so one instance may be shared freely.
    public init() {}

    /// Decodes the message in `bytes`.
    public func decode(_ bytes: UnsafeRawBufferPointer) -> Result<SwapEvent, InvalidReason> {
        guard bytes.count <= Self.maxMessageBytes else { return .failure(.tooLarge) }
        guard let p = bytes.baseAddress, !bytes.isEmpty else { return .failure(.malformedJSON) }
        var fields = FieldSlots()
        var asciiOnly = false
        // Parse first; the UTF-8 check runs only when the scan saw a byte >= 0x80 in a
        // string or failed, which keeps the order invalidUTF8 before structural reasons.
        switch Self.parseObject(p, count: bytes.count, into: &fields) {
        case .success(let stringBits):
            if stringBits & 0x8080_8080_8080_8080 == 0 {
                asciiOnly = true
            } else {
                let validity = UTF8Scan.validate(p, count: bytes.count)
                if validity == .invalid { return .failure(.invalidUTF8) }
                asciiOnly = validity == .ascii
            }
        case .failure(let error):
            return .failure(UTF8Scan.validate(p, count: bytes.count) == .invalid ? .invalidUTF8 : error)
        }
        if fields.duplicate { return .failure(.duplicateField) }
        return fields.build(p, asciiOnly: asciiOnly)
    }

    /// Decodes the message in `bytes`.
    public func decode(_ bytes: [UInt8]) -> Result<SwapEvent, InvalidReason> {
        bytes.withUnsafeBytes { decode($0) }
    }

    /// Decodes the message in the UTF-8 form of `text`.
    public func decode(_ text: String) -> Result<SwapEvent, InvalidReason> {
        var text = text
        return text.withUTF8 { decode(UnsafeRawBufferPointer($0)) }
    }

    /// Scans the whole message, recording where each known field's value is.
    /// Fails with a structural error (`malformedJSON`, `tooDeep`, `notObject`); on success
    /// returns the scanner's ``JSONScanner/stringBits``.
    static func parseObject(
        _ p: UnsafeRawPointer, count: Int, into fields: inout FieldSlots
    ) -> Result<UInt64, InvalidReason> {
        var s = JSONScanner(p, count: count)
        s.skipWhitespace()
        guard s.byte(s.i) == UInt8(ascii: "{") else {
            if let error = s.skipValue(outerDepth: 0) { return .failure(error) }
            s.skipWhitespace()
            return .failure(s.i == count ? .notObject : .malformedJSON)
        }
        s.i += 1
        s.skipWhitespace()
        if s.byte(s.i) == UInt8(ascii: "}") {
            s.i += 1
        } else {
            var expected = 0  // the field the key fast path tries first
            while true {
                guard s.byte(s.i) == UInt8(ascii: "\"") else { return .failure(.malformedJSON) }
                let field: KnownField?
                if s.i + 9 <= count, let next = KnownField(rawValue: expected), next.matchesKey(p, at: s.i) {
                    // Fast path: the next field in the usual order, written as `"name":`.
                    field = next
                    s.i += next.keyPattern.length
                } else {
                    guard let key = s.scanString() else { return .failure(.malformedJSON) }
                    s.skipWhitespace()
                    guard s.byte(s.i) == UInt8(ascii: ":") else { return .failure(.malformedJSON) }
                    s.i += 1
                    field = KnownField(p, count: count, key: key)
                }
                if let field { expected = field.rawValue + 1 }
                s.skipWhitespace()
                var value = ValueSlot()
                switch s.byte(s.i) {
                case UInt8(ascii: "{"):
                    if let error = s.skipValue(outerDepth: 1) { return .failure(error) }
                    value.kind = .object
                case UInt8(ascii: "["):
                    if let error = s.skipValue(outerDepth: 1) { return .failure(error) }
                    value.kind = .array
                default:
                    let convert = field != nil && field != .id && field != .token && field != .who && field != .side
                    guard let scalar = s.scanScalar(convert: convert) else { return .failure(.malformedJSON) }
                    value = scalar
                }
                if let field { fields.record(field, value) }
                s.skipWhitespace()
                let c = s.byte(s.i)
                s.i += 1
                if c == UInt8(ascii: "}") { break }
                guard c == UInt8(ascii: ",") else { return .failure(.malformedJSON) }
                s.skipWhitespace()
            }
        }
        s.skipWhitespace()
        return s.i == count ? .success(s.stringBits) : .failure(.malformedJSON)
    }
}
