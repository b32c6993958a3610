/// Token ids as the contract compares them: lowercased with Unicode's lowercase mapping (so
/// `0xAbC` is `0xabc` and `Ä` is `ä`), 1–128 UTF-8 bytes after lowercasing. No other
/// normalisation: canonically equivalent spellings with different bytes (a precomposed `ä`
/// and `a` + combining diaeresis) are different tokens, as their Kafka keys are.
///
/// The one normaliser behind the decoder, HTTP paths and WebSocket messages, so a token is
/// stored and looked up under the same bytes.
public enum TokenID {
    /// The most UTF-8 bytes of an id, before and after lowercasing.
    public static let maxBytes = 128

    /// The id as stored, or nil when it is empty or longer than ``maxBytes``.
    public static func normalized(_ raw: String) -> String? {
        guard (1...maxBytes).contains(raw.utf8.count) else { return nil }
        let lowered = raw.utf8.contains(where: { $0 >= 0x80 || $0 &- 0x41 < 26 }) ? raw.lowercased() : raw
        return (1...maxBytes).contains(lowered.utf8.count) ? lowered : nil
    }
}
