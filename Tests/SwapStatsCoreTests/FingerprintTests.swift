import SwapStatsCore
import SwapStatsTestSupport
import Testing

@Suite struct FingerprintTests {
    @Test func similarIDsNeverCollide() {
        // Ids that differ only in a counter, at every length class up to 80 bytes.
        var seen = Set<UInt64>()
        for i in 0..<1_000_000 {
            let prefix = String(repeating: "0", count: i % 80)
            seen.insert(Fingerprint.of("\(prefix):\(i)"))
        }
        #expect(seen.count == 1_000_000)
    }

    @Test func everyBitOfEveryByteMatters() {
        var rng = SplitMix64(seed: 11)
        for length in [1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 70] {
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let base = bytes.withUnsafeBytes { Fingerprint.of($0) }
            for i in 0..<length {
                for bit in 0..<8 {
                    var flipped = bytes
                    flipped[i] ^= UInt8(1 << bit)
                    #expect(
                        flipped.withUnsafeBytes { Fingerprint.of($0) } != base, "length \(length) byte \(i) bit \(bit)")
                }
            }
            // A longer input with a zero byte appended differs too (length is mixed in).
            #expect((bytes + [0]).withUnsafeBytes { Fingerprint.of($0) } != base)
        }
    }

    @Test func bitsAreBalanced() {
        // Each output bit is set in about half of the fingerprints of sequential ids.
        var ones = [Int](repeating: 0, count: 64)
        let n = 100_000
        for i in 0..<n {
            let h = Fingerprint.of("0x\(i)")
            for b in 0..<64 where h >> UInt64(b) & 1 == 1 { ones[b] += 1 }
        }
        for b in 0..<64 { #expect(abs(ones[b] - n / 2) < n / 50, "bit \(b): \(ones[b])") }
    }

    @Test func valuesAreFrozenBecauseSnapshotsPersistThem() {
        // Checkpoints hold fingerprints (dedup, wallets): changing the function is a
        // snapshot format change and must bump PartitionEngine.snapshotVersion.
        #expect(Fingerprint.of("") == 0x55ba_897d_2af3_577c)
        #expect(Fingerprint.of("swap") == 0x763e_812e_23a2_5d95)
        #expect(Fingerprint.of("0xabc:1") == 0x69ea_3c06_3a43_16c8)
        #expect(Fingerprint.of(String(repeating: "0123456789", count: 7)) == 0xabeb_f1a5_2ef2_3857)
    }
}
