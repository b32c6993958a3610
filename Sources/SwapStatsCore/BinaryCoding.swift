/// Appends little-endian values to a byte buffer (checkpoint encoding).
struct BinaryWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }
    mutating func int(_ v: Int) { i64(Int64(v)) }
    mutating func f64(_ v: Double) { u64(v.bitPattern) }
    mutating func dd(_ v: DoubleDouble) {
        f64(v.hi)
        f64(v.lo)
    }
    mutating func string(_ s: String) {
        u32(UInt32(s.utf8.count))
        bytes.append(contentsOf: s.utf8)
    }
    mutating func raw(_ b: some Sequence<UInt8>) { bytes.append(contentsOf: b) }

    /// Overwrites four bytes at `offset` (a count written before what it counts).
    mutating func patch(u32 v: UInt32, at offset: Int) {
        withUnsafeBytes(of: v.littleEndian) { for i in 0..<4 { bytes[offset + i] = $0[i] } }
    }

    /// Overwrites eight bytes at `offset`.
    mutating func patch(u64 v: UInt64, at offset: Int) {
        withUnsafeBytes(of: v.littleEndian) { for i in 0..<8 { bytes[offset + i] = $0[i] } }
    }
}

/// Reads what ``BinaryWriter`` wrote from borrowed bytes; every read is bounds-checked and
/// throws on short or nonsensical input, never traps.
///
/// - Important: it borrows its bytes: use it only inside the `withUnsafeBytes` that lent them.
struct BinaryReader {
    let base: UnsafeRawBufferPointer
    var offset: Int
    let end: Int

    init(_ base: UnsafeRawBufferPointer, from start: Int = 0, to end: Int? = nil) {
        self.base = base
        self.offset = start
        self.end = end ?? base.count
    }

    var isAtEnd: Bool { offset == end }
    var remaining: Int { end - offset }

    @inline(__always)
    private mutating func take(_ n: Int) throws(SnapshotError) -> Int {
        guard n >= 0, end - offset >= n else { throw .truncated }
        defer { offset += n }
        return offset
    }

    mutating func u8() throws(SnapshotError) -> UInt8 { base[try take(1)] }

    mutating func u16() throws(SnapshotError) -> UInt16 {
        UInt16(littleEndian: base.loadUnaligned(fromByteOffset: try take(2), as: UInt16.self))
    }

    mutating func u32() throws(SnapshotError) -> UInt32 {
        UInt32(littleEndian: base.loadUnaligned(fromByteOffset: try take(4), as: UInt32.self))
    }

    mutating func u64() throws(SnapshotError) -> UInt64 {
        UInt64(littleEndian: base.loadUnaligned(fromByteOffset: try take(8), as: UInt64.self))
    }

    mutating func i64() throws(SnapshotError) -> Int64 { Int64(bitPattern: try u64()) }
    mutating func f64() throws(SnapshotError) -> Double { Double(bitPattern: try u64()) }
    mutating func dd() throws(SnapshotError) -> DoubleDouble { DoubleDouble(hi: try f64(), lo: try f64()) }

    /// The next `n` bytes, borrowed.
    mutating func bytes(_ n: Int) throws(SnapshotError) -> UnsafeRawBufferPointer {
        let o = try take(n)
        return UnsafeRawBufferPointer(rebasing: base[o..<(o + n)])
    }

    /// A count of items that each take at least `minimumBytes`, checked against what is left.
    mutating func count(minimumBytes: Int) throws(SnapshotError) -> Int {
        let n = try i64()
        guard n >= 0, n <= Int64(end - offset) / Int64(max(minimumBytes, 1)) else {
            throw .corrupt("count \(n) exceeds the remaining bytes")
        }
        return Int(n)
    }

    /// A length-prefixed UTF-8 string.
    mutating func string() throws(SnapshotError) -> String {
        let n = Int(try u32())
        let b = try bytes(n)
        guard n == 0 || UTF8Scan.validate(b.baseAddress!, count: n) != .invalid else {
            throw .corrupt("string is not UTF-8")
        }
        return String(decoding: b, as: UTF8.self)
    }
}

/// Why a snapshot could not be restored. A snapshot that fails any check is never loaded.
public enum SnapshotError: Error, Sendable, Equatable, CustomStringConvertible {
    case badMagic
    case unsupportedVersion(UInt16)
    case checksumMismatch
    case truncated
    case corrupt(String)
    /// The snapshot was taken under other windows, step or semantics.
    case configurationMismatch(String)

    public var description: String {
        switch self {
        case .badMagic: "not a swapstats snapshot (bad magic)"
        case .unsupportedVersion(let v): "unsupported snapshot version \(v)"
        case .checksumMismatch: "snapshot checksum mismatch (corrupt or torn write)"
        case .truncated: "snapshot truncated"
        case .corrupt(let why): "corrupt snapshot: \(why)"
        case .configurationMismatch(let why): "snapshot taken under another configuration: \(why)"
        }
    }
}

extension Array where Element == UInt8 {
    /// Runs `body` with a reader over these bytes (typed throws kept).
    func reading<R>(_ body: (inout BinaryReader) throws(SnapshotError) -> R) throws(SnapshotError) -> R {
        let result: Result<R, SnapshotError> = withUnsafeBytes { raw in
            var r = BinaryReader(raw)
            do throws(SnapshotError) { return .success(try body(&r)) } catch { return .failure(error) }
        }
        return try result.get()
    }
}
