import Foundation
import Synchronization

/// A fresh empty directory under the system's temporary directory, named after `name`,
/// removed with every other one when the test process exits (kept when
/// `SWAPSTATS_KEEP_TEST_DIRS` is set, to look at after a failure).
public func scratchDirectory(_ name: String) -> String {
    let path = NSTemporaryDirectory() + "swapstats-\(name)-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    let first = scratchDirectories.withLock { paths in
        paths.append(path)
        return paths.count == 1
    }
    if first { atexit { removeScratchDirectories() } }
    return path
}

private let scratchDirectories = Mutex<[String]>([])

private func removeScratchDirectories() {
    guard ProcessInfo.processInfo.environment["SWAPSTATS_KEEP_TEST_DIRS"] == nil else { return }
    for path in scratchDirectories.withLock({ $0 }) { try? FileManager.default.removeItem(atPath: path) }
}
