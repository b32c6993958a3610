import Foundation
import KafkaClient
public import Logging
public import RedisClient
public import SwapStatsCore
public import SwapStatsHTTP
public import SwapStatsPipeline

/// Everything `swapstats serve` needs, read from the environment, then the config file,
/// then flags (contract §6). A bad value fails with the variable's name.
public struct ServeSettings: Sendable {
    /// `KAFKA_BROKERS`; nil starts the embedded Kafka.
    public var brokers: String?
    public var topic: String
    public var group: String
    /// `KAFKA_<PROPERTY>` pass-through to librdkafka (`KAFKA_SECURITY_PROTOCOL` → `security.protocol`).
    public var kafkaProperties: [String: String]
    public var engine: EngineConfiguration
    public var stateDirectory: String
    public var backpressure: Backpressure
    public var checkpointInterval: Int64
    public var shards: Int
    /// Partitions of the topic the embedded Kafka creates (`EMBEDDED_PARTITIONS`).
    public var embeddedPartitions: Int
    public var logLevel: Logger.Level
    public var logFormat: LogFormat
    /// How often `serve` logs a status line (`STATUS_INTERVAL`, 0 = never).
    public var statusInterval: Int64
    /// Address and port of the HTTP API (`HTTP_HOST`, `HTTP_PORT`; port 0 picks a free one).
    public var httpHost: String
    public var httpPort: Int
    /// `HTTP_MAX_CONNECTIONS`, `HTTP_IDLE_TIMEOUT`, `HTTP_RATE_LIMIT` (requests/s per client,
    /// 0 = off), `HTTP_MAX_HEADER_BYTES`, `WS_MAX_QUEUE`.
    public var httpLimits: HTTPLimits
    /// `HTTP_API_KEYS`: comma-separated bearer keys the data routes require (empty: open).
    public var apiKeys: Set<String>
    /// `WS_MIN_INTERVAL`: the least time between two published updates of a token (ms, 0 =
    /// every batch).
    public var publishInterval: Int64
    /// `REDIS_URL`: where published stats are mirrored (nil: nowhere).
    public var redis: RedisURL?
    /// `REDIS_SNAPSHOT_TTL`: lifetime of a snapshot in Redis (ms, default 2 minutes): a token
    /// whose owner is gone for longer disappears from other instances.
    public var redisSnapshotTTL: Int64 = 120_000
    /// `REDIS_REFRESH_INTERVAL`: how often every snapshot this instance owns is written
    /// again with a fresh TTL (ms, default a third of the TTL; shorter than the TTL).
    public var redisRefreshInterval: Int64 = 40_000
    /// `CHECKPOINT_STORE`: `directory` (`STATE_DIR`, the default) or `redis` (needs `REDIS_URL`).
    public var checkpointsInRedis = false

    /// Variables this struct reads itself; other `KAFKA_*` ones go to librdkafka.
    static let kafkaOwn: Set<String> = ["KAFKA_BROKERS", "KAFKA_TOPIC", "KAFKA_GROUP"]

    /// Reads `variables` (environment merged with file and flags).
    /// - Throws: ``ConfigurationError`` naming the first bad variable.
    public init(_ variables: [String: String]) throws(ConfigurationError) {
        func text(_ name: String) -> String? {
            guard let v = variables[name], !v.isEmpty else { return nil }
            return v
        }
        func duration(_ name: String, default value: Int64) throws(ConfigurationError) -> Int64 {
            guard let t = text(name) else { return value }
            guard let ms = DurationText.millis(t), ms > 0 else {
                throw ConfigurationError(
                    variable: name, message: "'\(t)' is not a positive duration like 500ms, 10s, 1m")
            }
            return ms
        }
        func count(_ name: String, default value: Int, range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
            guard let t = text(name) else { return value }
            guard let n = Int(t), range.contains(n) else {
                throw ConfigurationError(variable: name, message: "'\(t)' is not an integer in \(range)")
            }
            return n
        }
        brokers = text("KAFKA_BROKERS")
        topic = text("KAFKA_TOPIC") ?? "swaps"
        group = text("KAFKA_GROUP") ?? "swapstats"
        for (name, t) in [("KAFKA_TOPIC", topic), ("KAFKA_GROUP", group)]
        where t.count > 249 || !t.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) {
            throw ConfigurationError(variable: name, message: "'\(t)' must be 1–249 characters of [a-zA-Z0-9._-]")
        }
        var properties: [String: String] = [:]
        for (name, value) in variables where name.hasPrefix("KAFKA_") && !Self.kafkaOwn.contains(name) {
            let property = name.dropFirst(6).lowercased().replacingOccurrences(of: "_", with: ".")
            do { try validateKafkaProperty(property, value) } catch {
                throw ConfigurationError(
                    variable: name, message: "librdkafka refuses \(property)=\(value): \(error.message)")
            }
            properties[property] = value
        }
        kafkaProperties = properties
        engine = try EngineConfiguration.fromEnvironment(variables)
        stateDirectory = text("STATE_DIR") ?? "./state"
        if let t = text("BACKPRESSURE") {
            guard let b = Backpressure(rawValue: t.lowercased()) else {
                throw ConfigurationError(variable: "BACKPRESSURE", message: "'\(t)' is not one of block|drop|buffer")
            }
            backpressure = b
        } else {
            backpressure = .block
        }
        checkpointInterval = try duration("CHECKPOINT_INTERVAL", default: 10_000)
        shards = try count("SHARDS", default: ProcessInfo.processInfo.activeProcessorCount, range: 1...256)
        embeddedPartitions = try count("EMBEDDED_PARTITIONS", default: 8, range: 1...1024)
        if let t = text("LOG_LEVEL") {
            guard let l = Logger.Level(rawValue: t.lowercased()) else {
                let allowed = Logger.Level.allCases.map(\.rawValue).joined(separator: "|")
                throw ConfigurationError(variable: "LOG_LEVEL", message: "'\(t)' is not one of \(allowed)")
            }
            logLevel = l
        } else {
            logLevel = .info
        }
        if let t = text("LOG_FORMAT") {
            guard let f = LogFormat(rawValue: t.lowercased()) else {
                throw ConfigurationError(variable: "LOG_FORMAT", message: "'\(t)' is not one of text|json")
            }
            logFormat = f
        } else {
            logFormat = .text
        }
        statusInterval = text("STATUS_INTERVAL") == "0" ? 0 : try duration("STATUS_INTERVAL", default: 10_000)
        httpHost = text("HTTP_HOST") ?? "0.0.0.0"
        httpPort = try count("HTTP_PORT", default: 8080, range: 0...65535)
        httpLimits = HTTPLimits(
            maxConnections: try count("HTTP_MAX_CONNECTIONS", default: 10_000, range: 1...1_000_000),
            idleTimeout: try duration("HTTP_IDLE_TIMEOUT", default: 60_000),
            requestsPerSecond: try count("HTTP_RATE_LIMIT", default: 1_000, range: 0...10_000_000),
            maxHeaderBytes: try count("HTTP_MAX_HEADER_BYTES", default: 16 * 1024, range: 1024...1024 * 1024),
            webSocketQueue: try count("WS_MAX_QUEUE", default: 1_024, range: 1...1_000_000))
        publishInterval = text("WS_MIN_INTERVAL") == "0" ? 0 : try duration("WS_MIN_INTERVAL", default: 250)
        if let t = text("REDIS_URL") {
            guard let url = RedisURL(t) else {
                throw ConfigurationError(
                    variable: "REDIS_URL", message: "'\(t)' is not redis://[user:password@]host[:port][/db]")
            }
            redis = url
        }
        redisSnapshotTTL = try duration("REDIS_SNAPSHOT_TTL", default: 120_000)
        redisRefreshInterval = try duration("REDIS_REFRESH_INTERVAL", default: max(1, redisSnapshotTTL / 3))
        guard redisRefreshInterval < redisSnapshotTTL else {
            throw ConfigurationError(
                variable: "REDIS_REFRESH_INTERVAL",
                message: "\(redisRefreshInterval) ms is not shorter than REDIS_SNAPSHOT_TTL (\(redisSnapshotTTL) ms)")
        }
        switch text("CHECKPOINT_STORE")?.lowercased() {
        case nil, "directory": break
        case "redis":
            guard redis != nil else {
                throw ConfigurationError(variable: "CHECKPOINT_STORE", message: "'redis' needs REDIS_URL")
            }
            checkpointsInRedis = true
        case let other?:
            throw ConfigurationError(variable: "CHECKPOINT_STORE", message: "'\(other)' is not one of directory|redis")
        }
        apiKeys = Set(
            (text("HTTP_API_KEYS") ?? "").split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty })
    }

    /// Environment, then the config file at `configPath` (if any), then `flags`.
    /// - Throws: ``ConfigurationError`` for an unreadable file or a bad value.
    public static func load(
        environment: [String: String], configPath: String?, flags: [String: String]
    ) throws(ConfigurationError) -> ServeSettings {
        var variables = environment
        if let configPath {
            guard let data = FileManager.default.contents(atPath: configPath) else {
                throw ConfigurationError(variable: "--config", message: "cannot read \(configPath)")
            }
            let fromFile = try ConfigFile.parse(String(decoding: data, as: UTF8.self), name: configPath)
            variables.merge(fromFile) { _, file in file }
        }
        variables.merge(flags) { _, flag in flag }
        return try ServeSettings(variables)
    }

    /// The pipeline's configuration for `brokers`.
    public func pipeline(brokers: String) -> PipelineConfiguration {
        PipelineConfiguration(
            topic: topic, group: group, brokers: brokers, kafkaProperties: kafkaProperties, engine: engine,
            shards: shards, backpressure: backpressure, checkpointInterval: checkpointInterval,
            publishInterval: publishInterval)
    }
}
