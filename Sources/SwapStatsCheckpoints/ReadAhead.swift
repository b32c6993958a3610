import Dispatch
import Synchronization

/// Reads blobs on a thread of its own, at most `depth` ahead, while the caller applies them
/// in order: a restore reads (and faults in the buffers of) the next base piece on the
/// second core while the first lays out the current one.
enum ReadAhead {
    /// Calls `apply` with each of `names`' bytes, in order.
    /// - Throws: the first error of `read` or `apply`; nothing is read after it.
    static func each(
        _ names: [String], depth: Int = 2, read: @escaping @Sendable (String) throws(CheckpointError) -> [UInt8],
        apply: ([UInt8]) throws -> Void
    ) throws {
        guard names.count > 1 else {
            for name in names { try apply(try read(name)) }
            return
        }
        let slots = names.map { _ in Slot() }
        let room = DispatchSemaphore(value: depth)
        let stop = Atomic<Bool>(false)
        let finished = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            for (name, slot) in zip(names, slots) {
                room.wait()
                if stop.load(ordering: .acquiring) { break }
                let result = Result { () throws(CheckpointError) -> [UInt8] in try read(name) }
                slot.value.withLock { $0 = result }
                slot.ready.signal()
            }
            finished.signal()
        }
        defer {
            // Let the reader see the stop (it may wait for room) and wait for it to end.
            stop.store(true, ordering: .releasing)
            for _ in 0..<names.count { room.signal() }
            finished.wait()
        }
        for slot in slots {
            slot.ready.wait()
            let result = slot.value.withLock { v in
                defer { v = nil }
                return v!
            }
            room.signal()
            try apply(try result.get())
        }
    }

    private final class Slot: Sendable {
        let ready = DispatchSemaphore(value: 0)
        let value = Mutex<Result<[UInt8], CheckpointError>?>(nil)
    }
}
