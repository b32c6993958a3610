import Synchronization
import Testing

@testable import SwapStatsCheckpoints

@Suite struct ReadAheadTests {
    @Test(arguments: [0, 1, 2, 7, 64])
    func blobsAreAppliedInOrder(count: Int) throws {
        let names = (0..<count).map { "b\($0)" }
        var applied: [String] = []
        try ReadAhead.each(names) { name throws(CheckpointError) in
            Array(name.utf8)
        } apply: {
            applied.append(String(decoding: $0, as: UTF8.self))
        }
        #expect(applied == names)
    }

    @Test func aReadErrorReachesTheCallerAfterTheBlobsBeforeIt() {
        let names = (0..<10).map { "b\($0)" }
        var applied = 0
        #expect(throws: CheckpointError.corrupt("b4")) {
            try ReadAhead.each(names) { name throws(CheckpointError) in
                if name == "b4" { throw .corrupt(name) }
                return [1]
            } apply: { _ in
                applied += 1
            }
        }
        #expect(applied == 4)
    }

    /// An apply that fails stops the reader: at most `depth` blobs are read past it, and
    /// the call returns (no reader left waiting).
    @Test func anApplyErrorStopsTheReading() {
        struct Refused: Error {}
        let names = (0..<50).map { "b\($0)" }
        let reads = Atomic<Int>(0)
        #expect(throws: Refused.self) {
            try ReadAhead.each(names, depth: 2) { _ throws(CheckpointError) in
                reads.add(1, ordering: .relaxed)
                return [1]
            } apply: { _ in
                throw Refused()
            }
        }
        #expect(reads.load(ordering: .relaxed) <= 3)
    }
}
