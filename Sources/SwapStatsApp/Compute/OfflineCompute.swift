import Dispatch
import Foundation
public import SwapStatsCore
import SwapStatsPipeline

/// `swapstats compute`: swaps from files through the same decode → dedup → reorder →
/// windows code as the server, tokens sharded across cores, answers at one `asOf`.
public enum OfflineCompute {
    public struct Options: Sendable {
        public var files: [String]
        /// Engine settings (`CLOCK` is forced to `event`).
        public var engine: EngineConfiguration
        /// Answer time; nil: the end of the newest bucket in the input.
        public var asOf: Int64?
        /// Shard threads (default: cores). Token `t` belongs to shard `hash(t) mod shards`.
        public var shards: Int
        /// Where invalid lines go, as `reason<TAB>line`.
        public var invalidPath: String?
        /// Draw a progress line on standard error.
        public var progress: Bool

        public init(
            files: [String], engine: EngineConfiguration, asOf: Int64? = nil, shards: Int, invalidPath: String? = nil,
            progress: Bool = false
        ) {
            self.files = files
            self.engine = engine
            self.asOf = asOf
            self.shards = max(1, shards)
            self.invalidPath = invalidPath
            self.progress = progress
        }
    }

    /// What a run read and did.
    public struct Summary: Sendable {
        public var lines = 0
        public var bytes = 0
        public var counters = IngestCounters()
        public var invalid: [InvalidReason: Int] = [:]
        public var seconds = 0.0
        /// The answer time used (nil when nothing was accepted).
        public var asOf: Int64?

        /// One line for standard error.
        public var text: String {
            let c = counters
            var s = "read \(lines) lines (\(bytes / 1_000_000) MB) in \(String(format: "%.2f", seconds)) s"
            s +=
                " (\(Int(Double(lines) / max(seconds, 1e-9))) events/s): accepted \(c.accepted), duplicate \(c.duplicate)"
            s += ", late applied \(c.lateApplied), late dropped \(c.lateDropped), expired \(c.expired)"
            s += ", invalid \(invalid.values.reduce(0, +))"
            for (reason, n) in invalid.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                s += " \(reason.rawValue)=\(n)"
            }
            if let asOf { s += ", asOf \(asOf)" }
            return s
        }
    }

    /// The answers: every token with a trade in the largest window at `summary.asOf`,
    /// sorted by token.
    public struct Result: Sendable {
        public var stats: [TokenStats]
        public var summary: Summary
    }

    /// Reads every file and computes the answers.
    /// - Throws: ``ComputeError`` for unreadable input or an `asOf` before the input's end.
    public static func run(_ options: Options) throws -> Result {
        let began = DispatchTime.now().uptimeNanoseconds
        let engine = try EngineConfiguration(
            windows: options.engine.windows, bucketStep: options.engine.bucketStep,
            allowedLateness: options.engine.allowedLateness, latePolicy: options.engine.latePolicy,
            dedupTTL: options.engine.dedupTTL, clock: .event, idleFlush: options.engine.idleFlush)
        let shards = (0..<options.shards).map { _ in ComputeShard(configuration: engine) }
        for shard in shards { shard.start() }
        var summary = Summary()
        var invalidOut: FileHandle?
        if let path = options.invalidPath {
            guard FileManager.default.createFile(atPath: path, contents: nil),
                let h = FileHandle(forWritingAtPath: path)
            else { throw ComputeError("cannot write \(path)") }
            invalidOut = h
        }
        var invalidBuffer: [UInt8] = []
        let decoder = EventDecoder()
        var pending = shards.map { _ in [SwapEvent]() }
        let batch = 4096
        var progress = Progress(enabled: options.progress)
        defer { progress.finish() }
        do {
            for path in options.files {
                let reader = try LineReader(path: path)
                try reader.forEachLine { line in
                    guard line.contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }) else { return }
                    summary.lines += 1
                    switch decoder.decode(line) {
                    case .success(let e):
                        let s = Int(e.tokenHash % UInt64(shards.count))
                        pending[s].append(e)
                        if pending[s].count == batch {
                            shards[s].queue.push(.events(pending[s]), waitingBelow: 8)
                            pending[s] = []
                            pending[s].reserveCapacity(batch)
                        }
                    case .failure(let reason):
                        summary.invalid[reason, default: 0] += 1
                        if invalidOut != nil {
                            invalidBuffer.append(contentsOf: reason.rawValue.utf8)
                            invalidBuffer.append(0x09)
                            invalidBuffer.append(contentsOf: line)
                            invalidBuffer.append(0x0A)
                            if invalidBuffer.count > 1 << 20 {
                                invalidOut?.write(Data(invalidBuffer))
                                invalidBuffer.removeAll(keepingCapacity: true)
                            }
                        }
                    }
                    if summary.lines & 0xFFFF == 0 { progress.show(lines: summary.lines) }
                }
                summary.bytes += reader.bytesRead
            }
        } catch {
            for shard in shards { shard.finish() }
            throw error
        }
        for (s, events) in pending.enumerated() where !events.isEmpty {
            shards[s].queue.push(.events(events), waitingBelow: 8)
        }
        invalidOut?.write(Data(invalidBuffer))
        try? invalidOut?.close()
        for shard in shards { shard.finish() }

        let engines = shards.map(\.engine)
        let newest = engines.compactMap(\.asOf).max()
        if let asked = options.asOf, let newest, asked < newest {
            throw ComputeError("--as-of \(asked) is before the end of the input's newest bucket (\(newest))")
        }
        summary.asOf = options.asOf ?? newest
        var stats: [TokenStats] = []
        if let asOf = summary.asOf {
            for e in engines { stats += e.allStats(asOf: asOf) }
        }
        stats.sort { $0.token < $1.token }
        for e in engines { summary.counters += e.counters }
        summary.seconds = Double(DispatchTime.now().uptimeNanoseconds - began) / 1e9
        return Result(stats: stats, summary: summary)
    }

    /// The `/tokens/top` bodies of every window and every `by`, `limit` each.
    public static func rankings(_ stats: [TokenStats], windows: [WindowSpec], asOf: Int64, limit: Int) -> [[UInt8]] {
        windows.flatMap { w in
            RankBy.allCases.map { by in
                StatsJSON.encode(
                    top: TopTokens.rank(stats, window: w.name, by: by, limit: limit), window: w.name, by: by, asOf: asOf
                )
            }
        }
    }
}

/// A progress line on standard error, redrawn at most twice a second.
private struct Progress {
    let enabled: Bool
    let began = Date()
    var last = Date.distantPast
    var drawn = false

    mutating func show(lines: Int) {
        guard enabled, Date().timeIntervalSince(last) >= 0.5 else { return }
        last = Date()
        let rate = Double(lines) / max(Date().timeIntervalSince(began), 1e-9)
        FileHandle.standardError.write(Data("\r\(lines) lines, \(Int(rate)) lines/s   ".utf8))
        drawn = true
    }

    func finish() {
        if drawn { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}

/// One shard of a compute run: a thread that alone owns one engine.
///
/// `@unchecked Sendable` is sound: `engine` is written only by the thread, and read by the
/// caller only after ``finish()`` has joined it.
final class ComputeShard: @unchecked Sendable {
    enum Work {
        case events([SwapEvent])
        case end(DispatchSemaphore)
        var isData: Bool { if case .events = self { true } else { false } }
    }

    let queue = WorkQueue<Work>()
    private(set) var engine: PartitionEngine
    private var finished = false

    init(configuration: EngineConfiguration) { engine = PartitionEngine(configuration: configuration) }

    func start() {
        Thread { [self] in
            while true {
                switch queue.pop(timeout: 1, isData: \.isData) {
                case .events(let events)?: for e in events { engine.ingest(e) }
                case .end(let done)?:
                    engine.flush()
                    done.signal()
                    return
                case nil: continue
                }
            }
        }.start()
    }

    /// Flushes the reorder buffer after the queued events and waits for the thread to end.
    func finish() {
        guard !finished else { return }
        finished = true
        let done = DispatchSemaphore(value: 0)
        queue.pushControl(.end(done))
        done.wait()
    }
}
