// swift-tools-version: 6.1
import PackageDescription

/// Settings shared by every Swift target (see ../shared/STYLE.md §8).
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .define("SWAPSTATS_INTERNAL_CHECKS", .when(configuration: .debug)),
]

let package = Package(
    name: "swapstats",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "swapstats", targets: ["swapstats"]),
        .library(name: "SwapStatsCore", targets: ["SwapStatsCore"]),
        .library(name: "SwapStatsTestSupport", targets: ["SwapStatsTestSupport"]),
        .library(name: "KafkaClient", targets: ["KafkaClient"]),
        .library(name: "SwapStatsPipeline", targets: ["SwapStatsPipeline"]),
        .library(name: "SwapStatsCheckpoints", targets: ["SwapStatsCheckpoints"]),
        .library(name: "SwapStatsPublishing", targets: ["SwapStatsPublishing"]),
        .library(name: "SwapStatsHTTP", targets: ["SwapStatsHTTP"]),
        .library(name: "SwapStatsRedis", targets: ["SwapStatsRedis"]),
        .library(name: "RedisClient", targets: ["RedisClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-http2", from: "1.46.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // Pure domain engine: no I/O, no clock, no C, no networking.
        .target(name: "SwapStatsCore"),
        // Seeded generators and the brute-force oracle, for tests and benchmarks only.
        .target(
            name: "SwapStatsTestSupport",
            dependencies: [
                "SwapStatsCore", "KafkaClient", "SwapStatsCheckpoints", "SwapStatsPipeline",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // librdkafka, fenced: a modulemap and a shim header, imported by KafkaClient only.
        .systemLibrary(name: "CRdKafka", pkgConfig: "rdkafka", providers: [.apt(["librdkafka-dev"])]),
        // Owns every librdkafka pointer: consumer, producer, mock cluster.
        .target(
            name: "KafkaClient",
            dependencies: ["CRdKafka", .product(name: "Logging", package: "swift-log")]
        ),
        // hiredis, fenced: a modulemap and a shim header, imported by RedisClient only.
        .systemLibrary(name: "CHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),
        // Owns every hiredis context: argv commands, pipelining, reconnects with backoff.
        .target(name: "RedisClient", dependencies: ["CHiredis"]),
        // Redis as the shared state of several instances: the snapshot publisher (contract §5).
        .target(
            name: "SwapStatsRedis",
            dependencies: [
                "SwapStatsCore", "SwapStatsCheckpoints", "SwapStatsPublishing", "RedisClient",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        // Where checkpoints live and how a partition's manifest, base and deltas are loaded,
        // appended to and compacted: the store protocol, the directory store. No Kafka, no
        // Redis: both build on it.
        .target(name: "SwapStatsCheckpoints", dependencies: ["SwapStatsCore"]),
        // What the pipeline hands the serving side: encoded stats updates and trades, the sink
        // protocols, the set of watched tokens. Its locks stay out of the core.
        .target(name: "SwapStatsPublishing", dependencies: ["SwapStatsCore"]),
        // Partition ownership, shards, backpressure, checkpoint writing, dead letters.
        .target(
            name: "SwapStatsPipeline",
            dependencies: [
                "SwapStatsCore",
                "SwapStatsCheckpoints",
                "SwapStatsPublishing",
                "KafkaClient",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // zlib, fenced: gzip (and plain) input for `swapstats compute`.
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        // HTTP/1.1 and h2c on SwiftNIO; reads data only through its StatsQuerying protocol.
        .target(
            name: "SwapStatsHTTP",
            dependencies: [
                "SwapStatsCore",
                "SwapStatsPublishing",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // Configuration loading and the composition of services behind each command.
        .target(
            name: "SwapStatsApp",
            dependencies: [
                "CZlib",
                "SwapStatsHTTP",
                "SwapStatsCore",
                "SwapStatsTestSupport",
                "KafkaClient",
                "SwapStatsCheckpoints",
                "SwapStatsPipeline",
                "RedisClient",
                "SwapStatsRedis",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "swapstats",
            dependencies: [
                "SwapStatsCore",
                "SwapStatsTestSupport",
                "SwapStatsApp",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "SwapStatsCoreTests", dependencies: ["SwapStatsCore", "SwapStatsTestSupport"]),
        .testTarget(
            name: "KafkaClientTests",
            dependencies: ["KafkaClient", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "SwapStatsPipelineTests",
            dependencies: [
                "SwapStatsCore",
                "SwapStatsPublishing",
                "SwapStatsTestSupport",
                "KafkaClient",
                "SwapStatsCheckpoints",
                "SwapStatsPipeline",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
        .testTarget(
            name: "RedisClientTests",
            dependencies: [
                "RedisClient", "SwapStatsRedis", "SwapStatsCore", "SwapStatsTestSupport", "SwapStatsCheckpoints",
                "SwapStatsPublishing",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
        .testTarget(
            name: "SwapStatsHTTPTests",
            dependencies: [
                "SwapStatsHTTP", "SwapStatsCore", "SwapStatsPublishing", "SwapStatsTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
        .testTarget(
            name: "SwapStatsAppTests",
            dependencies: [
                "SwapStatsApp", "SwapStatsCore", "SwapStatsHTTP", "SwapStatsCheckpoints", "SwapStatsPipeline",
                "SwapStatsTestSupport", "RedisClient",
            ]
        ),
        // End to end on real processes: `swapstats serve|kafka|replay`, kcat, the mock cluster.
        .testTarget(
            name: "SwapStatsIntegrationTests",
            dependencies: [
                "SwapStatsCore",
                "SwapStatsTestSupport",
                "KafkaClient",
                "SwapStatsCheckpoints",
                "SwapStatsPipeline",
                "RedisClient",
                "SwapStatsRedis",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ]
)

for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? []) + swiftSettings
}
