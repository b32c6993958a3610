public import SwapStatsCore

/// A Kafka-ready stream of swap messages (key = token, value = JSON) for end-to-end tests,
/// benchmarks and `swapstats produce`: Zipf tokens, out-of-order jitter, exact duplicates
/// (re-sent bytes), late events (moved back 10 s – 2 min) and a share of invalid messages.
public struct SwapTraffic: Sendable {
    public struct Message: Sendable {
        public let key: [UInt8]
        public let value: [UInt8]
    }

    private var stream: ZipfStream
    private var rng: SplitMix64
    private let invalidShare: Double
    private let lateShare: Double
    private let decimals: Int?

    public init(
        seed: UInt64, tokens: Int, wallets: Int, events: Int, span: Int64, start: Int64 = 1_763_800_000_000,
        jitter: Int64 = 0, duplicateShare: Double = 0, lateShare: Double = 0, invalidShare: Double = 0,
        decimals: Int? = nil
    ) {
        stream = ZipfStream(
            seed: seed, tokens: tokens, wallets: wallets, events: events, span: span, start: start, jitter: jitter,
            duplicateShare: duplicateShare)
        rng = SplitMix64(seed: seed ^ 0xD1B5_4A32_D192_ED03)
        self.invalidShare = invalidShare
        self.lateShare = lateShare
        self.decimals = decimals
    }

    /// The next message.
    public mutating func next() -> Message {
        if invalidShare > 0 && rng.chance(invalidShare) {
            let token = stream.tokens[Int(rng.next() % UInt64(stream.tokens.count))]
            let bodies = [
                "not json at all",
                "{\"id\":\"broken-\(rng.next())\",\"token\":\"\(token)\"}",
                "{\"id\":\"x\(rng.next())\",\"token\":\"\(token)\",\"who\":\"w\",\"side\":\"hold\",\"amount\":1,\"usd\":1,\"ts\":1}",
                "[1,2,3]",
                "{\"id\":\"y\(rng.next())\",\"token\":\"\(token)\",\"who\":\"w\",\"side\":\"buy\",\"amount\":-5,\"usd\":1,\"ts\":1}",
            ]
            return Message(key: Array(token.utf8), value: Array(bodies[Int(rng.next() % UInt64(bodies.count))].utf8))
        }
        var e = stream.next()
        if lateShare > 0 && rng.chance(lateShare) {
            let delay = 10_000 + Int64(rng.next() % 110_000)
            e = SwapEvent(
                id: e.id, token: e.token, who: e.who, side: e.side, amount: e.amount, usd: e.usd, ts: e.ts - delay,
                price: e.price)
        }
        return Message(key: Array(e.token.utf8), value: Array(ZipfStream.json(e, decimals: decimals).utf8))
    }

    /// `count` messages.
    public mutating func take(_ count: Int) -> [Message] { (0..<count).map { _ in next() } }
}

/// The final answers a stream must produce when every partition has consumed it and flushed
/// (`LATE_EVENTS=apply`, no event older than the largest window): each valid id counts once,
/// whatever the order or partitioning.
public struct FinalAnswers {
    public let configuration: EngineConfiguration
    private var oracle: Oracle
    public private(set) var valid = 0
    public private(set) var invalid = 0
    public private(set) var unique = 0

    public init(messages: [SwapTraffic.Message], configuration: EngineConfiguration) {
        self.configuration = configuration
        let decoder = EventDecoder()
        var firstByID: [String: SwapEvent] = [:]
        var valid = 0
        var invalid = 0
        for m in messages {
            switch decoder.decode(m.value) {
            case .success(let e):
                valid += 1
                if firstByID[e.id] == nil { firstByID[e.id] = e }
            case .failure: invalid += 1
            }
        }
        var oracle = Oracle(configuration: configuration)
        for e in firstByID.values.sorted(by: { SwapEvent.precedes($0, $1) }) { _ = oracle.ingest(e) }
        oracle.tick(wallNow: 0)
        oracle.tick(wallNow: configuration.idleFlush)
        self.oracle = oracle
        self.valid = valid
        self.invalid = invalid
        self.unique = firstByID.count
    }

    /// `asOf` after the whole stream.
    public var asOf: Int64? { oracle.asOf }

    /// Every token's expected stats at `asOf`, sorted by token.
    public func stats(asOf: Int64) -> [TokenStats] {
        oracle.tokens(asOf: asOf).sorted().compactMap { oracle.stats(token: $0, asOf: asOf) }
    }
}
