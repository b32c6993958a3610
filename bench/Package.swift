// swift-tools-version: 6.1
import Foundation
import PackageDescription

/// SwiftPM names a path dependency after its folder, which is whatever the checkout is called.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

// Benchmarks live in their own package so the main build stays light. Always run release:
//   swift run -c release --package-path bench swapstats-bench all
let package = Package(
    name: "swapstats-bench",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .target(name: "CMallocInfo"),
        .executableTarget(
            name: "swapstats-bench",
            dependencies: [
                "CMallocInfo",
                .product(name: "SwapStatsCore", package: root),
                .product(name: "SwapStatsTestSupport", package: root),
                .product(name: "KafkaClient", package: root),
                .product(name: "SwapStatsCheckpoints", package: root),
                .product(name: "SwapStatsPublishing", package: root),
                .product(name: "SwapStatsPipeline", package: root),
                .product(name: "SwapStatsHTTP", package: root),
                .product(name: "SwapStatsRedis", package: root),
                .product(name: "RedisClient", package: root),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ]
)
