import Foundation
import ServiceLifecycle

/// A component that runs a thread of its own (the Redis publisher and subscriber) as a
/// service: started with the group, stopped in its turn at graceful shutdown (the group
/// stops services in reverse order, each after the one behind it finished).
struct ThreadService: Service {
    let start: @Sendable () -> Void
    /// Blocks until the thread is done; it runs on a thread of its own, off the
    /// cooperative pool.
    let stop: @Sendable () -> Void

    func run() async throws {
        start()
        // A cancelled group (no graceful shutdown) stops it too.
        try? await gracefulShutdown()
        let stop = self.stop
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            Thread {
                stop()
                done.resume()
            }.start()
        }
    }
}
