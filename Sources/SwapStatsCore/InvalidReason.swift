/// Why an input message is not a valid swap. Raw values are the `reason` label of
/// `swapstats_events_invalid_total` and the dead-letter header value; never rename one.
public enum InvalidReason: String, Sendable, Hashable, CaseIterable, Error {
    /// The message is larger than ``EventDecoder/maxMessageBytes``.
    case tooLarge = "too_large"
    /// The bytes are not valid UTF-8.
    case invalidUTF8 = "invalid_utf8"
    /// The bytes are not one well-formed JSON value.
    case malformedJSON = "malformed_json"
    /// The JSON value is not an object.
    case notObject = "not_object"
    /// Nesting deeper than ``EventDecoder/maxDepth`` (inside an unknown field).
    case tooDeep = "too_deep"
    /// A known field appears twice.
    case duplicateField = "duplicate_field"
    /// A required field is absent (or `null`).
    case missingField = "missing_field"
    case badID = "bad_id"
    case badToken = "bad_token"
    case badWho = "bad_who"
    case badSide = "bad_side"
    case badAmount = "bad_amount"
    case badUSD = "bad_usd"
    case badTimestamp = "bad_ts"
    case badPrice = "bad_price"
}
