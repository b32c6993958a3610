/// Encodes answers as the contract §3 JSON bodies, straight into bytes.
public enum StatsJSON {
    /// The `/tokens/{token}/stats` body.
    public static func encode(_ s: TokenStats) -> [UInt8] {
        var w = JSONWriter()
        w.raw("{\"token\":")
        w.string(s.token)
        w.raw(",\"asOf\":")
        w.int(s.asOf)
        w.raw(",\"lastTrade\":")
        if let t = s.lastTrade { trade(t, into: &w) } else { w.raw("null") }
        w.raw(",\"windows\":{")
        for (i, win) in s.windows.enumerated() {
            if i > 0 { w.raw(",") }
            w.string(win.name)
            w.raw(":{\"from\":")
            w.int(win.from)
            w.raw(",\"to\":")
            w.int(win.to)
            w.field("txns", win.txns)
            w.field("buys", win.buys)
            w.field("sells", win.sells)
            w.field("volumeUsd", win.volumeUSD)
            w.field("buyVolumeUsd", win.buyVolumeUSD)
            w.field("sellVolumeUsd", win.sellVolumeUSD)
            w.field("volumeToken", win.volumeToken)
            w.field("uniqueWallets", win.uniqueWallets)
            w.field("uniqueBuyers", win.uniqueBuyers)
            w.field("uniqueSellers", win.uniqueSellers)
            w.field("open", win.open)
            w.field("high", win.high)
            w.field("low", win.low)
            w.field("close", win.close)
            w.field("priceChangePct", win.priceChangePct)
            w.field("vwap", win.vwap)
            w.field("priceStdDev", win.priceStdDev)
            w.raw("}")
        }
        w.raw("}}")
        return w.bytes
    }

    /// The `/tokens/top` body.
    public static func encode(top tokens: [RankedToken], window: String, by: RankBy, asOf: Int64?) -> [UInt8] {
        var w = JSONWriter()
        w.raw("{\"window\":")
        w.string(window)
        w.raw(",\"by\":")
        w.string(by.rawValue)
        w.raw(",\"asOf\":")
        if let asOf { w.int(asOf) } else { w.raw("null") }
        w.raw(",\"tokens\":[")
        for (i, t) in tokens.enumerated() {
            w.raw(i == 0 ? "{\"token\":" : ",{\"token\":")
            w.string(t.token)
            w.field("value", t.value)
            w.raw("}")
        }
        w.raw("]}")
        return w.bytes
    }

    /// The `/tokens/{token}/candles` body: OHLCV per interval, oldest first.
    public static func encode(candles: [Candle], token: String, interval: String, asOf: Int64) -> [UInt8] {
        var w = JSONWriter()
        w.raw("{\"token\":")
        w.string(token)
        w.raw(",\"interval\":")
        w.string(interval)
        w.raw(",\"asOf\":")
        w.int(asOf)
        w.raw(",\"candles\":[")
        for (i, c) in candles.enumerated() {
            w.raw(i == 0 ? "{\"start\":" : ",{\"start\":")
            w.int(c.start)
            w.field("open", c.open)
            w.field("high", c.high)
            w.field("low", c.low)
            w.field("close", c.close)
            w.field("volumeUsd", c.volumeUSD)
            w.field("volumeToken", c.volumeToken)
            w.field("txns", c.txns)
            w.raw("}")
        }
        w.raw("]}")
        return w.bytes
    }

    /// `s` as a JSON string literal, quotes included (the same escaping as every body).
    public static func quoted(_ s: String) -> String {
        var w = JSONWriter()
        w.string(s)
        return String(decoding: w.bytes, as: UTF8.self)
    }

    /// A `lastTrade` / trade-feed object.
    public static func encode(_ t: Trade) -> [UInt8] {
        var w = JSONWriter()
        trade(t, into: &w)
        return w.bytes
    }

    static func trade(_ t: Trade, into w: inout JSONWriter) {
        w.raw("{\"id\":")
        w.string(t.id)
        w.raw(",\"ts\":")
        w.int(t.ts)
        w.raw(",\"side\":\"")
        w.raw(t.side.name)
        w.raw("\"")
        w.field("price", t.price)
        w.field("usd", t.usd)
        w.raw(",\"who\":")
        w.string(t.who)
        w.raw("}")
    }
}

/// Appends JSON tokens to a byte buffer.
struct JSONWriter {
    var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(1_024) }

    mutating func raw(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func raw(_ s: String) { bytes.append(contentsOf: s.utf8) }

    mutating func int(_ v: Int64) { bytes.append(contentsOf: String(v).utf8) }

    /// A finite double in its shortest round-trip form; non-finite as null.
    mutating func double(_ v: Double) {
        guard v.isFinite else { return raw("null") }
        if v == v.rounded(), abs(v) < 1e15 {
            bytes.append(contentsOf: String(Int64(v)).utf8)
            return
        }
        bytes.append(contentsOf: v.description.utf8)
    }

    mutating func field(_ name: StaticString, _ v: Int) {
        key(name)
        int(Int64(v))
    }

    mutating func field(_ name: StaticString, _ v: Double) {
        key(name)
        double(v)
    }

    mutating func field(_ name: StaticString, _ v: Double?) {
        key(name)
        if let v { double(v) } else { raw("null") }
    }

    mutating func key(_ name: StaticString) {
        raw(",\"")
        raw(name)
        raw("\":")
    }

    mutating func string(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case 0x0A: raw("\\n")
            case 0x0D: raw("\\r")
            case 0x09: raw("\\t")
            case 0..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                raw("\\u00")
                bytes.append(hex[Int(b >> 4)])
                bytes.append(hex[Int(b & 0xF)])
            default: bytes.append(b)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
