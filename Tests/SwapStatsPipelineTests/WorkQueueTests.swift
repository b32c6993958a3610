import Dispatch
import Foundation
import SwapStatsTestSupport
import Synchronization
import Testing

@testable import SwapStatsPipeline

@Suite struct WorkQueueTests {
    @Test func aFullQueueRefusesTryPushAndBlocksPushUntilAnItemIsTaken() {
        let queue = WorkQueue<Int>()
        #expect(queue.tryPush(1, below: 2))
        #expect(queue.tryPush(2, below: 2))
        #expect(!queue.tryPush(3, below: 2))
        queue.pushControl(-1)  // control items never wait and do not count
        #expect(queue.depth == 2)

        let pushed = Atomic<Bool>(false)
        let done = DispatchSemaphore(value: 0)
        Thread {
            queue.push(3, waitingBelow: 2)
            pushed.store(true, ordering: .relaxed)
            done.signal()
        }.start()
        // The pusher is waiting for room, and has not pushed.
        #expect(waitUntil(seconds: 10) { queue.waitingPushers == 1 })
        let pushedEarly = pushed.load(ordering: .relaxed)
        #expect(!pushedEarly)
        #expect(queue.depth == 2)
        #expect(queue.pop(timeout: 1, isData: { $0 >= 0 }) == 1)
        #expect(done.wait(timeout: .now() + 5) == .success)
        // FIFO across data and control items.
        #expect(queue.pop(timeout: 1, isData: { $0 >= 0 }) == 2)
        #expect(queue.pop(timeout: 1, isData: { $0 >= 0 }) == -1)
        #expect(queue.pop(timeout: 1, isData: { $0 >= 0 }) == 3)
        #expect(queue.pop(timeout: 0.05, isData: { $0 >= 0 }) == nil)
        #expect(queue.depth == 0)
    }
}
