import Dispatch

/// Runs the HTTP layer's query tasks on a queue of their own, so answers never wait for
/// the shared cooperative pool (two threads on a two-core machine, and occupied by whoever
/// blocks it) and never run on an event loop.
final class QueryExecutor: TaskExecutor, @unchecked Sendable {
    // `@unchecked Sendable`: the only state is a DispatchQueue, which is thread-safe.
    private let queue = DispatchQueue(label: "swapstats.http.queries", attributes: .concurrent)

    static let shared = QueryExecutor()

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
