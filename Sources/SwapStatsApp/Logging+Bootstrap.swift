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
            "ts": ISO8601DateFormatter().string(from: Date()), "level": event.level.rawValue, "label": label,
            "message": "\(event.message)",
        ]
        for (k, v) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) { fields[k] = "\(v)" }
        let body = fields.sorted { $0.key < $1.key }.map { "\(StatsJSON.quoted($0.key)):\(StatsJSON.quoted($0.value))" }
            .joined(
                separator: ",")
        FileHandle.standardError.write(Data(("{" + body + "}\n").utf8))
    }
}
