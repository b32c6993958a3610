/// The order of trade ids in the `(ts, id)` tie-break: their UTF-8 bytes, compared
/// lexicographically (a proper prefix comes first). It is Unicode code-point order, needs no
/// normalisation, and two distinct ids never compare equal.
public enum IdOrder {
    /// Whether `a` comes before `b`.
    @inlinable
    public static func precedes(_ a: String, _ b: String) -> Bool { compare(a, b) < 0 }

    /// Negative, zero or positive as `a` comes before, equals or comes after `b`.
    @inlinable
    public static func compare(_ a: String, _ b: String) -> Int {
        let fast = a.utf8.withContiguousStorageIfAvailable { x in
            b.utf8.withContiguousStorageIfAvailable { y in compare(UnsafeRawBufferPointer(x), UnsafeRawBufferPointer(y))
            }
        }
        if let result = fast ?? nil { return result }
        return Array(a.utf8).withUnsafeBytes { x in Array(b.utf8).withUnsafeBytes { y in compare(x, y) } }
    }

    /// Byte-wise comparison of two buffers.
    @inlinable
    public static func compare(_ x: UnsafeRawBufferPointer, _ y: UnsafeRawBufferPointer) -> Int {
        let n = min(x.count, y.count)
        var i = 0
        while i + 8 <= n {
            let a = UInt64(bigEndian: x.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            let b = UInt64(bigEndian: y.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            if a != b { return a < b ? -1 : 1 }
            i += 8
        }
        while i < n {
            if x[i] != y[i] { return x[i] < y[i] ? -1 : 1 }
            i += 1
        }
        return x.count - y.count
    }
}
