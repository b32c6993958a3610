import SwapStatsCore
import SwapStatsTestSupport
import Testing

/// A valid message with `fields` replacing (or, with `nil`, removing) the defaults.
/// Values are raw JSON text.
func message(_ fields: KeyValuePairs<String, String?> = [:], extra: String = "") -> String {
    var pairs: [(String, String?)] = [
        ("id", #""0xabc:3""#), ("token", #""0xDEAD""#), ("who", #""0xw1""#), ("side", #""buy""#),
        ("amount", #""12.5""#), ("usd", "25"), ("ts", "1763800004312"), ("price", "2.0"),
    ]
    for (key, value) in fields {
        if let k = pairs.firstIndex(where: { $0.0 == key }) { pairs[k].1 = value } else { pairs.append((key, value)) }
    }
    let body = pairs.compactMap { key, value in value.map { "\"\(key)\":\($0)" } }.joined(separator: ",")
    return "{" + body + extra + "}"
}

func reason(_ result: Result<SwapEvent, InvalidReason>) -> InvalidReason? {
    if case .failure(let reason) = result { return reason }
    return nil
}

let decoder = EventDecoder()

@Suite struct EventDecoderTests {
    // MARK: Valid messages

    @Test func decodesTheContractExample() throws {
        let text =
            #"{"id":"0xabc:3","token":"0xDEAD","who":"0xw1","side":"buy","amount":"12.5","usd":25,"ts":1763800004312,"price":2.0,"extra":{"x":[1,2]}}"#
        let event = try decoder.decode(text).get()
        #expect(event.id == "0xabc:3")
        #expect(event.token == "0xdead")
        #expect(event.who == "0xw1")
        #expect(event.side == .buy)
        #expect(event.amount == 12.5)
        #expect(event.usd == 25)
        #expect(event.ts == 1_763_800_004_312)
        #expect(event.price == 2.0)
        #expect(
            event
                == SwapEvent(
                    id: "0xabc:3", token: "0xdead", who: "0xw1", side: .buy, amount: 12.5, usd: 25,
                    ts: 1_763_800_004_312, price: 2))
    }

    @Test func numberAndStringFormsOfAmountAndUSD() throws {
        let a = try decoder.decode(message(["amount": "12.5", "usd": #""25.25""#, "side": #""sell""#])).get()
        #expect(a.amount == 12.5 && a.usd == 25.25 && a.side == .sell)
        let b = try decoder.decode(message(["amount": #""1e-3""#, "usd": "0"])).get()
        #expect(b.amount == 0.001 && b.usd == 0)
    }

    @Test func priceAbsentNullOrPresent() throws {
        #expect(try decoder.decode(message(["price": nil])).get().price == 2.0)  // 25 / 12.5
        #expect(try decoder.decode(message(["price": "null"])).get().price == 2.0)
        #expect(try decoder.decode(message(["price": "3.5e0"])).get().price == 3.5)
    }

    @Test func tokenIsLowercased() throws {
        #expect(
            try decoder.decode(message(["token": #""0xAbCdEF0123456789ABCDEFabcdefABCDEF01234567""#])).get().token
                == "0xabcdef0123456789abcdefabcdefabcdef01234567")
        #expect(try decoder.decode(message(["token": #""ÄBC""#])).get().token == "äbc")
        #expect(try decoder.decode(message(["token": #""\u00C4B\u0043""#])).get().token == "äbc")
    }

    /// The decoder, HTTP paths and WebSocket messages share one normaliser: every spelling
    /// the decoder stores under one id is looked up under the same id.
    @Test func theDecoderStoresTokensAsTokenIDNormalizesThem() throws {
        for raw in ["ÄBC", "äbc", "0xAbCd", "Ω", "İx", "straße", "STRASSE", "ÉCOLE", String(repeating: "Ä", count: 64)]
        {
            let stored = try decoder.decode(message(["token": "\"\(raw)\""])).get().token
            #expect(TokenID.normalized(raw) == stored, "\(raw)")
            #expect(TokenID.normalized(stored) == stored, "\(raw): normalising twice changes nothing")
        }
        #expect(TokenID.normalized("") == nil)
        #expect(TokenID.normalized(String(repeating: "a", count: 129)) == nil)
        // 64 × 2 bytes: 128 bytes, the most an id may have.
        #expect(TokenID.normalized(String(repeating: "Ä", count: 64)) == String(repeating: "ä", count: 64))
        #expect(TokenID.normalized(String(repeating: "Ä", count: 65)) == nil)
    }

    @Test func unknownFieldsOfEveryTypeAreIgnored() throws {
        let extra =
            #","o":{"a":{"b":[1,{"c":null}]}},"a":[],"e":{},"s":"x\"y","n":-1.5e+3,"t":true,"f":false,"z":null,"u":"\ud83d\ude00""#
        let event = try decoder.decode(message(extra: extra)).get()
        #expect(event.id == "0xabc:3")
    }

    @Test func whitespaceEverywhereJSONAllowsIt() throws {
        let text =
            " \n\t{ \"id\" : \"i\" ,\r\n\"token\"\t:\"t\" , \"who\":\"w\" , \"side\" : \"sell\" , \"amount\" : 1 ,"
            + " \"usd\" : 2 , \"ts\" : 3 , \"x\" : [ 1 , { } , [ ] ] } \n "
        let event = try decoder.decode(text).get()
        #expect(event.id == "i" && event.side == .sell && event.ts == 3 && event.price == 2)
    }

    @Test func escapesInStrings() throws {
        let event = try decoder.decode(
            message(["id": #""a\u00e9\ud83d\ude00\"\\\/\b\f\n\r\t""#, "who": #""\u0077ho\u2603""#])
        ).get()
        #expect(event.id == "aé😀\"\\/\u{8}\u{C}\n\r\t")
        #expect(event.who == "who☃")
        // Escaped keys and escaped side/amount strings mean the same as plain ones.
        let e2 = try decoder.decode(message(["side": #""s\u0065ll""#, "amount": #""\u0031.5""#], extra: "")).get()
        #expect(e2.side == .sell && e2.amount == 1.5)
        let text = #"{"\u0069d":"x","token":"t","who":"w","side":"buy","amount":1,"usd":1,"ts":1}"#
        #expect(try decoder.decode(text).get().id == "x")
    }

    @Test func allThreeEntryPointsAgree() throws {
        let text = message()
        let bytes = Array(text.utf8)
        let viaString = try decoder.decode(text).get()
        #expect(try decoder.decode(bytes).get() == viaString)
        #expect(try bytes.withUnsafeBytes { try decoder.decode($0).get() } == viaString)
    }

    // MARK: Every reason

    @Test(arguments: [
        (message(["id": #""""#]), InvalidReason.badID),
        (message(["id": "7"]), .badID),
        (message(["token": #""""#]), .badToken),
        (message(["token": "[]"]), .badToken),
        (message(["who": "true"]), .badWho),
        (message(["side": #""Buy""#]), .badSide),
        (message(["side": #""buy ""#]), .badSide),
        (message(["side": "1"]), .badSide),
        (message(["amount": "true"]), .badAmount),
        (message(["amount": "0"]), .badAmount),
        (message(["amount": "-1"]), .badAmount),
        (message(["amount": "1e400"]), .badAmount),
        (message(["amount": #"" 1""#]), .badAmount),
        (message(["amount": #""1.""#]), .badAmount),
        (message(["amount": #""0x10""#]), .badAmount),
        (message(["amount": #""""#]), .badAmount),
        (message(["amount": #""NaN""#]), .badAmount),
        (message(["usd": "-0.01"]), .badUSD),
        (message(["usd": #""inf""#]), .badUSD),
        (message(["usd": "{}"]), .badUSD),
        (message(["ts": #""123""#]), .badTimestamp),
        (message(["ts": "1.5"]), .badTimestamp),
        (message(["ts": "1e3"]), .badTimestamp),
        (message(["ts": "-1"]), .badTimestamp),
        (message(["ts": "9007199254740992"]), .badTimestamp),
        (message(["ts": "123456789012345678901"]), .badTimestamp),
        (message(["price": #""2""#]), .badPrice),
        (message(["price": "0"]), .badPrice),
        (message(["price": "-2"]), .badPrice),
        (message(["price": "1e999"]), .badPrice),
        (message(["id": nil]), .missingField),
        (message(["ts": "null"]), .missingField),
        (message(["side": nil]), .missingField),
        (message(extra: #","id":"again""#), .duplicateField),
        (message(extra: #","price":null"#), .duplicateField),
        (message() + "x", .malformedJSON),
        (message() + "{}", .malformedJSON),
        (String(message().dropLast()), .malformedJSON),
        (message(["amount": "01"]), .malformedJSON),
        (message(["amount": "-"]), .malformedJSON),
        (message(["amount": "1."]), .malformedJSON),
        (message(["amount": ".5"]), .malformedJSON),
        (message(["amount": "+1"]), .malformedJSON),
        (message(["amount": "1e"]), .malformedJSON),
        (message(["id": #""a\x""#]), .malformedJSON),
        (message(["id": #""a\u12""#]), .malformedJSON),
        (message(["id": #""\ud83d""#]), .malformedJSON),
        (message(["id": #""\ude00x""#]), .malformedJSON),
        (message(["id": "\"a\tb\""]), .malformedJSON),
        (message(["id": "'x'"]), .malformedJSON),
        (message(extra: ",\"x\":tru"), .malformedJSON),
        (message(extra: ",\"x\":[1,]"), .malformedJSON),
        (message(extra: ",\"x\":{\"a\"}"), .malformedJSON),
        (message(extra: ","), .malformedJSON),
        (message(extra: ",\"x\":\"\\ud800\""), .malformedJSON),
        ("", .malformedJSON),
        ("   ", .malformedJSON),
        ("{", .malformedJSON),
        ("[1,", .malformedJSON),  // malformed beats notObject
        ("[1,2]", .notObject),
        (#" "str" "#, .notObject),
        ("null", .notObject),
        ("42", .notObject),
        ("{}", .missingField),
    ])
    func rejects(_ text: String, _ expected: InvalidReason) {
        #expect(reason(decoder.decode(text)) == expected, "\(text)")
    }

    @Test func precedence() {
        // tooLarge before invalidUTF8.
        var big = Array(message(extra: ",\"pad\":\"" + String(repeating: "x", count: 70_000) + "\"").utf8)
        big[10] = 0xFF
        #expect(reason(decoder.decode(big)) == .tooLarge)
        // invalidUTF8 before malformedJSON.
        #expect(reason(decoder.decode([0x7B, 0xFF])) == .invalidUTF8)
        // malformedJSON before duplicateField.
        #expect(reason(decoder.decode(message(extra: #","id":"x""#) + "]")) == .malformedJSON)
        // duplicateField before per-field reasons.
        #expect(reason(decoder.decode(message(["id": #""""#], extra: #","ts":"x""#))) == .duplicateField)
        // Per-field order: id, token, who, side, amount, usd, ts, price.
        let all: KeyValuePairs<String, String?> = [
            "id": "1", "token": "1", "who": "1", "side": "1", "amount": "1", "usd": "-1", "ts": "-1", "price": "-1",
        ]
        #expect(reason(decoder.decode(message(all))) == .badID)
        #expect(reason(decoder.decode(message(["usd": "-1", "price": "0", "amount": "0"]))) == .badAmount)
        #expect(reason(decoder.decode(message(["ts": "1.5", "price": "0"]))) == .badTimestamp)
        #expect(reason(decoder.decode(message(["who": "1", "side": "2"]))) == .badWho)
        // missingField last: a bad field wins over a missing one before it.
        #expect(reason(decoder.decode(message(["id": nil, "price": "0"]))) == .badPrice)
        #expect(reason(decoder.decode(message(["id": nil, "price": "1"]))) == .missingField)
    }

    // MARK: Limits

    @Test func stringLengthLimits() {
        func idOf(_ n: Int) -> String { "\"" + String(repeating: "i", count: n) + "\"" }
        #expect(reason(decoder.decode(message(["id": idOf(256)]))) == nil)
        #expect(reason(decoder.decode(message(["id": idOf(257)]))) == .badID)
        #expect(reason(decoder.decode(message(["token": idOf(128)]))) == nil)
        #expect(reason(decoder.decode(message(["token": idOf(129)]))) == .badToken)
        #expect(reason(decoder.decode(message(["who": idOf(128)]))) == nil)
        #expect(reason(decoder.decode(message(["who": idOf(129)]))) == .badWho)
        // Limits count UTF-8 bytes after unescaping: 64 × "é" (2 bytes each) = 128 bytes.
        let e64 = "\"" + String(repeating: "\\u00e9", count: 64) + "\""
        #expect(reason(decoder.decode(message(["who": e64]))) == nil)
        #expect(reason(decoder.decode(message(["who": "\"x" + e64.dropFirst()]))) == .badWho)
        // Token length is re-checked after lowercasing: "İ" (2 bytes) lowercases to 3 bytes.
        let dottedI = "\"" + String(repeating: "İ", count: 64) + "\""
        #expect("İ".lowercased().utf8.count == 3)
        #expect(reason(decoder.decode(message(["token": dottedI]))) == .badToken)
    }

    @Test func messageSizeLimit() {
        let pad60k = ",\"pad\":\"" + String(repeating: "p", count: 60_000) + "\""
        #expect(reason(decoder.decode(message(extra: pad60k))) == nil)
        let pad70k = ",\"pad\":\"" + String(repeating: "p", count: 70_000) + "\""
        #expect(reason(decoder.decode(message(extra: pad70k))) == .tooLarge)
        let exact = message(extra: ",\"pad\":\"\"")
        let fill = EventDecoder.maxMessageBytes - exact.utf8.count
        #expect(
            reason(decoder.decode(message(extra: ",\"pad\":\"" + String(repeating: "p", count: fill) + "\""))) == nil)
        #expect(
            reason(decoder.decode(message(extra: ",\"pad\":\"" + String(repeating: "p", count: fill + 1) + "\"")))
                == .tooLarge)
    }

    @Test func nestingDepth() {
        func nested(_ k: Int) -> String {
            ",\"x\":" + String(repeating: "[", count: k) + String(repeating: "]", count: k)
        }
        #expect(reason(decoder.decode(message(extra: nested(31)))) == nil)  // depth 32
        #expect(reason(decoder.decode(message(extra: nested(32)))) == .tooDeep)  // depth 33
        let objects = ",\"x\":" + String(repeating: "{\"a\":", count: 31) + "1" + String(repeating: "}", count: 31)
        #expect(reason(decoder.decode(message(extra: objects))) == nil)
        #expect(reason(decoder.decode(String(repeating: "[", count: 1_000_000))) == .tooLarge)
        #expect(reason(decoder.decode(String(repeating: "[", count: 60_000))) == .tooDeep)
        #expect(reason(decoder.decode("{\"x\":" + String(repeating: "[", count: 60_000))) == .tooDeep)
        #expect(
            reason(decoder.decode(String(repeating: "[", count: 32) + String(repeating: "]", count: 32))) == .notObject)
    }

    @Test(arguments: [
        [0xFF], [0xC0, 0x80], [0x80], [0xF0, 0x9F, 0x98], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],
    ])
    func invalidUTF8(_ bad: [UInt8]) {
        for template in [message(["who": "\"a@b\""]), message(extra: ",\"x\":\"a@b\"")] {
            let parts = template.split(separator: "@", omittingEmptySubsequences: false)
            let bytes = Array(parts[0].utf8) + bad + Array(parts[1].utf8)
            #expect(reason(decoder.decode(bytes)) == .invalidUTF8, "\(bad) in \(template)")
        }
        // Also outside any string.
        #expect(reason(decoder.decode(Array("{\"id\":".utf8) + bad + Array("}".utf8))) == .invalidUTF8)
    }

    // MARK: Robustness

    @Test func randomBytesNeverTrap() {
        var rng = SplitMix64(seed: 0xB17E5)
        let alphabet =
            Array(#"{}[]",:0123456789-+.eEtrufalsn \"#.utf8) + [0x5C, 0x75, 0x80, 0xC3, 0xA9, 0xFF, 0x00, 0x0A]
        var outcomes = Set<String>()
        for _ in 0..<20_000 {
            let n = Int(rng.next() % 64)
            let bytes = (0..<n).map { _ in
                rng.next() % 2 == 0
                    ? alphabet[Int(rng.next() % UInt64(alphabet.count))] : UInt8(truncatingIfNeeded: rng.next())
            }
            switch decoder.decode(bytes) {
            case .success: outcomes.insert("ok")
            case .failure(let reason): outcomes.insert(reason.rawValue)
            }
        }
        #expect(outcomes.contains("malformed_json") && outcomes.contains("invalid_utf8"))
    }

    @Test func randomMutationsNeverTrap() {
        var rng = SplitMix64(seed: 0x3A7E)
        let base = Array(message(extra: #","x":{"y":[1,"\u00e9",null]}"#).utf8)
        var seen = Set<InvalidReason?>()
        for _ in 0..<20_000 {
            var bytes = base
            for _ in 0..<(1 + rng.next() % 3) {
                let k = Int(rng.next() % UInt64(bytes.count))
                switch rng.next() % 3 {
                case 0: bytes[k] ^= UInt8(truncatingIfNeeded: 1 << (rng.next() % 8))
                case 1: bytes.removeSubrange(k...)
                default: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: k)
                }
                if bytes.isEmpty { break }
            }
            seen.insert(reason(decoder.decode(bytes)))
        }
        #expect(seen.count > 5)
    }
}

// MARK: - Properties

/// Randomized exactness and round-trip properties (seeded; seed and text printed on failure).
extension EventDecoderTests {
    /// A random finite, positive double from a random bit pattern.
    static func randomDouble(_ rng: inout SplitMix64) -> Double {
        while true {
            let d = Double(bitPattern: rng.next() & ~(1 << 63))
            if d.isFinite && d > 0 { return d }
        }
    }

    /// A random short decimal: "123.45", "0.000001234", "1e-9", "1E+300", "5e-324", ...
    static func randomDecimal(_ rng: inout SplitMix64) -> String {
        func digits(_ n: Int) -> String { String((0..<n).map { _ in Character(String(rng.next() % 10)) }) }
        var text = String(1 + rng.next() % 9) + digits(Int(rng.next() % 22))
        switch rng.next() % 4 {
        case 0: text = "0." + String(repeating: "0", count: Int(rng.next() % 12)) + text
        case 1 where text.count > 1: text.insert(".", at: text.index(after: text.startIndex))
        default: break
        }
        if rng.next() % 2 == 0 {
            let e = Int(rng.next() % 330)
            text += (rng.next() % 2 == 0 ? "e" : "E") + ["", "+", "-"][Int(rng.next() % 3)] + String(e)
        }
        return text
    }

    @Test func numbersAreCorrectlyRounded() throws {
        let seed: UInt64 = 0xD0_0B1E
        var rng = SplitMix64(seed: seed)
        let fixed = [
            "123.45", "0.000001234", "1e-9", "1E+300", "5e-324", "2.2250738585072011e-308",
            "9007199254740993", "0.1", "1.7976931348623157e308", "4.9e-324", "123456789012345678901234567890",
            "2118.9735358819973", "9007199254740993.0", "4.9406564584124654e-324", "1e23",
        ]
        var texts = fixed
        for _ in 0..<100_000 { texts.append("\(Self.randomDouble(&rng))") }
        for _ in 0..<50_000 { texts.append(Self.randomDecimal(&rng)) }
        var failures = 0
        for (k, text) in texts.enumerated() {
            guard let expected = Double(text), expected.isFinite, expected > 0 else { continue }
            // Number form for usd, string form for amount; both must match bit for bit.
            let json = message(["amount": "\"\(text)\"", "usd": text, "price": text])
            guard case .success(let event) = decoder.decode(json) else {
                Issue.record("seed \(seed) #\(k): \(text) rejected: \(decoder.decode(json))")
                failures += 1
                if failures > 10 { return }
                continue
            }
            if event.amount.bitPattern != expected.bitPattern || event.usd.bitPattern != expected.bitPattern
                || event.price.bitPattern != expected.bitPattern
            {
                Issue.record("seed \(seed) #\(k): \(text) → \(event.amount) / \(event.usd), expected \(expected)")
                failures += 1
                if failures > 10 { return }
            }
        }
        #expect(failures == 0)
    }

    /// JSON string literal for `s`, escaping randomly (sometimes every scalar as `\uXXXX`).
    static func jsonString(_ s: String, _ rng: inout SplitMix64) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            let v = scalar.value
            func u(_ x: UInt32) -> String {
                let h = String(x, radix: 16, uppercase: rng.next() % 2 == 0)
                return "\\u" + String(repeating: "0", count: 4 - h.count) + h
            }
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += rng.next() % 2 == 0 ? "\\\\" : "\\u005c"
            case "\n": out += "\\n"
            case _ where v < 0x20: out += u(v)
            case _ where rng.next() % 4 == 0:
                if v >= 0x10000 {
                    let x = v - 0x10000
                    out += u(0xD800 + (x >> 10)) + u(0xDC00 + (x & 0x3FF))
                } else {
                    out += u(v)
                }
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    static func randomString(_ rng: inout SplitMix64, maxScalars: Int) -> String {
        let pool: [Character] = [
            "a", "Z", "0", "x", ":", " ", "\"", "\\", "/", "\n", "\t", "\u{0}", "\u{1F}", "é", "Ä",
            "ß", "İ", "☃", "中", "😀", "🇫🇷", "\u{7F}", "\u{FFFF}",
        ]
        let n = 1 + Int(rng.next() % UInt64(maxScalars))
        return String((0..<n).map { _ in pool[Int(rng.next() % UInt64(pool.count))] })
    }

    @Test func randomEventsRoundTrip() throws {
        let seed: UInt64 = 0x5EED_F00D
        var rng = SplitMix64(seed: seed)
        for k in 0..<20_000 {
            let id = Self.randomString(&rng, maxScalars: 30)
            let token = Self.randomString(&rng, maxScalars: 15)
            let who = Self.randomString(&rng, maxScalars: 15)
            let side: Side = rng.next() % 2 == 0 ? .buy : .sell
            let amount = Self.randomDouble(&rng)
            let usd = rng.next() % 8 == 0 ? 0 : Self.randomDouble(&rng)
            let ts = Int64(rng.next() % (1 << 53))
            let price: Double? = rng.next() % 2 == 0 ? Self.randomDouble(&rng) : nil
            let amountJSON = rng.next() % 2 == 0 ? "\"\(amount)\"" : "\(amount)"
            var json =
                "{\"who\":\(Self.jsonString(who, &rng)),\"id\":\(Self.jsonString(id, &rng)),"
                + "\"side\":\"\(side.name)\",\"token\":\(Self.jsonString(token, &rng)),\"amount\":\(amountJSON),"
                + "\"usd\":\(usd),\"ts\":\(ts),\"n\":\(Self.jsonString(id, &rng))"
            if let price { json += ",\"price\":\(price)" }
            json += "}"
            let result = decoder.decode(json)
            guard case .success(let event) = result else {
                Issue.record("seed \(seed) #\(k): \(json) → \(result)")
                return
            }
            let expected = SwapEvent(
                id: id, token: token.lowercased(), who: who, side: side, amount: amount, usd: usd, ts: ts, price: price)
            #expect(event == expected, "seed \(seed) #\(k): \(json)")
            #expect(event.id.utf8.elementsEqual(id.utf8) && event.who.utf8.elementsEqual(who.utf8))
            if event != expected { return }
        }
    }
}
