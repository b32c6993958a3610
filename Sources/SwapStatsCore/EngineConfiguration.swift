/// What to do with an event older than its partition's watermark (`LATE_EVENTS`).
public enum LatePolicy: String, Sendable, CaseIterable {
    /// Count it in every window that covers its `ts` (default).
    case apply
    /// Drop it (counted as `late{outcome="dropped"}`).
    case drop
}

/// Where `asOf` comes from (`CLOCK`).
public enum ClockMode: String, Sendable, CaseIterable {
    /// Newest event time, and wall time when the stream is quiet (default).
    case wall
    /// Event time only: replays, backfills, tests.
    case event
}

/// One sliding window: its label in answers (`"5m"`) and its length.
public struct WindowSpec: Sendable, Hashable {
    /// The label used in JSON answers and Redis keys, as configured (`"24h"`).
    public let name: String
    /// Length in milliseconds, a multiple of the bucket step.
    public let millis: Int64

    public init(name: String, millis: Int64) {
        self.name = name
        self.millis = millis
    }
}

/// A start-up configuration value that is wrong; names the variable at fault.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The environment variable (or flag) at fault, e.g. `WINDOWS`.
    public let variable: String
    public let message: String

    public init(variable: String, message: String) {
        self.variable = variable
        self.message = message
    }

    public var description: String { "invalid \(variable): \(message)" }
}

/// The engine's semantics (contract §2). Values are validated on construction.
public struct EngineConfiguration: Sendable, Equatable {
    /// The windows, shortest first.
    public let windows: [WindowSpec]
    public let bucketStep: Int64
    public let allowedLateness: Int64
    public let latePolicy: LatePolicy
    /// Dedup memory in event time, rounded up to a whole number of buckets.
    public let dedupTTL: Int64
    public let clock: ClockMode
    /// Wall time after which a quiet partition flushes its reorder buffer.
    public let idleFlush: Int64

    /// The largest window.
    public var largestWindow: WindowSpec { windows[windows.count - 1] }

    /// Creates a validated configuration.
    /// - Throws: ``ConfigurationError`` naming the contract variable that is wrong.
    public init(
        windows: [WindowSpec] = EngineConfiguration.defaultWindows,
        bucketStep: Int64 = 5_000,
        allowedLateness: Int64 = 5_000,
        latePolicy: LatePolicy = .apply,
        dedupTTL: Int64? = nil,
        clock: ClockMode = .wall,
        idleFlush: Int64 = 1_000
    ) throws(ConfigurationError) {
        guard bucketStep > 0, bucketStep <= 86_400_000 else {
            throw ConfigurationError(variable: "BUCKET_STEP", message: "must be between 1ms and 24h")
        }
        guard !windows.isEmpty else { throw ConfigurationError(variable: "WINDOWS", message: "no window given") }
        for w in windows where w.millis <= 0 || w.millis % bucketStep != 0 {
            throw ConfigurationError(
                variable: "WINDOWS", message: "\(w.name) is not a positive multiple of BUCKET_STEP (\(bucketStep)ms)")
        }
        let sorted = windows.sorted { $0.millis < $1.millis }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.millis == b.millis || a.name == b.name {
            throw ConfigurationError(variable: "WINDOWS", message: "\(a.name) and \(b.name) repeat one window")
        }
        guard sorted.last!.millis / bucketStep <= 1_000_000 else {
            throw ConfigurationError(variable: "WINDOWS", message: "more than 1,000,000 buckets per window")
        }
        guard allowedLateness >= 0, allowedLateness < sorted.last!.millis else {
            throw ConfigurationError(
                variable: "ALLOWED_LATENESS", message: "must be >= 0 and shorter than the largest window")
        }
        let ttl = dedupTTL ?? sorted.last!.millis
        guard ttl > 0, ttl <= 30 * 86_400_000 else {
            throw ConfigurationError(variable: "DEDUP_TTL", message: "must be between 1ms and 30d")
        }
        guard ttl / bucketStep < 1 << 30 else {
            throw ConfigurationError(variable: "DEDUP_TTL", message: "spans more than 2^30 buckets of BUCKET_STEP")
        }
        guard idleFlush > 0 else { throw ConfigurationError(variable: "IDLE_FLUSH", message: "must be positive") }
        self.windows = sorted
        self.bucketStep = bucketStep
        self.allowedLateness = allowedLateness
        self.latePolicy = latePolicy
        self.dedupTTL = (ttl + bucketStep - 1) / bucketStep * bucketStep
        self.clock = clock
        self.idleFlush = idleFlush
    }

    /// `5m,1h,24h`.
    public static let defaultWindows = [
        WindowSpec(name: "5m", millis: 300_000), WindowSpec(name: "1h", millis: 3_600_000),
        WindowSpec(name: "24h", millis: 86_400_000),
    ]

    /// Reads the contract §6 variables from `environment`; absent ones take their defaults.
    /// - Throws: ``ConfigurationError`` naming the first variable that is wrong.
    public static func fromEnvironment(_ environment: [String: String]) throws(ConfigurationError) -> Self {
        func duration(_ name: String) throws(ConfigurationError) -> Int64? {
            guard let text = environment[name] else { return nil }
            guard let ms = DurationText.millis(text) else {
                throw ConfigurationError(
                    variable: name, message: "'\(text)' is not a duration like 250ms, 5s, 5m, 1h, 1d")
            }
            return ms
        }
        func choice<T: RawRepresentable & CaseIterable>(_ name: String, _: T.Type) throws(ConfigurationError) -> T?
        where T.RawValue == String {
            guard let text = environment[name] else { return nil }
            guard let value = T(rawValue: text.lowercased()) else {
                let allowed = T.allCases.map(\.rawValue).joined(separator: "|")
                throw ConfigurationError(variable: name, message: "'\(text)' is not one of \(allowed)")
            }
            return value
        }
        var windows = defaultWindows
        if let text = environment["WINDOWS"] {
            windows = []
            for part in text.split(separator: ",", omittingEmptySubsequences: false) {
                let name = String(part).trimmingSpaces
                guard let ms = DurationText.millis(name) else {
                    throw ConfigurationError(variable: "WINDOWS", message: "'\(name)' is not a duration like 5m or 1h")
                }
                windows.append(WindowSpec(name: name, millis: ms))
            }
        }
        return try EngineConfiguration(
            windows: windows,
            bucketStep: try duration("BUCKET_STEP") ?? 5_000,
            allowedLateness: try duration("ALLOWED_LATENESS") ?? 5_000,
            latePolicy: try choice("LATE_EVENTS", LatePolicy.self) ?? .apply,
            dedupTTL: try duration("DEDUP_TTL"),
            clock: try choice("CLOCK", ClockMode.self) ?? .wall,
            idleFlush: try duration("IDLE_FLUSH") ?? 1_000
        )
    }
}

/// Durations as written in configuration: `250ms`, `5s`, `5m`, `1h`, `1d` (a bare number is
/// milliseconds).
public enum DurationText {
    /// Milliseconds for `text`, or nil when it is not a duration.
    public static func millis(_ text: String) -> Int64? {
        let t = text.trimmingSpaces
        let units: [(String, Int64)] = [("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
        var digits = Substring(t)
        var scale: Int64 = 1
        for (suffix, s) in units where t.hasSuffix(suffix) {
            // "ms" is checked before "s" and "m".
            digits = t.dropLast(suffix.count)
            scale = s
            break
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int64(digits) else {
            return nil
        }
        let (ms, overflow) = n.multipliedReportingOverflow(by: scale)
        return overflow ? nil : ms
    }
}

extension String {
    var trimmingSpaces: String {
        String(self.drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
