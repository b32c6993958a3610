import KafkaClient
import Logging
import Synchronization
import Testing

/// Records the rebalance calls and starts every partition at a chosen offset.
private final class RecordingHandler: KafkaRebalanceHandler {
    let start: StartOffset
    let assigned = Mutex<[TopicPartition]>([])
    let revoked = Mutex<[TopicPartition]>([])
    init(start: StartOffset) { self.start = start }
    func partitionsAssigned(_ partitions: [TopicPartition]) -> [TopicPartition: StartOffset] {
        assigned.withLock { $0 += partitions }
        return Dictionary(uniqueKeysWithValues: partitions.map { ($0, start) })
    }
    func partitionsRevoked(_ partitions: [TopicPartition]) { revoked.withLock { $0 += partitions } }
}

private let logger = Logger(label: "kafka-client-tests")

private func consumerProperties(_ cluster: KafkaMockCluster, group: String) -> [String: String] {
    [
        "bootstrap.servers": cluster.bootstrapServers, "group.id": group, "enable.auto.commit": "false",
        "session.timeout.ms": "6000", "heartbeat.interval.ms": "500", "auto.offset.reset": "earliest",
    ]
}

/// Consumes until `count` messages arrived or `seconds` passed.
private func drain(_ consumer: KafkaConsumer, count: Int, seconds: Double) throws -> [(Int32, Int64, String, String)] {
    var got: [(Int32, Int64, String, String)] = []
    let deadline = ContinuousClock.now + .seconds(seconds)
    while got.count < count && ContinuousClock.now < deadline {
        try consumer.consume(maxMessages: 1000, timeoutMilliseconds: 100) { r in
            got.append(
                (
                    r.partition, r.offset,
                    String(decoding: r.key ?? UnsafeRawBufferPointer(start: nil, count: 0), as: UTF8.self),
                    String(decoding: r.payload, as: UTF8.self)
                ))
        }
    }
    return got
}

@Suite(.serialized, .timeLimit(.minutes(2)))
struct KafkaClientTests {
    @Test func producedMessagesArriveOnceInKeyOrderPerPartition() throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: logger)
        try cluster.createTopic("t", partitions: 3)
        let producer = try KafkaProducer(properties: ["bootstrap.servers": cluster.bootstrapServers], logger: logger)
        for i in 0..<3000 {
            let key = Array("k\(i % 7)".utf8)
            let value = Array("\(i)".utf8)
            try key.withUnsafeBytes { k in
                try value.withUnsafeBytes { v in try producer.send(topic: "t", key: k, value: v) }
            }
        }
        try producer.flush(timeoutMilliseconds: 10_000)
        #expect(producer.deliveries.done == 3000)
        #expect(producer.deliveries.failed == 0)

        let handler = RecordingHandler(start: .beginning)
        let consumer = try KafkaConsumer(
            properties: consumerProperties(cluster, group: "g1"), rebalance: handler, logger: logger)
        try consumer.subscribe(["t"])
        let got = try drain(consumer, count: 3000, seconds: 30)
        #expect(got.count == 3000)
        #expect(Set(got.map(\.3)).count == 3000)
        #expect(Set(handler.assigned.withLock { $0 }.map(\.partition)) == [0, 1, 2])
        // One key always lands in one partition, in the order produced.
        for k in 0..<7 {
            let mine = got.filter { $0.2 == "k\(k)" }
            #expect(Set(mine.map(\.0)).count == 1)
            #expect(mine.map { Int($0.3)! } == mine.map { Int($0.3)! }.sorted())
        }
        let wm = try consumer.queryWatermarks(TopicPartition(topic: "t", partition: 0), timeoutMilliseconds: 5000)
        #expect(wm.low == 0)
        #expect(wm.high == Int64(got.filter { $0.0 == 0 }.count))
        try consumer.close()
        #expect(Set(handler.revoked.withLock { $0 }.map(\.partition)) == [0, 1, 2])
    }

    @Test func assignmentStartsAtTheOffsetTheHandlerChoseAndCommitsAreVisible() throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: logger)
        try cluster.createTopic("t", partitions: 1)
        let producer = try KafkaProducer(properties: ["bootstrap.servers": cluster.bootstrapServers], logger: logger)
        for i in 0..<100 {
            let value = Array("\(i)".utf8)
            try value.withUnsafeBytes {
                try producer.send(topic: "t", key: nil, value: $0, headers: [("reason", Array("x".utf8))])
            }
        }
        try producer.flush(timeoutMilliseconds: 10_000)
        let consumer = try KafkaConsumer(
            properties: consumerProperties(cluster, group: "g2"), rebalance: RecordingHandler(start: .offset(60)),
            logger: logger)
        try consumer.subscribe(["t"])
        let got = try drain(consumer, count: 40, seconds: 30)
        #expect(got.map(\.1) == Array(60..<100))
        #expect(got.map(\.3) == (60..<100).map { "\($0)" })
        let tp = TopicPartition(topic: "t", partition: 0)
        try consumer.commit([tp: 100])
        var committed: Int64?? = nil
        let deadline = ContinuousClock.now + .seconds(10)
        while committed != .some(100) && ContinuousClock.now < deadline {
            _ = try consumer.consume(maxMessages: 10, timeoutMilliseconds: 50) { _ in }
            committed = try consumer.committed([tp], timeoutMilliseconds: 5000)[tp]
        }
        #expect(committed == .some(100))
        try consumer.close()
    }

    @Test func badPropertyIsRefusedWithItsName() {
        #expect {
            _ = try KafkaProducer(properties: ["no.such.property": "1"], logger: logger)
        } throws: { error in
            "\(error)".contains("no.such.property")
        }
    }
}
