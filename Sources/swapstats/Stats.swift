import ArgumentParser
import Foundation
import SwapStatsCore

/// Reads JSON-lines swaps, runs them through the engine and prints one stats body per token.
struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compute stats from a JSON-lines file of swaps ('-' for stdin); one stats body per token.")

    @Argument(help: "JSON-lines file of swaps, or - for standard input.") var file: String

    func run() throws {
        let engineConfiguration = try EngineConfiguration.fromEnvironment(
            ProcessInfo.processInfo.environment.merging(["CLOCK": "event"]) { _, forced in forced })
        let handle: FileHandle
        if file == "-" {
            handle = .standardInput
        } else {
            guard let h = FileHandle(forReadingAtPath: file) else { throw ValidationError("cannot open \(file)") }
            handle = h
        }
        let data = handle.readDataToEndOfFile()
        let decoder = EventDecoder()
        var engine = PartitionEngine(configuration: engineConfiguration)
        var invalid: [InvalidReason: Int] = [:]
        var lines = 0
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var start = 0
            while start < raw.count {
                var end = start
                while end < raw.count && raw[end] != UInt8(ascii: "\n") { end += 1 }
                let line = UnsafeRawBufferPointer(rebasing: raw[start..<end])
                if !line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) {
                    lines += 1
                    switch decoder.decode(line) {
                    case .success(let e): engine.ingest(e)
                    case .failure(let reason): invalid[reason, default: 0] += 1
                    }
                }
                start = end + 1
            }
        }
        engine.flush()
        for s in engine.allStats() { print(String(decoding: StatsJSON.encode(s), as: UTF8.self)) }
        let c = engine.counters
        var summary =
            "lines \(lines), accepted \(c.accepted), duplicate \(c.duplicate), late applied \(c.lateApplied), "
        summary += "late dropped \(c.lateDropped), expired \(c.expired), invalid \(invalid.values.reduce(0, +))"
        for (reason, n) in invalid.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            summary += " \(reason.rawValue)=\(n)"
        }
        FileHandle.standardError.write(Data((summary + "\n").utf8))
    }
}
