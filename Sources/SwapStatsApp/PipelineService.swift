import Foundation
import Logging
import ServiceLifecycle
import SwapStatsPipeline

/// Runs an ``IngestPipeline`` until graceful shutdown, then stops it (final checkpoints),
/// logging a status line every `statusInterval` ms.
struct PipelineService: Service {
    let pipeline: IngestPipeline
    let logger: Logger
    let statusInterval: Int64

    func run() async throws {
        pipeline.start()
        await withDiscardingTaskGroup { group in
            if statusInterval > 0 {
                group.addTask { await reportStatus() }
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }
        logger.notice("stopping: checkpointing owned partitions")
        // stop() blocks on threads; keep it off the cooperative pool.
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let pipeline = self.pipeline
            Thread {
                pipeline.stop()
                done.resume()
            }.start()
        }
        logger.notice("stopped")
    }

    private func reportStatus() async {
        var lastOffsets: Int64 = 0
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(statusInterval))
            if Task.isCancelled { return }
            let status = pipeline.partitions
            let offsets = status.reduce(0) { $0 + $1.nextOffset }
            let lost = status.reduce(0) { $0 + $1.lostEvents }
            logger.info(
                "status",
                metadata: [
                    "partitions": "\(status.map { "\($0.partition)" }.joined(separator: ","))",
                    "events.per_second": "\(Double(offsets - lastOffsets) * 1000 / Double(statusInterval))",
                    "accepted": "\(status.reduce(0) { $0 + $1.accepted })",
                    "duplicates": "\(status.reduce(0) { $0 + $1.duplicate })",
                    "invalid": "\(status.reduce(0) { $0 + $1.invalid })",
                    "tokens": "\(status.reduce(0) { $0 + $1.tokens })",
                    "lost": "\(lost)",
                    "ready": "\(pipeline.isReady)",
                ])
            lastOffsets = offsets
        }
    }
}
