/// A fast, stable 64-bit hash of bytes (a wyhash-style multiply-fold).
///
/// Stable across processes and versions of this format (snapshots persist fingerprints),
/// never zero (zero marks an empty slot in ``FingerprintTable``).
public enum Fingerprint {
    @usableFromInline static let k0: UInt64 = 0xa076_1d64_78bd_642f
    @usableFromInline static let k1: UInt64 = 0xe703_7ed1_a0b4_28db
    @usableFromInline static let k2: UInt64 = 0x8ebc_6af0_9c88_c6e3

    @inlinable @inline(__always)
    static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let p = a.multipliedFullWidth(by: b)
        return p.high ^ p.low
    }

    /// The fingerprint of `bytes`.
    @inlinable
    public static func of(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h = k0 ^ UInt64(bytes.count)
        var i = 0
        let n = bytes.count
        while i + 16 <= n {
            // Sixteen bytes per multiply (wyhash's folding of two words).
            let a = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            let b = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self))
            h = mix(a ^ k1 ^ h, b ^ k2)
            i += 16
        }
        if i + 8 <= n {
            let w = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            h = mix(h ^ w ^ k1, k2 ^ h)
            i += 8
        }
        if i < n {
            var w: UInt64 = 0
            var shift: UInt64 = 0
            while i < n {
                w |= UInt64(bytes[i]) << shift
                shift += 8
                i += 1
            }
            h = mix(h ^ w ^ k1, k2 ^ h)
        }
        h = mix(h ^ k2, k1 ^ UInt64(n))
        return h == 0 ? 1 : h
    }

    /// The fingerprint of a string's UTF-8 bytes.
    @inlinable
    public static func of(_ string: String) -> UInt64 {
        var s = string
        return s.withUTF8 { of(UnsafeRawBufferPointer($0)) }
    }
}
