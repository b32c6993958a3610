import Foundation
public import Logging
import SwapStatsCore

/// How log lines look (`LOG_FORMAT`).
public enum LogFormat: String, Sendable {
    case text
    /// One JSON object per line: `ts`, `level`, `label`, `message`, metadata.
    case json
}

/// Bootstraps swift-log once for the process.
public enum LogSetup {
    public static func bootstrap(level: Logger.Level, format: LogFormat) {
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler =
                switch format {
                case .text: StreamLogHandler.standardError(label: label)
                case .json: JSONLogHandler(label: label)
                }
            handler.logLevel = level
            return handler
        }
    }
}

/// Writes each record as one JSON line on standard error.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields: [String: String] = [
            "ts": Self.timestamp(Int(time(nil))), "level": event.level.rawValue, "label": label,
            "message": "\(event.message)",
        ]
        for (k, v) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) { fields[k] = "\(v)" }
        let body = fields.sorted { $0.key < $1.key }.map { "\(StatsJSON.quoted($0.key)):\(StatsJSON.quoted($0.value))" }
            .joined(
                separator: ",")
        FileHandle.standardError.write(Data(("{" + body + "}\n").utf8))
    }

    /// `seconds` since the epoch as ISO 8601 in UTC (`2026-12-03T17:31:00Z`, as
    /// `ISO8601DateFormatter` writes it), without building a formatter for every line.
    static func timestamp(_ seconds: Int) -> String {
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let year = String(parts.tm_year + 1900)
        return
            "\(String(repeating: "0", count: max(0, 4 - year.count)))\(year)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))"
            + "T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }
}
