/// Appends little-endian values to a byte buffer (snapshot encoding).
struct BinaryWriter {
    var bytes: [UInt8] = []

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
}

/// Reads what ``BinaryWriter`` wrote; every read is bounds-checked and throws on short or
/// nonsensical input, never traps.
struct BinaryReader {
    let bytes: [UInt8]
    var offset: Int
    let end: Int

    init(_ bytes: [UInt8], from start: Int = 0, to end: Int? = nil) {
        self.bytes = bytes
        self.offset = start
        self.end = end ?? bytes.count
    }

    var isAtEnd: Bool { offset == end }

    private mutating func take(_ n: Int) throws(SnapshotError) -> Int {
        guard n >= 0, end - offset >= n else { throw .truncated }
        defer { offset += n }
        return offset
    }

    mutating func u8() throws(SnapshotError) -> UInt8 { bytes[try take(1)] }

    mutating func u16() throws(SnapshotError) -> UInt16 {
        let o = try take(2)
        return UInt16(bytes[o]) | UInt16(bytes[o + 1]) << 8
    }

    mutating func u32() throws(SnapshotError) -> UInt32 {
        let o = try take(4)
        var v: UInt32 = 0
        for i in (0..<4).reversed() { v = v << 8 | UInt32(bytes[o + i]) }
        return v
    }

    mutating func u64() throws(SnapshotError) -> UInt64 {
        let o = try take(8)
        var v: UInt64 = 0
        for i in (0..<8).reversed() { v = v << 8 | UInt64(bytes[o + i]) }
        return v
    }

    mutating func i64() throws(SnapshotError) -> Int64 { Int64(bitPattern: try u64()) }
    mutating func f64() throws(SnapshotError) -> Double { Double(bitPattern: try u64()) }
    mutating func dd() throws(SnapshotError) -> DoubleDouble { DoubleDouble(hi: try f64(), lo: try f64()) }

    /// A count of items that each take at least `minimumBytes`, checked against what is left.
    mutating func count(minimumBytes: Int) throws(SnapshotError) -> Int {
        let n = try i64()
        guard n >= 0, n <= Int64(end - offset) / Int64(max(minimumBytes, 1)) else {
            throw .corrupt("count \(n) exceeds the remaining bytes")
        }
        return Int(n)
    }

    mutating func string() throws(SnapshotError) -> String {
        let n = Int(try u32())
        let o = try take(n)
        guard let s = String(validating: bytes[o..<o + n], as: UTF8.self) else { throw .corrupt("string is not UTF-8") }
        return s
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
