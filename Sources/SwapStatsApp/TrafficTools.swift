import Foundation
import KafkaClient
public import Logging
import SwapStatsCore
import SwapStatsTestSupport

/// `swapstats produce` and `swapstats replay`: swaps into a topic, keyed by token.
public enum TrafficTools {
    /// Generated traffic: how much, how fast, how messy.
    public struct ProduceOptions: Sendable {
        public var topic = "swaps"
        /// Messages; 0 = until interrupted.
        public var count = 100_000
        /// Messages per second; 0 = as fast as the broker takes them.
        public var rate = 1_000
        public var tokens = 1_000
        public var wallets = 10_000
        public var duplicateShare = 0.01
        /// Events move back in time by up to this many ms (out of order within lateness).
        public var jitter: Int64 = 2_000
        /// Share of events moved back 10 s – 2 min (late).
        public var lateShare = 0.001
        public var invalidShare = 0.0
        public var seed: UInt64 = 1
        /// Event time of the first message (ms); nil = now.
        public var start: Int64?
        public init() {}
    }

    /// Produces generated swaps; event times follow the rate (or span an hour when unpaced).
    /// - Returns: messages sent.
    public static func produce(
        brokers: String, options o: ProduceOptions, logger: Logger, interrupted: @Sendable () -> Bool
    ) throws -> Int {
        let producer = try toolProducer(brokers: brokers, logger: logger)
        let total = o.count > 0 ? o.count : 1_000_000_000
        var traffic = o.traffic(total: total, endingNow: false)
        let began = Date()
        var sent = 0
        var lastLog = began
        while sent < total && !interrupted() {
            let m = traffic.next()
            try m.key.withUnsafeBytes { k in
                try m.value.withUnsafeBytes { v in try producer.send(topic: o.topic, key: k, value: v) }
            }
            sent += 1
            if sent % 1000 == 0 {
                producer.poll()
                if o.rate > 0 {
                    let due = began.addingTimeInterval(Double(sent) / Double(o.rate))
                    let wait = due.timeIntervalSinceNow
                    if wait > 0 { Thread.sleep(forTimeInterval: wait) }
                }
                if Date().timeIntervalSince(lastLog) >= 5 {
                    lastLog = Date()
                    logger.info("produced \(sent) messages")
                }
            }
        }
        try finish(producer, verb: "produced", sent: sent, began: began, logger: logger)
        return sent
    }

    /// Writes generated swaps as JSON lines to `path` (`-` = stdout) instead of Kafka: event
    /// times span an hour ending now (or follow `rate`), `options.count` lines.
    /// - Returns: lines written.
    public static func write(path: String, options o: ProduceOptions) throws -> Int {
        let handle: FileHandle
        if path == "-" {
            handle = .standardOutput
        } else {
            guard FileManager.default.createFile(atPath: path, contents: nil),
                let h = FileHandle(forWritingAtPath: path)
            else { throw KafkaToolError("cannot write \(path)") }
            handle = h
        }
        let total = max(o.count, 1)
        var traffic = o.traffic(total: total, endingNow: true)
        var buffer: [UInt8] = []
        for _ in 0..<total {
            buffer += traffic.next().value
            buffer.append(0x0A)
            if buffer.count >= 1 << 20 {
                handle.write(Data(buffer))
                buffer.removeAll(keepingCapacity: true)
            }
        }
        handle.write(Data(buffer))
        return total
    }

    /// Sends every non-empty line of `path` (`-` = stdin) as one message, keyed by its
    /// token when the line is a valid swap (invalid lines are sent too, unkeyed: the server
    /// dead-letters them).
    /// - Returns: messages sent.
    public static func replay(path: String, brokers: String, topic: String, logger: Logger) throws -> Int {
        let handle: FileHandle
        if path == "-" {
            handle = .standardInput
        } else {
            guard let h = FileHandle(forReadingAtPath: path) else { throw KafkaToolError("cannot open \(path)") }
            handle = h
        }
        let producer = try toolProducer(brokers: brokers, logger: logger)
        let decoder = EventDecoder()
        let began = Date()
        var sent = 0
        var carry: [UInt8] = []
        func send(_ line: ArraySlice<UInt8>) throws {
            guard line.contains(where: { $0 != 0x20 && $0 != 0x0D && $0 != 0x09 }) else { return }
            try line.withUnsafeBytes { value in
                switch decoder.decode(value) {
                case .success(let e):
                    try Array(e.token.utf8).withUnsafeBytes { try producer.send(topic: topic, key: $0, value: value) }
                case .failure:
                    try producer.send(topic: topic, key: nil, value: value)
                }
            }
            sent += 1
            if sent % 1000 == 0 { producer.poll() }
        }
        while true {
            let chunk = handle.readData(ofLength: 1 << 20)
            if chunk.isEmpty { break }
            carry.append(contentsOf: chunk)
            var start = 0
            while let nl = carry[start...].firstIndex(of: 0x0A) {
                try send(carry[start..<nl])
                start = nl + 1
            }
            carry.removeFirst(start)
        }
        try send(carry[...])
        try finish(producer, verb: "replayed", sent: sent, began: began, logger: logger)
        return sent
    }

    private static func toolProducer(brokers: String, logger: Logger) throws -> KafkaProducer {
        try KafkaProducer(
            properties: ["bootstrap.servers": brokers, "linger.ms": "5", "batch.num.messages": "10000"], logger: logger)
    }

    /// Waits for every delivery, logs the rate, and fails when the broker refused any.
    private static func finish(_ producer: KafkaProducer, verb: String, sent: Int, began: Date, logger: Logger) throws {
        try producer.flush(timeoutMilliseconds: 60_000)
        let seconds = Date().timeIntervalSince(began)
        let failed = producer.deliveries.failed
        let rate = Int(Double(sent) / max(seconds, 1e-9))
        logger.notice(
            "\(verb) \(sent) messages in \(String(format: "%.2f", seconds)) s (\(rate) msg/s), \(failed) failed")
        if failed > 0 { throw KafkaToolError("\(failed) messages were not delivered") }
    }
}

extension TrafficTools.ProduceOptions {
    /// The generator for `total` messages: event times `1/rate` apart (or spread over an
    /// hour when unpaced), starting at `start`, else now, or an hour before now when
    /// `endingNow` or unpaced.
    func traffic(total: Int, endingNow: Bool) -> SwapTraffic {
        let spacing = rate > 0 ? 1000.0 / Double(rate) : 3_600_000.0 / Double(total)
        let span = Int64(spacing * Double(total))
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let first = start ?? (endingNow ? now - span : (rate > 0 ? now : now - 3_600_000))
        return SwapTraffic(
            seed: seed, tokens: tokens, wallets: wallets, events: total, span: span, start: first, jitter: jitter,
            duplicateShare: duplicateShare, lateShare: lateShare, invalidShare: invalidShare)
    }
}

/// A tool that could not finish.
public struct KafkaToolError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
