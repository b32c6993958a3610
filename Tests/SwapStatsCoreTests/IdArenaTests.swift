import SwapStatsTestSupport
import Testing

@testable import SwapStatsCore

@Suite struct IdArenaTests {
    /// Ids of every shape the arena packs or keeps raw.
    static func randomID(_ rng: inout SplitMix64) -> String {
        let hex = Array("0123456789abcdef")
        let other = Array("ABCDEFxyz:-_.0123456789é世")
        var s = ""
        switch rng.int(0...5) {
        case 0: s = "0x" + String((0..<64).map { _ in hex[rng.int(0...15)] }) + ":\(rng.int(0...600))"
        case 1: s = String((0..<rng.int(1...80)).map { _ in hex[rng.int(0...15)] })
        case 2: s = "0x" + String((0..<rng.int(0...40)).map { _ in hex[rng.int(0...15)] })
        case 3: s = String((0..<rng.int(1...256)).map { _ in hex[rng.int(0...15)] })
        case 4: s = String((0..<rng.int(1...60)).map { _ in other[rng.int(0...(other.count - 1))] })
        default:
            s =
                String((0..<rng.int(16...90)).map { _ in hex[rng.int(0...15)] }) + String(other[rng.int(0...5)])
                + String((0..<rng.int(0...30)).map { _ in hex[rng.int(0...15)] })
        }
        while s.utf8.count > 256 { s.removeLast() }
        return s.isEmpty ? "x" : s
    }

    @Test func everyIdComesBackByteForByteAndOrdersAsItsBytes() {
        var rng = SplitMix64(seed: 5)
        var arena = IdArena()
        var stored: [(UInt32, String)] = []
        for _ in 0..<5_000 {
            let id = Self.randomID(&rng)
            stored.append((arena.append(id), id))
        }
        for (handle, id) in stored {
            #expect(arena.id(at: handle) == Array(id.utf8), "\(id)")
            #expect(arena.string(at: handle) == id)
        }
        for _ in 0..<5_000 {
            let (h, a) = stored[rng.int(0...(stored.count - 1))]
            let b = stored[rng.int(0...(stored.count - 1))].1
            #expect((arena.compare(h, with: b) < 0) == IdOrder.precedes(a, b), "\(a) vs \(b)")
            #expect((arena.compare(h, with: b) == 0) == (a == b))
        }
    }

    @Test func theSideSlotIsRewrittenInPlaceAndJoinsTheArenaWhenAsked() {
        var rng = SplitMix64(seed: 12)
        var arena = IdArena()
        let kept = arena.append("0xkept")
        var ids: [String] = []
        for _ in 0..<200 {
            let id = Self.randomID(&rng)
            ids.append(id)
            arena.setLast(id)
            #expect(arena.string(at: IdArena.last) == id)
            let other = Self.randomID(&rng)
            #expect((arena.compare(IdArena.last, with: other) < 0) == IdOrder.precedes(id, other))
        }
        // Rewriting the side slot two hundred times left the arena as it was.
        #expect(arena.count == arena.encodedSize(at: kept) && arena.garbage == 0)
        arena.release(IdArena.last)
        #expect(arena.garbage == 0)
        let settled = arena.appendLast()
        #expect(arena.string(at: settled) == ids.last! && arena.string(at: kept) == "0xkept")
        // Copies (a checkpoint's arena) and encoded writes take the side slot's id as any other.
        var target = IdArena()
        let copied = arena.copy(IdArena.last, into: &target)
        #expect(target.string(at: copied) == ids.last!)
        var w = BinaryWriter()
        arena.writeEncoded(IdArena.last, into: &w)
        let read = try? w.bytes.reading { (r: inout BinaryReader) throws(SnapshotError) in try target.readEncoded(&r) }
        #expect(read.map { target.string(at: $0) } == ids.last!)
    }

    @Test func transactionHashIdsArePackedToAboutHalf() {
        var arena = IdArena()
        let id = "0x" + String(repeating: "0123456789abcdef", count: 4) + ":17"
        let handle = arena.append(id)
        #expect(arena.encodedSize(at: handle) == 1 + 1 + 32 + 1 + 3)
        #expect(arena.string(at: handle) == id)
    }

    @Test func encodedIdsSurviveACheckpointRoundTripAndBadOnesAreRefused() throws {
        var rng = SplitMix64(seed: 9)
        var arena = IdArena()
        var w = BinaryWriter()
        var ids: [String] = []
        for _ in 0..<500 {
            let id = Self.randomID(&rng)
            ids.append(id)
            let handle = arena.append(id)
            arena.writeEncoded(handle, into: &w)
        }
        var copy = IdArena()
        let handles = try w.bytes.reading { (r: inout BinaryReader) throws(SnapshotError) in
            try ids.map { _ throws(SnapshotError) in try copy.readEncoded(&r) }
        }
        #expect(handles.map { copy.string(at: $0) } == ids)
        // A form tag that does not exist, and a packed id longer than 256 bytes.
        for bad: [UInt8] in [[7, 0, 65], [1, 200] + [UInt8](repeating: 0x11, count: 200) + [0]] {
            var target = IdArena()
            #expect(throws: SnapshotError.self) {
                try bad.reading { (r: inout BinaryReader) throws(SnapshotError) in _ = try target.readEncoded(&r) }
            }
        }
    }
}

/// Whole tokens are written as the records' bytes: their layouts are part of the format.
@Suite struct RecordLayoutTests {
    @Test func checkpointRecordsHaveTheirDocumentedSizes() {
        #expect(MemoryLayout<BucketSlot>.size == 36 && MemoryLayout<BucketSlot>.stride == 36)
        #expect(MemoryLayout<MultiBucket>.size == 88 && MemoryLayout<MultiBucket>.stride == 88)
        #expect(MemoryLayout<WalletTable.Entry>.stride == 12)
        let slot = BucketSlot(index: 7, bits: 1, openTs: 9, openId: 11, a: 0x1234_5678_9ABC_DEF0, b: 2.5, c: -1e-9)
        #expect(slot.a == 0x1234_5678_9ABC_DEF0 && slot.b == 2.5 && slot.c == -1e-9)
    }

    @Test func narrowWalletTablesKeepBucketsAcrossRebases() {
        var table = WalletTable(narrow: true)
        table.rebuild(reserving: 10) { _ in true }
        let s = table.insert(41)
        var e = table[s]
        // Buckets 100,000 apart: the base moves up twice; the newest bucket stays exact.
        for bucket in stride(from: Int64(5_000_000_000), through: 5_000_200_000, by: 1_000) {
            e.key |= WalletTable.Entry.hasBuy
            e.buy = UInt32(truncatingIfNeeded: bucket)
            table[s] = e
            #expect(TokenState.widen(table[s].buy, against: bucket) == bucket)
        }
        #expect(table.find(41) == s && table[s].number == 41)
    }
}
