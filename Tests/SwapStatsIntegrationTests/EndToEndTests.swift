import Foundation
import KafkaClient
import Logging
import RedisClient
import SwapStatsCheckpoints
import SwapStatsCore
import SwapStatsPipeline
import SwapStatsRedis
import SwapStatsTestSupport
import Testing

private let logger: Logger = {
    var l = Logger(label: "e2e")
    l.logLevel = .critical
    return l
}()

/// One end-to-end scenario: a work directory, a generated stream split in two files, and the
/// settings every `swapstats serve` child gets.
private struct Scenario {
    let directory: String
    let partitions = 4
    let messages: [SwapTraffic.Message]
    let engine: EngineConfiguration
    /// Where the servers' checkpoints are read from (without claiming them).
    let store: any CheckpointStore
    /// With a Redis server: the servers keep their checkpoints there (`CHECKPOINT_STORE=redis`).
    let redis: RedisServer?

    init(_ name: String, seed: UInt64, events: Int = 12_000, redis: RedisServer? = nil) throws {
        directory = scratchDirectory("e2e-\(name)")
        var t = SwapTraffic(
            seed: seed, tokens: 300, wallets: 500, events: events, span: 20 * 60_000, jitter: 20_000,
            duplicateShare: 0.05, lateShare: 0.01, invalidShare: 0.01)
        messages = t.take(events)
        engine = try EngineConfiguration.fromEnvironment(["CLOCK": "event", "IDLE_FLUSH": "200ms"])
        self.redis = redis
        if let redis {
            store = RedisCheckpointStore(url: RedisURL(redis.url)!, claims: false)
        } else {
            store = try DirectoryCheckpointStore(directory: directory + "/state")
        }
    }

    /// Writes messages `range` as a JSON-lines file; returns its path.
    func file(_ name: String, _ range: Range<Int>) throws -> String {
        let path = "\(directory)/\(name).jsonl"
        var bytes: [UInt8] = []
        for m in messages[range] { bytes += m.value + [0x0A] }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func serveEnvironment(brokers: String, group: String = "e2e") -> [String: String] {
        [
            "KAFKA_BROKERS": brokers, "KAFKA_GROUP": group, "STATE_DIR": directory + "/state",
            "CHECKPOINT_INTERVAL": "300ms", "CLOCK": "event", "IDLE_FLUSH": "200ms", "SHARDS": "2",
            "KAFKA_SESSION_TIMEOUT_MS": "6000", "KAFKA_HEARTBEAT_INTERVAL_MS": "500", "STATUS_INTERVAL": "0",
            "LOG_LEVEL": "info", "HTTP_HOST": "127.0.0.1", "HTTP_PORT": "0",
        ].merging(redis.map { ["REDIS_URL": $0.url, "CHECKPOINT_STORE": "redis"] } ?? [:]) { $1 }
    }

    func serve(_ name: String, brokers: String, group: String = "e2e", extra: [String: String] = [:]) throws
        -> ChildProcess
    {
        try ChildProcess(
            name, arguments: ["serve"],
            environment: serveEnvironment(brokers: brokers, group: group).merging(extra) { $1 },
            directory: directory)
    }

    func replay(_ name: String, file: String, brokers: String) throws -> ChildProcess {
        try ChildProcess(name, arguments: ["replay", file, "--brokers", brokers], directory: directory)
    }

    /// Checkpoint offsets per partition, as stored now.
    func checkpointOffsets() -> [Int32: Int64] {
        var out: [Int32: Int64] = [:]
        for p in 0..<Int32(partitions) {
            if let bytes = try? store.readManifest(topic: "swaps", partition: p).bytes,
                let m = try? CheckpointManifest(decoding: bytes)
            {
                out[p] = m.offset
            }
        }
        return out
    }

    /// Waits until every partition's checkpoint covers the whole log.
    func waitForCheckpoints(brokers: String, seconds: Double = 60) throws -> Bool {
        let highs = try KafkaTestTools.highWatermarks(
            brokers: brokers, topic: "swaps", partitions: partitions, logger: logger)
        return waitUntil(seconds: seconds) { checkpointOffsets() == highs }
    }

    /// Compares the stored checkpoints with the oracle: answers, and counts that show each
    /// event was applied exactly once.
    func verify(sourceLocation: SourceLocation = #_sourceLocation) throws {
        let want = FinalAnswers(messages: messages, configuration: engine)
        let asOf = try #require(want.asOf, sourceLocation: sourceLocation)
        let got = try CheckpointedAnswers(store: store, partitions: partitions, configuration: engine, asOf: asOf)
        let problems = StatsComparison.mismatches(got.stats, want.stats(asOf: asOf))
        #expect(problems.isEmpty, "\(problems.prefix(5))", sourceLocation: sourceLocation)
        #expect(got.stats.count > 100, sourceLocation: sourceLocation)
        #expect(got.counters.accepted == want.unique, sourceLocation: sourceLocation)
        #expect(got.counters.duplicate == want.valid - want.unique, sourceLocation: sourceLocation)
        #expect(got.lostEvents == 0, sourceLocation: sourceLocation)
    }
}

/// GET with curl: status and body.
private func httpGet(_ url: String) throws -> (status: Int, body: String) {
    let (data, _) = try runCommand("/usr/bin/curl", ["-s", "--max-time", "10", "-w", "\n%{http_code}", url])
    let text = String(decoding: data, as: UTF8.self)
    guard let nl = text.lastIndex(of: "\n") else { return (0, text) }
    return (Int(text[text.index(after: nl)...]) ?? 0, String(text[..<nl]))
}

private let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// `promtool check metrics` (unpacked into .build/tools by scripts/test) on `/metrics`: its
/// exit status and complaints.
private func promtool(_ url: String) throws -> (status: Int32, output: String) {
    let (_, text) = try httpGet(url)
    let p = Process()
    p.executableURL = root.appendingPathComponent(".build/tools/promtool")
    p.arguments = ["check", "metrics"]
    let input = Pipe()
    let output = Pipe()
    p.standardInput = input
    p.standardOutput = output
    p.standardError = output
    try p.run()
    input.fileHandleForWriting.write(Data(text.utf8))
    try input.fileHandleForWriting.close()
    let said = output.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: said, as: UTF8.self))
}

/// `/metrics` parsed by `scripts/check_metrics.py` (prometheus_client in .build/venv):
/// `name{label=value,...}` → value.
private func parsedMetrics(_ url: String) throws -> [String: Double] {
    let (status, text) = try httpGet(url)
    guard status == 200 else { return [:] }
    let (data, parsed) = try runCommand(
        root.appendingPathComponent(".build/venv/bin/python").path,
        [root.appendingPathComponent("scripts/check_metrics.py").path], input: Data(text.utf8))
    guard parsed == 0 else { return [:] }
    let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    return object.compactMapValues { ($0 as? NSNumber)?.doubleValue }
}

/// A stats body without its `priceStdDev` values, and those values.
private func splitDeviations(_ body: String) -> (String, [String]) {
    var rest = ""
    var values: [String] = []
    var text = Substring(body)
    while let r = text.range(of: "\"priceStdDev\":") {
        rest += text[..<r.upperBound]
        let value = text[r.upperBound...].prefix { $0 != "," && $0 != "}" }
        values.append(String(value))
        text = text[r.upperBound...].dropFirst(value.count)
    }
    return (rest + text, values)
}

/// The partitions named by the last "assigned partitions" line of a serve log.
private func lastAssignment(_ log: String) -> Set<Int32>? {
    guard let line = log.split(separator: "\n").last(where: { $0.contains("assigned partitions") }) else { return nil }
    let list = line.components(separatedBy: "assigned partitions").last!.trimmingCharacters(in: .whitespaces)
    return Set(list.split(separator: ",").compactMap { Int32($0) })
}

@Suite(.serialized, .timeLimit(.minutes(4)))
struct EndToEndTests {
    @Test(arguments: [false, true])
    func killNineMidStreamThenRestartOnTheSameStateIsExact(checkpointsInRedis: Bool) throws {
        let s = try Scenario("kill9", seed: 21, redis: checkpointsInRedis ? RedisServer() : nil)
        let cluster = try EmbeddedKafkaForTests(partitions: s.partitions)
        let half = s.messages.count / 2
        let first = try s.file("first", 0..<half)
        let second = try s.file("second", half..<s.messages.count)
        #expect(try s.replay("replay1", file: first, brokers: cluster.brokers).waitForExit(seconds: 60) == 0)

        let serve1 = try s.serve("serve1", brokers: cluster.brokers)
        #expect(waitUntil(seconds: 30) { s.checkpointOffsets().values.reduce(0, +) > 0 })
        let replay2 = try s.replay("replay2", file: second, brokers: cluster.brokers)
        #expect(waitUntil(seconds: 30) { s.checkpointOffsets().values.reduce(0, +) > Int64(half) })
        serve1.send(SIGKILL)
        #expect(serve1.waitForExit(seconds: 10) != nil)
        #expect(replay2.waitForExit(seconds: 60) == 0)
        let highs = try KafkaTestTools.highWatermarks(
            brokers: cluster.brokers, topic: "swaps", partitions: s.partitions, logger: logger)
        // The kill left work undone: the restart has events to re-read.
        #expect(s.checkpointOffsets() != highs)

        let serve2 = try s.serve("serve2", brokers: cluster.brokers)
        #expect(try s.waitForCheckpoints(brokers: cluster.brokers))
        #expect(serve2.stop() == 0)
        #expect(serve2.stderr.contains("restored from checkpoint"))
        try s.verify()
    }

    @Test(arguments: [false, true])
    func twoConsumersSplitThePartitionsAndHandOverOnExit(checkpointsInRedis: Bool) throws {
        let s = try Scenario("group", seed: 22, redis: checkpointsInRedis ? RedisServer() : nil)
        // The broker is `swapstats kafka` in its own process.
        let broker = try ChildProcess("kafka", arguments: ["kafka", "--partitions", "4"], directory: s.directory)
        let brokers = try #require(broker.waitForLine(prefix: "kafka bootstrap="))
        let half = s.messages.count / 2
        #expect(
            try s.replay("replay1", file: s.file("first", 0..<half), brokers: brokers).waitForExit(seconds: 60) == 0)

        // Both mirror into one redis-server, so either answers for every token.
        // Snapshots live 3 s (refreshed every second), so a quiet spell outlives them.
        let redisServer = try s.redis ?? RedisServer()
        let mirror = ["REDIS_URL": redisServer.url, "REDIS_SNAPSHOT_TTL": "3s", "REDIS_REFRESH_INTERVAL": "1s"]
        let a = try s.serve("serveA", brokers: brokers, extra: mirror)
        let b = try s.serve("serveB", brokers: brokers, extra: mirror)
        let split = waitUntil(seconds: 40) {
            guard let x = lastAssignment(a.stderr), let y = lastAssignment(b.stderr) else { return false }
            return !x.isEmpty && !y.isEmpty && x.isDisjoint(with: y) && x.union(y) == [0, 1, 2, 3]
        }
        #expect(
            split,
            "A: \(String(describing: lastAssignment(a.stderr))) B: \(String(describing: lastAssignment(b.stderr)))")
        #expect(try s.waitForCheckpoints(brokers: brokers))
        // Any instance answers for any token, with the same body, whoever owns it.
        let addressA = try #require(a.waitForLine(prefix: "http listening="))
        let addressB = try #require(b.waitForLine(prefix: "http listening="))
        let tokens = try CheckpointedAnswers(
            store: s.store, partitions: s.partitions, configuration: s.engine,
            asOf: try #require(FinalAnswers(messages: Array(s.messages[0..<half]), configuration: s.engine).asOf)
        ).stats.map(\.token)
        #expect(tokens.count > 50)
        var servedByBoth = 0
        for token in tokens.prefix(30) {
            let fromA = try httpGet("http://\(addressA)/tokens/\(token)/stats")
            let fromB = try httpGet("http://\(addressB)/tokens/\(token)/stats")
            #expect(fromA.status == 200 && fromB.status == 200, "\(token)")
            if fromA.body == fromB.body { servedByBoth += 1 }
        }
        #expect(servedByBoth == 30)
        let topA = try httpGet("http://\(addressA)/tokens/top?window=24h&by=txns&limit=50").body
        let topB = try httpGet("http://\(addressB)/tokens/top?window=24h&by=txns&limit=50").body
        #expect(topA.components(separatedBy: "\"tokens\":").last == topB.components(separatedBy: "\"tokens\":").last)
        if !checkpointsInRedis {
            // Redis as a cache: restarted empty, then flushed, with no event coming. Each
            // owner notices and writes its tokens again; within 10 s both instances answer
            // every token alike again, and rank the same.
            func healed() -> Bool {
                waitUntil(seconds: 10) {
                    let same = tokens.allSatisfy { token in
                        let a = try? httpGet("http://\(addressA)/tokens/\(token)/stats")
                        let b = try? httpGet("http://\(addressB)/tokens/\(token)/stats")
                        return a?.status == 200 && a?.body == b?.body
                    }
                    let top = [addressA, addressB].map {
                        (try? httpGet("http://\($0)/tokens/top?window=24h&by=txns&limit=1000").body)?
                            .components(separatedBy: "\"tokens\":").last
                    }
                    return same && top[0] != nil && top[0] == top[1]
                        && top[0]!.components(separatedBy: "\"token\":").count - 1 == tokens.count
                }
            }
            redisServer.stop()
            try redisServer.start()
            #expect(healed(), "after an empty restart")
            #expect(try RedisConnection(url: RedisURL(redisServer.url)!).command(["FLUSHALL"]) == .status("OK"))
            #expect(healed(), "after FLUSHALL")
            // No event for two snapshot lifetimes and more: every token stays answered by both
            // (the last round starts after two lifetimes).
            let quietStart = Date()
            var round = 0
            repeat {
                let missing = tokens.filter { token in
                    let a = try? httpGet("http://\(addressA)/tokens/\(token)/stats")
                    let b = try? httpGet("http://\(addressB)/tokens/\(token)/stats")
                    return a?.status != 200 || a?.body != b?.body
                }
                #expect(missing.isEmpty, "round \(round): \(missing.prefix(5))")
                round += 1
            } while Date().timeIntervalSince(quietStart) < 6
        }
        // A WebSocket subscriber on A to a token B owns gets its snapshot from Redis.
        let ownedByB = try #require(lastAssignment(b.stderr)).sorted()
        var remoteToken: String?
        for p in ownedByB where remoteToken == nil {
            if let stored = try StoredCheckpoint(store: s.store, partition: p, configuration: s.engine) {
                remoteToken = stored.engine.allStats().first?.token
            }
        }
        let token = try #require(remoteToken)
        let probe = try ChildProcess(
            "ws", executable: root.appendingPathComponent(".build/venv/bin/python").path,
            arguments: [
                root.appendingPathComponent("scripts/ws_probe.py").path, "ws://\(addressA)/tokens/\(token)/ws",
                "--count",
                "1", "--idle", "20",
            ], directory: s.directory)
        #expect(probe.waitForExit(seconds: 60) == 0)
        let snapshot = probe.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let fromB = try httpGet("http://\(addressB)/tokens/\(token)/stats").body
        #expect(
            snapshot.contains(#""snapshot": 1"#)
                && snapshot.contains(fromB.replacingOccurrences(of: "\"", with: "\\\"")))

        #expect(a.stop() == 0)
        #expect(waitUntil(seconds: 40) { lastAssignment(b.stderr) == [0, 1, 2, 3] })
        #expect(
            try s.replay("replay2", file: s.file("second", half..<s.messages.count), brokers: brokers).waitForExit(
                seconds: 60) == 0)
        #expect(try s.waitForCheckpoints(brokers: brokers))
        #expect(b.stop() == 0)
        #expect(b.stderr.contains("restored from checkpoint"))
        try s.verify()
        #expect(broker.stop() == 0)
    }

    @Test func threeInstancesAreOneServiceThroughAKillARollingRestartAndARedisRestart() throws {
        // Redis with an append-only file, so a restart keeps the checkpoints.
        let redisDirectory = scratchDirectory("e2e-redis")
        let redisServer = try RedisServer(arguments: [
            "--appendonly", "yes", "--appendfsync", "always", "--dir", redisDirectory,
        ])
        let s = try Scenario("three", seed: 31, redis: redisServer)
        let broker = try ChildProcess("kafka", arguments: ["kafka", "--partitions", "4"], directory: s.directory)
        let brokers = try #require(broker.waitForLine(prefix: "kafka bootstrap="))
        let quarter = s.messages.count / 4
        let files = try (0..<4).map { i in
            try s.file("part\(i)", (i * quarter)..<(i == 3 ? s.messages.count : (i + 1) * quarter))
        }
        func replay(_ i: Int) throws -> ChildProcess { try s.replay("replay\(i)", file: files[i], brokers: brokers) }
        func covered(_ servers: [ChildProcess]) -> Bool {
            waitUntil(seconds: 60) {
                let sets = servers.compactMap { lastAssignment($0.stderr) }
                return sets.count == servers.count && sets.reduce(Set<Int32>()) { $0.union($1) } == [0, 1, 2, 3]
                    && sets.reduce(0) { $0 + $1.count } == 4
            }
        }
        /// The tokens of the checkpointed state once it covers the first `count` messages.
        func tokens(upTo count: Int) throws -> [String] {
            try CheckpointedAnswers(
                store: s.store, partitions: s.partitions, configuration: s.engine,
                asOf: try #require(FinalAnswers(messages: Array(s.messages[..<count]), configuration: s.engine).asOf)
            ).stats.map(\.token)
        }
        /// How many of `tokens` every server answers with one and the same body.
        func agreeing(_ tokens: [String], _ servers: [ChildProcess]) throws -> Int {
            let addresses = try servers.map { try #require($0.waitForLine(prefix: "http listening=")) }
            return tokens.filter { token in
                let bodies = addresses.compactMap { try? httpGet("http://\($0)/tokens/\(token)/stats") }
                return bodies.count == addresses.count
                    && bodies.allSatisfy { $0.status == 200 && $0.body == bodies[0].body }
            }.count
        }
        #expect(try replay(0).waitForExit(seconds: 60) == 0)
        var servers = try ["A", "B", "C"].map { try s.serve("serve\($0)", brokers: brokers) }
        #expect(covered(servers))

        // kill -9 of one instance mid-stream: its partitions move to the others, and within
        // the session timeout (6 s) + 10 s of the stream's end both survivors answer every
        // token with the same body (the owner's, or its snapshot in Redis).
        let r1 = try replay(1)
        #expect(waitUntil(seconds: 30) { s.checkpointOffsets().values.reduce(0, +) > Int64(quarter) })
        servers[1].send(SIGKILL)
        #expect(servers[1].waitForExit(seconds: 10) != nil)
        #expect(r1.waitForExit(seconds: 60) == 0)
        servers.remove(at: 1)
        #expect(covered(servers))
        #expect(try s.waitForCheckpoints(brokers: brokers, seconds: 90))
        let halfway = try tokens(upTo: 2 * quarter)
        #expect(halfway.count > 100)
        #expect(
            waitUntil(seconds: 16) { (try? agreeing(halfway, servers)) == halfway.count },
            "\((try? agreeing(halfway, servers)) ?? -1) of \(halfway.count) agree after the kill")

        // A rolling restart under load: each instance in turn stops (SIGTERM) and comes back.
        let r2 = try replay(2)
        for i in servers.indices {
            #expect(servers[i].stop() == 0)
            servers[i] = try s.serve("serve\(i)-again", brokers: brokers)
            #expect(covered(servers))
        }
        #expect(r2.waitForExit(seconds: 60) == 0)

        // redis-server restarted mid-stream; serving goes on meanwhile.
        let r3 = try replay(3)
        redisServer.stop()
        let addressesDuringOutage = try servers.map { try #require($0.waitForLine(prefix: "http listening=")) }
        for address in addressesDuringOutage {
            #expect(try httpGet("http://\(address)/readyz").status == 200)
            let top = try httpGet("http://\(address)/tokens/top?window=24h&limit=3")
            #expect(top.status == 200 && top.body.contains("\"tokens\":[{"), "\(top.body.prefix(200))")
        }
        // Back once some instance has seen the outage (a failed write of the replay's updates).
        #expect(waitUntil(seconds: 30) { servers.contains { $0.stderr.contains("redis snapshot publish failed") } })
        try redisServer.start(arguments: ["--appendonly", "yes", "--appendfsync", "always", "--dir", redisDirectory])
        #expect(r3.waitForExit(seconds: 60) == 0)
        #expect(try s.waitForCheckpoints(brokers: brokers, seconds: 90))
        try s.verify()

        // Every instance answers every token with the same body.
        let addresses = try servers.map { try #require($0.waitForLine(prefix: "http listening=")) }
        let tokens = try tokens(upTo: s.messages.count)
        // (Once each mirror is through its reconnect backoff, at most 5 s after Redis is back.)
        func agreeing() -> Int { (try? agreeing(tokens, servers)) ?? 0 }
        #expect(tokens.count > 100)
        let converged = waitUntil(seconds: 30) { agreeing() == tokens.count }
        var example = ""
        if !converged,
            let token = tokens.first(where: { token in
                let bodies = addresses.compactMap { try? httpGet("http://\($0)/tokens/\(token)/stats") }
                return !bodies.allSatisfy { $0.status == 200 && $0.body == bodies[0].body }
            })
        {
            example = addresses.map {
                (try? httpGet("http://\($0)/tokens/\(token)/stats")).map { "\($0.status) \($0.body.prefix(160))" }
                    ?? "-"
            }
            .joined(separator: "\n")
            example += "\nassignments: " + servers.map { "\(lastAssignment($0.stderr) ?? [])" }.joined(separator: " ")
        }
        #expect(converged, "\(agreeing()) of \(tokens.count) agree\n\(example)")
        for server in servers { #expect(server.stop() == 0) }
        #expect(broker.stop() == 0)
    }

    @Test func brokerDownAndUpMidStreamIsExact() throws {
        let s = try Scenario("broker", seed: 23)
        let cluster = try EmbeddedKafkaForTests(partitions: s.partitions)
        let serve = try s.serve("serve", brokers: cluster.brokers)
        let third = s.messages.count / 3
        #expect(
            try s.replay("replay1", file: s.file("first", 0..<third), brokers: cluster.brokers).waitForExit(seconds: 60)
                == 0)
        #expect(waitUntil(seconds: 30) { s.checkpointOffsets().values.reduce(0, +) > 0 })
        let replay2 = try s.replay(
            "replay2", file: s.file("second", third..<s.messages.count), brokers: cluster.brokers)
        try cluster.mock.setBrokerDown(1)
        Thread.sleep(forTimeInterval: 3)
        try cluster.mock.setBrokerUp(1)
        #expect(replay2.waitForExit(seconds: 90) == 0)
        #expect(try s.waitForCheckpoints(brokers: cluster.brokers, seconds: 90))
        #expect(serve.stop() == 0)
        try s.verify()
    }

    @Test func invalidMessagesFromKcatLandInTheDeadLetterTopicAndThePartitionKeepsMoving() throws {
        let s = try Scenario("dlq", seed: 24, events: 4_000)
        let cluster = try EmbeddedKafkaForTests(partitions: s.partitions)
        let serve = try s.serve("serve", brokers: cluster.brokers)
        // kcat as the independent producer: "key<TAB>value" lines.
        var lines = ""
        for m in s.messages {
            lines += String(decoding: m.key, as: UTF8.self) + "\t" + String(decoding: m.value, as: UTF8.self) + "\n"
        }
        let input = s.directory + "/kcat.txt"
        try lines.write(toFile: input, atomically: true, encoding: .utf8)
        let kcat = try ChildProcess(
            "kcat-produce", executable: "/usr/bin/kcat",
            arguments: ["-P", "-b", cluster.brokers, "-t", "swaps", "-K", "\t", "-l", input], directory: s.directory)
        #expect(kcat.waitForExit(seconds: 60) == 0)
        #expect(try s.waitForCheckpoints(brokers: cluster.brokers))
        #expect(serve.stop() == 0)
        try s.verify()

        let want = FinalAnswers(messages: s.messages, configuration: s.engine)
        let reader = try ChildProcess(
            "kcat-consume", executable: "/usr/bin/kcat",
            arguments: [
                "-C", "-b", cluster.brokers, "-t", "swaps.dlq", "-o", "beginning", "-e", "-q", "-f", "%h\t%s\n",
            ],
            directory: s.directory)
        #expect(reader.waitForExit(seconds: 30) == 0)
        let dead = reader.stdout.split(separator: "\n")
        #expect(dead.count == want.invalid)
        let reasons = Set(InvalidReason.allCases.map { "reason=\($0.rawValue)" })
        #expect(dead.allSatisfy { line in line.split(separator: ",").contains { reasons.contains(String($0)) } })
    }

    @Test func computeOverTheFileAnswersExactlyAsServeDidOverKafka() throws {
        let s = try Scenario("compute", seed: 25)
        let cluster = try EmbeddedKafkaForTests(partitions: s.partitions)
        let file = try s.file("all", 0..<s.messages.count)
        // With REDIS_URL the server mirrors every body into a real redis-server.
        let redisServer = try RedisServer()
        let serve = try s.serve("serve", brokers: cluster.brokers, extra: ["REDIS_URL": redisServer.url])
        let address = try #require(serve.waitForLine(prefix: "http listening="))
        // A WebSocket subscriber (python websockets) follows the busiest token and its trades.
        let decoder = EventDecoder()
        var firstByID: [String: SwapEvent] = [:]
        for m in s.messages {
            if case .success(let e) = decoder.decode(m.value), firstByID[e.id] == nil { firstByID[e.id] = e }
        }
        let busiest = Dictionary(grouping: firstByID.values, by: \.token).max { $0.value.count < $1.value.count }!
        let subscriber = try ChildProcess(
            "ws", executable: root.appendingPathComponent(".build/venv/bin/python").path,
            arguments: [
                root.appendingPathComponent("scripts/ws_probe.py").path,
                "ws://\(address)/tokens/\(busiest.key)/ws?trades=1", "--trades", "\(busiest.value.count)", "--idle",
                "3",
                "--max", "120",
            ], directory: s.directory)
        #expect(subscriber.waitForLine(prefix: "connected") != nil)
        #expect(try s.replay("replay", file: file, brokers: cluster.brokers).waitForExit(seconds: 60) == 0)
        #expect(try s.waitForCheckpoints(brokers: cluster.brokers))
        // The checkpoints after IDLE_FLUSH released every buffered event: the final state.
        func storedEngines() throws -> [PartitionEngine] {
            try (0..<Int32(s.partitions)).map { p in
                try #require(try StoredCheckpoint(store: s.store, partition: p, configuration: s.engine)).engine
            }
        }
        #expect(try waitUntil(seconds: 30) { try storedEngines().allSatisfy { $0.bufferedCount == 0 } })
        // The HTTP API answers from the live state: the same bodies as the checkpoints (once
        // the last coalesced update reached the board).
        let engines = try storedEngines()
        var statsRequests = 0
        let sample = engines.flatMap { $0.allStats() }.map(\.token).sorted().prefix(20)
        #expect(sample.count == 20)
        for token in sample {
            let want = engines.compactMap { $0.stats(token: token) }.first.map {
                String(decoding: StatsJSON.encode($0), as: UTF8.self)
            }
            var got = (status: 0, body: "")
            let same = waitUntil(seconds: 10) {
                statsRequests += 1
                got = (try? httpGet("http://\(address)/tokens/\(token)/stats")) ?? got
                return got.status == 200 && got.body == want
            }
            #expect(same, "\(token): \(got.status) \(got.body.prefix(200))")
        }
        #expect(try httpGet("http://\(address)/tokens/0xnotatoken/stats").status == 404)
        #expect(try httpGet("http://\(address)/readyz").status == 200)
        // /metrics parses with the reference Prometheus parser and counts what happened.
        let metrics = try parsedMetrics("http://\(address)/metrics")
        let want = FinalAnswers(messages: s.messages, configuration: s.engine)
        #expect(metrics["swapstats_events_consumed_total{}"] == Double(s.messages.count))
        #expect(metrics["swapstats_events_accepted_total{}"] == Double(want.unique))
        #expect(metrics["swapstats_events_duplicate_total{}"] == Double(want.valid - want.unique))
        let invalid = metrics.filter { $0.key.hasPrefix("swapstats_events_invalid_total{") }.values.reduce(0, +)
        #expect(invalid == Double(want.invalid))
        for p in 0..<s.partitions {
            #expect(metrics["swapstats_partition_owned{partition=\(p),topic=swaps}"] == 1)
            #expect(metrics["swapstats_consumer_lag{partition=\(p),topic=swaps}"] == 0)
        }
        #expect(
            metrics["swapstats_http_requests_total{route=/tokens/{token}/stats,status=200}"] == Double(statsRequests))
        #expect(metrics["swapstats_http_requests_total{route=/tokens/{token}/stats,status=404}"] == 1)
        #expect(
            metrics["swapstats_http_request_duration_seconds_count{route=/tokens/{token}/stats}"]
                == Double(statsRequests + 1))
        // Redis holds the same bodies (after at most one coalescing interval).
        let redis = RedisConnection(url: RedisURL(redisServer.url)!)
        for token in sample {
            let served = try httpGet("http://\(address)/tokens/\(token)/stats").body
            #expect(
                waitUntil(seconds: 10) {
                    (try? redis.command(["GET", "swapstats:snap:{\(token)}"]))?.text == served
                }, "\(token)")
        }
        let lint = try promtool("http://\(address)/metrics")
        #expect(lint.status == 0, "\(lint.output)")
        // The subscriber got every accepted trade of its token exactly once, and its last
        // stats message is the body GET serves.
        #expect(subscriber.waitForExit(seconds: 120) == 0)
        struct Summary: Decodable {
            var counts: [String: Int]
            var trades: [String]
            var last: [String: String]
        }
        let summary = try JSONDecoder().decode(
            Summary.self, from: Data((subscriber.stdout.split(separator: "\n").last ?? "").utf8))
        #expect(summary.trades.count == busiest.value.count)
        #expect(Set(summary.trades) == Set(busiest.value.map(\.id)))
        #expect(summary.counts["snapshot"] == 1)
        #expect((summary.counts["stats"] ?? 0) >= 1)
        #expect(summary.last[busiest.key] == (try httpGet("http://\(address)/tokens/\(busiest.key)/stats").body))
        #expect(metrics["swapstats_ws_messages_sent_total{}"] ?? 0 >= Double(busiest.value.count))
        // schemathesis (PyPI) generates requests from /openapi.json and checks every answer.
        let schemathesis = try ChildProcess(
            "schemathesis", executable: root.appendingPathComponent(".build/venv/bin/schemathesis").path,
            // The WebSocket routes need an upgrade, which schemathesis cannot make: a real
            // WebSocket client checks them above.
            arguments: [
                "run", "http://\(address)/openapi.json", "--max-examples", "30", "--seed", "1", "--exclude-path-regex",
                "/ws$",
            ],
            directory: s.directory)
        #expect(schemathesis.waitForExit(seconds: 180) == 0, "\(schemathesis.stdout.suffix(3000))")
        #expect(schemathesis.stdout.contains("No issues found"))
        // SIGTERM with a WebSocket client connected: it is told the server is going away (1001).
        let connected = try ChildProcess(
            "ws-shutdown", executable: root.appendingPathComponent(".build/venv/bin/python").path,
            arguments: [
                root.appendingPathComponent("scripts/ws_probe.py").path, "ws://\(address)/tokens/\(busiest.key)/ws",
                "--idle", "60", "--max", "120",
            ], directory: s.directory)
        #expect(connected.waitForLine(prefix: "connected") != nil)
        #expect(serve.stop() == 0)
        #expect(connected.waitForExit(seconds: 30) == 0)
        #expect(
            connected.stdout.split(separator: "\n").last?.contains(#""close": 1001"#) == true, "\(connected.stdout)")

        let compute = try ChildProcess(
            "compute", arguments: ["compute", file, "--no-progress"], directory: s.directory)
        #expect(compute.waitForExit(seconds: 120) == 0)
        let lines = compute.stdout.split(separator: "\n").map(String.init)
        let asOf = try #require(FinalAnswers(messages: s.messages, configuration: s.engine).asOf)
        let served = try CheckpointedAnswers(
            store: s.store, partitions: s.partitions, configuration: s.engine, asOf: asOf)
        #expect(lines.count == served.stats.count)
        #expect(lines.count > 100)
        // Byte for byte, except the price deviation's last bits: its Welford moments are merged
        // in an order that follows bucket rolls, which depend on how tokens share a partition.
        let bodies = served.stats.map { String(decoding: StatsJSON.encode($0), as: UTF8.self) }
        var differing = 0
        var first = ""
        for (got, want) in zip(lines, bodies) {
            let (g, gd) = splitDeviations(got)
            let (w, wd) = splitDeviations(want)
            let close =
                gd.count == wd.count
                && zip(gd, wd).allSatisfy { a, b in
                    a == b
                        || (Double(a).flatMap { x in Double(b).map { y in abs(x - y) <= 1e-12 * max(abs(x), abs(y)) } }
                            ?? false)
                }
            if g != w || !close {
                differing += 1
                if first.isEmpty { first = String(got.prefix(300)) + " | " + String(want.prefix(300)) }
            }
        }
        #expect(differing == 0, "\(differing) bodies differ; first: \(first)")
        #expect(compute.stderr.contains("accepted \(served.counters.accepted), duplicate \(served.counters.duplicate)"))
    }

    @Test func demoShowsLiveStatsAndStopsCleanlyWithItsEmbeddedKafka() throws {
        let directory = scratchDirectory("e2e-demo")
        let demo = try ChildProcess(
            "demo", arguments: ["demo", "--rate", "2000"],
            environment: [
                "HTTP_HOST": "127.0.0.1", "HTTP_PORT": "0", "STATE_DIR": directory + "/state", "STATUS_INTERVAL": "0",
            ],
            directory: directory)
        let address = try #require(demo.waitForLine(prefix: "http listening="))
        var top = ""
        let live = waitUntil(seconds: 30) {
            top = (try? httpGet("http://\(address)/tokens/top?window=5m&limit=3").body) ?? ""
            return top.contains("\"token\":")
        }
        #expect(live, "\(top)")
        #expect(demo.stdout.contains("curl '"))
        // SIGTERM: checkpoints, then exit 0 (the embedded broker outlives every client handle).
        #expect(demo.stop(seconds: 30) == 0)
        #expect(FileManager.default.fileExists(atPath: directory + "/state/swaps/0/MANIFEST"))
    }

    @Test func aBadSettingFailsStartUpNamingTheVariable() throws {
        let directory = scratchDirectory("e2e-config")
        for (variable, value) in [
            ("BACKPRESSURE", "sometimes"), ("WINDOWS", "5m,fortnight"), ("KAFKA_NO_SUCH_THING", "1"),
            ("CHECKPOINT_INTERVAL", "-3s"),
        ] {
            let serve = try ChildProcess(
                "bad-\(variable)", arguments: ["serve"], environment: [variable: value], directory: directory)
            #expect(serve.waitForExit(seconds: 20) == 2)
            #expect(serve.stderr.contains(variable), "\(serve.stderr)")
        }
    }
}

/// A mock cluster in the test process (so the test can take its broker down), with the
/// swaps topic and its dead-letter topic.
private struct EmbeddedKafkaForTests {
    let mock: KafkaMockCluster
    var brokers: String { mock.bootstrapServers }

    init(partitions: Int) throws {
        mock = try KafkaMockCluster(brokers: 1, logger: logger)
        try mock.createTopic("swaps", partitions: partitions)
        try mock.createTopic("swaps.dlq", partitions: 1)
    }
}
