import SwapStatsTestSupport
import Testing

@testable import SwapStatsCore

@Suite struct ReorderBufferTests {
    private func event(_ id: String, _ ts: Int64) -> SwapEvent {
        SwapEvent(id: id, token: "t", who: "w", side: .buy, amount: 1, usd: 1, ts: ts)
    }

    /// Releases everything before `bound` and returns it in release order.
    private func drain(_ buffer: inout ReorderBuffer, before bound: Int64) -> [SwapEvent] {
        var out: [SwapEvent] = []
        buffer.release(before: bound) { out.append($0) }
        return out
    }

    private func isSorted(_ events: [SwapEvent]) -> Bool {
        zip(events, events.dropFirst()).allSatisfy { a, b in
            a.ts != b.ts ? a.ts < b.ts : IdOrder.compare(a.id, b.id) <= 0
        }
    }

    /// Small slices (insertion sort) and bursts in one slice (a replay with equal
    /// timestamps: the O(n log n) sort), in order, reversed and shuffled.
    @Test(arguments: [1, 2, 5, 31, 32, 33, 200, 20_000])
    func everySliceComesOutInTsThenIdOrder(perSlice: Int) {
        var rng = SplitMix64(seed: UInt64(perSlice))
        for arrangement in 0..<3 {
            var buffer = ReorderBuffer(lateness: 5_000)
            var pushed: [SwapEvent] = []
            for slice in 0..<3 {
                var batch = (0..<perSlice).map { i in
                    // Ids of different lengths and shapes, as IdOrder compares them.
                    event(i % 3 == 0 ? "0x\(i)" : "id-\(i * 7 % 1000):\(i)", 1_000 + Int64(slice) * 10 + Int64(i % 2))
                }
                switch arrangement {
                case 0: break
                case 1: batch.reverse()
                default: batch.shuffle(using: &rng)
                }
                pushed += batch
            }
            for e in pushed { buffer.push(e) }
            let out = drain(&buffer, before: 1_015)
            #expect(out.count == 2 * perSlice)
            #expect(isSorted(out), "perSlice \(perSlice), arrangement \(arrangement)")
            let rest = drain(&buffer, before: .max)
            #expect(rest.count == perSlice && isSorted(rest))
            #expect(buffer.isEmpty)
            #expect(Set((out + rest).map(\.id)).count == Set(pushed.map(\.id)).count)
        }
    }
}
