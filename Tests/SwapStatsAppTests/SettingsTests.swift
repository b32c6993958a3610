import Foundation
import RedisClient
import SwapStatsApp
import SwapStatsCore
import SwapStatsHTTP
import SwapStatsPipeline
import Testing

@Suite struct SettingsTests {
    @Test func defaultsAreTheContractsAndTheEmbeddedKafka() throws {
        let s = try ServeSettings([:])
        #expect(s.brokers == nil)
        #expect(s.topic == "swaps")
        #expect(s.group == "swapstats")
        #expect(s.stateDirectory == "./state")
        #expect(s.backpressure == .block)
        #expect(s.checkpointInterval == 10_000)
        #expect(s.engine.windows.map(\.name) == ["5m", "1h", "24h"])
        #expect(s.pipeline(brokers: "b:1").deadLetterTopic == "swaps.dlq")
        #expect(s.httpHost == "0.0.0.0" && s.httpPort == 8080)
        #expect(s.httpLimits.maxConnections == 10_000 && s.httpLimits.idleTimeout == 60_000)
        #expect(s.httpLimits.requestsPerSecond == 1_000)
        #expect(s.redisSnapshotTTL == 120_000 && s.redisRefreshInterval == 40_000)
    }

    @Test func theRedisRefreshFollowsTheTTL() throws {
        let s = try ServeSettings(["REDIS_SNAPSHOT_TTL": "30s"])
        #expect(s.redisSnapshotTTL == 30_000 && s.redisRefreshInterval == 10_000)
        #expect(throws: ConfigurationError.self) {
            _ = try ServeSettings(["REDIS_SNAPSHOT_TTL": "30s", "REDIS_REFRESH_INTERVAL": "30s"])
        }
    }

    @Test func kafkaVariablesPassThroughToLibrdkafka() throws {
        let s = try ServeSettings([
            "KAFKA_BROKERS": "k1:9092,k2:9092", "KAFKA_SECURITY_PROTOCOL": "plaintext",
            "KAFKA_SESSION_TIMEOUT_MS": "6000",
        ])
        #expect(s.brokers == "k1:9092,k2:9092")
        #expect(s.kafkaProperties == ["security.protocol": "plaintext", "session.timeout.ms": "6000"])
    }

    @Test(arguments: [
        ("BACKPRESSURE", "sometimes"), ("CHECKPOINT_INTERVAL", "soon"), ("CHECKPOINT_INTERVAL", "0s"), ("SHARDS", "0"),
        ("LOG_LEVEL", "loud"), ("LOG_FORMAT", "xml"), ("KAFKA_TOPIC", "no spaces"), ("KAFKA_NOT_A_PROPERTY", "1"),
        ("WINDOWS", "5m,1h,forever"), ("CLOCK", "sundial"), ("EMBEDDED_PARTITIONS", "-1"), ("HTTP_PORT", "70000"),
        ("HTTP_MAX_CONNECTIONS", "0"), ("HTTP_IDLE_TIMEOUT", "never"), ("HTTP_RATE_LIMIT", "-5"),
        ("REDIS_SNAPSHOT_TTL", "0s"), ("REDIS_REFRESH_INTERVAL", "5m"),
    ])
    func aBadValueNamesItsVariable(variable: String, value: String) {
        #expect {
            _ = try ServeSettings([variable: value])
        } throws: { error in
            (error as? ConfigurationError)?.variable == variable
        }
    }

    @Test func theFileOverridesTheEnvironmentAndFlagsOverrideTheFile() throws {
        let path = NSTemporaryDirectory() + "swapstats-\(UUID().uuidString).toml"
        try """
        # comment
        [kafka]
        topic = "from-file"   # trailing comment
        session_timeout_ms = 6000
        [engine]
        windows = "1m,10m"
        bucket_step = "5s"
        [pipeline]
        backpressure = "buffer"
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let s = try ServeSettings.load(
            environment: ["KAFKA_TOPIC": "from-env", "KAFKA_GROUP": "from-env", "BACKPRESSURE": "drop"],
            configPath: path, flags: ["KAFKA_GROUP": "from-flag"])
        #expect(s.topic == "from-file")
        #expect(s.group == "from-flag")
        #expect(s.backpressure == .buffer)
        #expect(s.engine.windows.map(\.name) == ["1m", "10m"])
        #expect(s.kafkaProperties["session.timeout.ms"] == "6000")
    }

    @Test func aBadConfigFileLineIsNamed() {
        #expect {
            _ = try ConfigFile.parse("[engine]\nwindows = 5m\n", name: "x.toml")
        } throws: { error in
            (error as? ConfigurationError)?.variable == "x.toml:2"
        }
    }

    @Test func theShippedConfigFileLoads() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let s = try ServeSettings.load(
            environment: [:], configPath: root.appendingPathComponent("config/swapstats.toml").path, flags: [:])
        let defaults = try ServeSettings([:])
        #expect(s.engine == defaults.engine)
        #expect(s.topic == defaults.topic && s.group == defaults.group)
        #expect(s.stateDirectory == defaults.stateDirectory && s.checkpointInterval == defaults.checkpointInterval)
        #expect(s.logLevel == defaults.logLevel && s.statusInterval == defaults.statusInterval)
        #expect(s.httpHost == defaults.httpHost && s.httpPort == defaults.httpPort)
        let (a, b) = (s.httpLimits, defaults.httpLimits)
        #expect(a.maxConnections == b.maxConnections && a.idleTimeout == b.idleTimeout)
        #expect(a.requestsPerSecond == b.requestsPerSecond && a.maxHeaderBytes == b.maxHeaderBytes)
        #expect(a.webSocketQueue == b.webSocketQueue && s.publishInterval == defaults.publishInterval)
    }

    @Test func serveSettingsReadTheWebSocketAndHeaderLimits() throws {
        let s = try ServeSettings(["WS_MIN_INTERVAL": "100ms", "WS_MAX_QUEUE": "64", "HTTP_MAX_HEADER_BYTES": "4096"])
        #expect(s.publishInterval == 100 && s.httpLimits.webSocketQueue == 64 && s.httpLimits.maxHeaderBytes == 4096)
        #expect(try ServeSettings(["WS_MIN_INTERVAL": "0"]).pipeline(brokers: "x").publishInterval == 0)
        #expect(try ServeSettings(["REDIS_URL": "redis://u:p@r:6380/2"]).redis?.database == 2)
        #expect(try ServeSettings([:]).redis == nil)
        #expect(try ServeSettings(["REDIS_URL": "redis://r", "CHECKPOINT_STORE": "redis"]).checkpointsInRedis)
        for (variable, value) in [
            ("WS_MIN_INTERVAL", "soon"), ("WS_MAX_QUEUE", "0"), ("HTTP_MAX_HEADER_BYTES", "10"),
            ("REDIS_URL", "localhost:6379"), ("CHECKPOINT_STORE", "redis"), ("CHECKPOINT_STORE", "s3"),
        ] {
            #expect {
                try ServeSettings([variable: value])
            } throws: { ($0 as? ConfigurationError)?.variable == variable }
        }
    }
}
