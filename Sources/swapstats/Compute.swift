import ArgumentParser
import Foundation
import SwapStatsApp
import SwapStatsCore

/// `swapstats compute FILE…`: the live engine over swap archives.
struct Compute: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stats from JSON-lines swap files (plain or gzip; '-' = stdin): one contract §3 body per token.",
        discussion: """
            Same WINDOWS, BUCKET_STEP, ALLOWED_LATENESS, LATE_EVENTS and DEDUP_TTL as the server, with \
            CLOCK=event. Tokens are sharded across cores. A summary goes to stderr.
            """)

    @Argument(help: "JSON-lines files of swaps, plain or gzip; - for standard input.") var files: [String]
    @Option(name: .customLong("as-of"), help: "Answer time, ms since the epoch (default: end of the newest bucket).")
    var asOf: Int64?
    @Option(help: "Also write the /tokens/top rankings (every window and every 'by'), this many tokens each.")
    var top: Int?
    @Option(name: .customLong("top-output"), help: "File for the rankings (default: stdout, after the stats).")
    var topOutput: String?
    @Option(help: "Write invalid lines here as 'reason<TAB>line'.") var invalid: String?
    @Option(help: "Shard threads (default: cores).") var shards: Int?
    @Flag(name: .customLong("no-progress"), help: "No progress line, even on a terminal.") var noProgress = false

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("give at least one file, or - for stdin") }
        if let top, top < 1 { throw ValidationError("--top must be at least 1") }
        if let shards, !(1...256).contains(shards) { throw ValidationError("--shards must be 1–256") }
    }

    func run() throws {
        let engine: EngineConfiguration
        do {
            engine = try EngineConfiguration.fromEnvironment(ProcessInfo.processInfo.environment)
        } catch {
            FileHandle.standardError.write(Data("swapstats: \(error)\n".utf8))
            throw ExitCode(2)
        }
        let options = OfflineCompute.Options(
            files: files, engine: engine, asOf: asOf,
            shards: shards ?? ProcessInfo.processInfo.activeProcessorCount, invalidPath: invalid,
            progress: !noProgress && isatty(2) != 0)
        let result: OfflineCompute.Result
        do {
            result = try OfflineCompute.run(options)
        } catch {
            FileHandle.standardError.write(Data("swapstats: \(error)\n".utf8))
            throw ExitCode(1)
        }
        var out = BufferedOutput(.standardOutput)
        for s in result.stats { out.line(StatsJSON.encode(s)) }
        out.flush()
        if let top, let asOf = result.summary.asOf {
            var rankingsOut = BufferedOutput(.standardOutput)
            if let topOutput {
                guard FileManager.default.createFile(atPath: topOutput, contents: nil),
                    let h = FileHandle(forWritingAtPath: topOutput)
                else { throw ValidationError("cannot write \(topOutput)") }
                rankingsOut = BufferedOutput(h)
            }
            for body in OfflineCompute.rankings(result.stats, windows: engine.windows, asOf: asOf, limit: top) {
                rankingsOut.line(body)
            }
            rankingsOut.flush()
        }
        FileHandle.standardError.write(Data((result.summary.text + "\n").utf8))
    }
}

/// Lines gathered into large writes.
struct BufferedOutput {
    let handle: FileHandle
    var buffer: [UInt8] = []

    init(_ handle: FileHandle) { self.handle = handle }

    mutating func line(_ bytes: [UInt8]) {
        buffer += bytes
        buffer.append(0x0A)
        if buffer.count >= 1 << 20 { flush() }
    }

    mutating func flush() {
        if !buffer.isEmpty { handle.write(Data(buffer)) }
        buffer.removeAll(keepingCapacity: true)
    }
}
