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
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.6.0")
    ],
    targets: [
        // Pure domain engine: no I/O, no clock, no C, no networking.
        .target(name: "SwapStatsCore"),
        // Seeded generators and the brute-force oracle, for tests and benchmarks only.
        .target(name: "SwapStatsTestSupport", dependencies: ["SwapStatsCore"]),
        .executableTarget(
            name: "swapstats",
            dependencies: [
                "SwapStatsCore",
                "SwapStatsTestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "SwapStatsCoreTests", dependencies: ["SwapStatsCore", "SwapStatsTestSupport"]),
    ]
)

for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? []) + swiftSettings
}
