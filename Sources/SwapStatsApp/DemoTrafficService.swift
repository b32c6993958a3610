import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Produces generated swaps into Kafka until graceful shutdown (`swapstats demo`).
struct DemoTrafficService: Service {
    let brokers: String
    let options: TrafficTools.ProduceOptions
    let logger: Logger

    func run() async throws {
        let stop = StopFlag()
        let (brokers, options, logger) = (self.brokers, self.options, self.logger)
        await withDiscardingTaskGroup { group in
            group.addTask {
                // The producer loop blocks; it gets a thread of its own.
                await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                    Thread {
                        do {
                            _ = try TrafficTools.produce(
                                brokers: brokers, options: options, logger: logger, interrupted: { stop.isSet })
                        } catch {
                            logger.error("demo traffic stopped: \(error)")
                        }
                        done.resume()
                    }.start()
                }
            }
            try? await gracefulShutdown()
            stop.set()
        }
    }
}

/// A flag one side sets (a signal handler, a shutdown) and a loop polls.
public final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    public init() {}
    public var isSet: Bool { flag.load(ordering: .relaxed) }
    public func set() { flag.store(true, ordering: .relaxed) }
}
