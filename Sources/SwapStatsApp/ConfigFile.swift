import Foundation
public import SwapStatsCore

/// Reads the flat TOML file of `config/swapstats.toml` into environment-variable names.
///
/// Sections group keys; a key's variable is its name upper-cased, prefixed by the section
/// for `[kafka]`, `[http]`, `[redis]`, `[ws]` and `[log]` (`[kafka] brokers` → `KAFKA_BROKERS`,
/// `[engine] bucket_step` → `BUCKET_STEP`). Values are strings, integers or booleans. This is
/// the subset the file uses: no arrays, tables in arrays or multi-line strings.
public enum ConfigFile {
    static let prefixed: Set<String> = ["kafka", "http", "redis", "ws", "log"]

    /// Variables set by the file at `text`.
    /// - Throws: ``ConfigurationError`` naming the file and line of the first bad line.
    public static func parse(_ text: String, name: String) throws(ConfigurationError) -> [String: String] {
        var out: [String: String] = [:]
        var section = ""
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = stripComment(String(raw)).trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            func fail(_ message: String) -> ConfigurationError {
                ConfigurationError(variable: "\(name):\(number + 1)", message: message)
            }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]"), line.count > 2 else { throw fail("bad section header '\(line)'") }
                section = String(line.dropFirst().dropLast()).trimmingCharacters(in: .whitespacesAndNewlines)
                    .lowercased()
                continue
            }
            guard let eq = line.firstIndex(of: "=") else { throw fail("expected key = value") }
            let key = String(line[..<eq]).trimmingCharacters(in: .whitespacesAndNewlines)
            var value = String(line[line.index(after: eq)...]).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." }) else {
                throw fail("bad key '\(key)'")
            }
            if value.hasPrefix("\"") {
                guard value.count >= 2, value.hasSuffix("\"") else { throw fail("unterminated string") }
                value = String(value.dropFirst().dropLast())
            } else if !(value == "true" || value == "false" || Int64(value.filter { $0 != "_" }) != nil) {
                throw fail("value '\(value)' must be a quoted string, an integer or a boolean")
            }
            var variable = key.uppercased().map { $0 == "." ? "_" : $0 }.map(String.init).joined()
            if prefixed.contains(section) { variable = section.uppercased() + "_" + variable }
            out[variable] = value
        }
        return out
    }

    /// The line without a `#` comment (outside a string).
    private static func stripComment(_ line: String) -> String {
        var inString = false
        var out = ""
        for c in line {
            if c == "\"" { inString.toggle() }
            if c == "#" && !inString { break }
            out.append(c)
        }
        return out
    }
}
