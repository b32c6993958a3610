/// The trade ids one token keeps for the `(ts, id)` tie-break: the open (and close) trade
/// of each bucket, packed one after another in a single byte array and named by their
/// offset (a *handle*).
///
/// An id is needed only when a late event ties a bucket's open or close timestamp, so ids
/// are stored compactly and decoded only then. Two forms:
///
///     0x00  len−1  bytes                          any id (1–256 bytes)
///     0x01|p  n  packed[n]  s  suffix[s]          [p: "0x"] + 2n lowercase hex digits + suffix
///
/// `<txhash>:<logIndex>` ids (`0x` and 64 hex digits) take 39 bytes instead of 72.
/// Released ids become garbage until the owner compacts (``TokenState/compactIds()``).
struct IdArena: Sendable {
    /// The handle of no id.
    static let none: UInt32 = .max

    private(set) var bytes: [UInt8] = []
    /// Bytes of released ids still in `bytes`.
    private(set) var garbage = 0

    /// Bytes held, garbage included.
    var count: Int { bytes.count }

    /// Heap bytes allocated.
    var capacityBytes: Int { bytes.capacity }

    /// Whether enough is garbage that the owner should compact before appending.
    var wantsCompaction: Bool { garbage > 4_096 && garbage * 4 > bytes.count }

    /// Appends `id` and returns its handle.
    mutating func append(_ id: String) -> UInt32 {
        var id = id
        return id.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    /// Appends an id given as UTF-8 bytes and returns its handle.
    mutating func append(_ id: UnsafeRawBufferPointer) -> UInt32 {
        let handle = UInt32(bytes.count)
        reserve(id.count + 4)
        if let (prefixed, hexEnd) = Self.hexShape(id) {
            let start = prefixed ? 2 : 0
            let packed = (hexEnd - start) / 2
            bytes.append(prefixed ? 0x03 : 0x01)
            bytes.append(UInt8(packed))
            var i = start
            while i < hexEnd {
                bytes.append(Self.nibble(id[i]) << 4 | Self.nibble(id[i + 1]))
                i += 2
            }
            bytes.append(UInt8(id.count - hexEnd))
            bytes.append(contentsOf: id[hexEnd...])
        } else {
            bytes.append(0)
            bytes.append(UInt8(id.count - 1))
            bytes.append(contentsOf: id)
        }
        return handle
    }

    /// Marks the id at `handle` as garbage (no-op for ``none``).
    mutating func release(_ handle: UInt32) {
        guard handle != Self.none else { return }
        garbage += encodedSize(at: handle)
    }

    /// Bytes the id at `handle` takes in the arena.
    func encodedSize(at handle: UInt32) -> Int {
        let h = Int(handle)
        if bytes[h] == 0 { return 2 + Int(bytes[h + 1]) + 1 }
        let packed = Int(bytes[h + 1])
        return 2 + packed + 1 + Int(bytes[h + 2 + packed])
    }

    /// The id at `handle`, decoded to its UTF-8 bytes.
    func id(at handle: UInt32) -> [UInt8] {
        let h = Int(handle)
        if bytes[h] == 0 { return Array(bytes[(h + 2)..<(h + 3 + Int(bytes[h + 1]))]) }
        let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
        let packed = Int(bytes[h + 1])
        var out: [UInt8] = []
        out.reserveCapacity(2 + 2 * packed + 16)
        if bytes[h] & 0x02 != 0 { out += [UInt8(ascii: "0"), UInt8(ascii: "x")] }
        for b in bytes[(h + 2)..<(h + 2 + packed)] {
            out.append(hexDigits[Int(b >> 4)])
            out.append(hexDigits[Int(b & 0x0F)])
        }
        let s = h + 2 + packed
        out += bytes[(s + 1)..<(s + 1 + Int(bytes[s]))]
        return out
    }

    /// The id at `handle` as a string.
    func string(at handle: UInt32) -> String { String(decoding: id(at: handle), as: UTF8.self) }

    /// ``IdOrder`` comparison of the stored id with `other`.
    func compare(_ handle: UInt32, with other: String) -> Int {
        let stored = id(at: handle)
        var other = other
        return stored.withUnsafeBytes { a in other.withUTF8 { IdOrder.compare(a, UnsafeRawBufferPointer($0)) } }
    }

    /// Copies the id at `handle` into `target` and returns its handle there.
    func copy(_ handle: UInt32, into target: inout IdArena) -> UInt32 {
        let size = encodedSize(at: handle)
        let h = UInt32(target.bytes.count)
        target.bytes.append(contentsOf: bytes[Int(handle)..<(Int(handle) + size)])
        return h
    }

    /// Appends a second copy of the id at `handle` and returns the copy's handle.
    mutating func duplicate(_ handle: UInt32) -> UInt32 {
        let size = encodedSize(at: handle)
        reserve(size)
        let h = UInt32(bytes.count)
        for i in Int(handle)..<(Int(handle) + size) { bytes.append(bytes[i]) }
        return h
    }

    /// Writes the id at `handle` in its encoded form (as ``readEncoded(_:)`` reads it).
    func writeEncoded(_ handle: UInt32, into w: inout BinaryWriter) {
        let h = Int(handle)
        w.raw(bytes[h..<(h + encodedSize(at: handle))])
    }

    /// Reads an id in its encoded form, checks it, and appends it; returns its handle.
    /// - Throws: ``SnapshotError/corrupt(_:)`` for a malformed id (never traps).
    mutating func readEncoded(_ r: inout BinaryReader) throws(SnapshotError) -> UInt32 {
        let handle = UInt32(bytes.count)
        let tag = try r.u8()
        switch tag {
        case 0:
            let n = Int(try r.u8()) + 1
            let id = try r.bytes(n)
            guard UTF8Scan.validate(id.baseAddress!, count: n) != .invalid else { throw .corrupt("id is not UTF-8") }
            reserve(n + 2)
            bytes.append(0)
            bytes.append(UInt8(n - 1))
            bytes.append(contentsOf: id)
        case 1, 3:
            let n = Int(try r.u8())
            let packed = try r.bytes(n)
            let s = Int(try r.u8())
            let suffix = try r.bytes(s)
            let length = (tag == 3 ? 2 : 0) + 2 * n + s
            guard n >= 8, length <= 256 else { throw .corrupt("packed id of \(length) bytes") }
            guard s == 0 || UTF8Scan.validate(suffix.baseAddress!, count: s) != .invalid else {
                throw .corrupt("id is not UTF-8")
            }
            reserve(n + s + 3)
            bytes.append(tag)
            bytes.append(UInt8(n))
            bytes.append(contentsOf: packed)
            bytes.append(UInt8(s))
            bytes.append(contentsOf: suffix)
        default: throw .corrupt("unknown id form \(tag)")
        }
        return handle
    }

    /// An empty arena with room for `capacity` bytes.
    static func reserved(_ capacity: Int) -> IdArena {
        var a = IdArena()
        a.bytes.reserveCapacity(capacity)
        return a
    }

    /// Grows by a quarter (not the array's doubling) when `extra` bytes do not fit.
    private mutating func reserve(_ extra: Int) {
        let need = bytes.count + extra
        guard need > bytes.capacity else { return }
        bytes.reserveCapacity(max(need, bytes.count + bytes.count / 4, 64))
    }

    /// `("0x" prefixed?, end of the hex run)` when `id` is worth packing: an optional `0x`,
    /// then at least 16 lowercase hex digits (an even number is packed), then at most 255
    /// bytes of anything.
    private static func hexShape(_ id: UnsafeRawBufferPointer) -> (Bool, Int)? {
        let prefixed = id.count >= 2 && id[0] == UInt8(ascii: "0") && id[1] == UInt8(ascii: "x")
        var i = prefixed ? 2 : 0
        let start = i
        while i < id.count && i - start < 510 && isHexDigit(id[i]) { i += 1 }
        let end = start + (i - start) & ~1
        guard end - start >= 16, id.count - end <= 255 else { return nil }
        return (prefixed, end)
    }

    @inline(__always)
    private static func isHexDigit(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "f"))
    }

    @inline(__always)
    private static func nibble(_ b: UInt8) -> UInt8 { b <= UInt8(ascii: "9") ? b &- 48 : b &- 87 }
}
