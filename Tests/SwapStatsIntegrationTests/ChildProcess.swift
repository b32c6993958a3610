import Foundation
import SwapStatsTestSupport

/// A child process of the test (a `swapstats` command, kcat), its output in files; killed
/// by pid when the test lets go of it.
final class ChildProcess: @unchecked Sendable {
    let name: String
    let process = Process()
    let stdoutPath: String
    let stderrPath: String

    /// The `swapstats` binary built beside this test bundle.
    static let swapstats: String = {
        if let path = ProcessInfo.processInfo.environment["SWAPSTATS_BIN"] { return path }
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [dir, dir.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("swapstats").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return dir.appendingPathComponent("swapstats").path
    }()

    init(
        _ name: String, executable: String = ChildProcess.swapstats, arguments: [String],
        environment: [String: String] = [:],
        directory: String, stdin: String? = nil
    ) throws {
        self.name = name
        stdoutPath = "\(directory)/\(name).out"
        stderrPath = "\(directory)/\(name).err"
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { _, new in new }
        process.environment = env
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        if let stdin { process.standardInput = FileHandle(forReadingAtPath: stdin) }
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// The value after `prefix` on the first stdout line that starts with it.
    func waitForLine(prefix: String, seconds: Double = 20) -> String? {
        var found: String?
        _ = waitUntil(seconds: seconds) {
            found = stdout.split(separator: "\n").first { $0.hasPrefix(prefix) }.map {
                String($0.dropFirst(prefix.count))
            }
            return found != nil || !process.isRunning
        }
        return found
    }

    func send(_ signal: Int32) { if process.isRunning { kill(pid, signal) } }

    /// Waits for exit; the exit status, or nil when still running after `seconds`.
    @discardableResult
    func waitForExit(seconds: Double = 30) -> Int32? {
        guard waitUntil(seconds: seconds, { !process.isRunning }) else { return nil }
        return process.terminationStatus
    }

    /// SIGTERM, then SIGKILL if it does not exit in time.
    func stop(seconds: Double = 30) -> Int32? {
        send(SIGTERM)
        if let status = waitForExit(seconds: seconds) { return status }
        send(SIGKILL)
        waitForExit(seconds: 5)
        return nil
    }

    deinit {
        if process.isRunning {
            kill(pid, SIGKILL)
            process.waitUntilExit()
        }
    }
}
