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
///
/// The close id of the newest bucket changes with every trade in order, so it lives
/// apart, in one slot rewritten in place (handle ``last``), and joins the arena only when
/// a newer bucket opens (``appendLast()``): trades in order leave no garbage behind.
struct IdArena: Sendable {
    /// The handle of no id.
    static let none: UInt32 = .max
    /// The handle of the id in the side slot (the newest bucket's close).
    static let last: UInt32 = .max - 1

    private(set) var bytes: [UInt8] = []
    /// The side slot: the id at handle ``last``, encoded.
    private(set) var lastBytes: [UInt8] = []
    /// Bytes of released ids still in `bytes`.
    private(set) var garbage = 0

    /// Bytes held, garbage included.
    var count: Int { bytes.count }

    /// Heap bytes allocated.
    var capacityBytes: Int { bytes.capacity + lastBytes.capacity }

    /// Whether enough is garbage that the owner should compact before appending.
    var wantsCompaction: Bool { garbage > 4_096 && garbage * 4 > bytes.count }

    /// Appends `id` and returns its handle.
    mutating func append(_ id: String) -> UInt32 {
        if let h = id.utf8.withContiguousStorageIfAvailable({ append(UnsafeRawBufferPointer($0)) }) { return h }
        let bytes = Array(id.utf8)
        return bytes.withUnsafeBytes { append($0) }
    }

    /// Appends an id given as UTF-8 bytes and returns its handle.
    mutating func append(_ id: UnsafeRawBufferPointer) -> UInt32 {
        let handle = UInt32(truncatingIfNeeded: bytes.count)
        withUnsafeTemporaryAllocation(byteCount: 264, alignment: 8) { scratch in
            let size = Self.encode(id, into: scratch.baseAddress!)
            reserve(size)
            bytes.append(contentsOf: UnsafeRawBufferPointer(start: scratch.baseAddress!, count: size))
        }
        return handle
    }

    /// Puts `id` in the side slot (handle ``last``), replacing what it held.
    mutating func setLast(_ id: String) {
        var id = id
        id.withUTF8 { utf8 in
            withUnsafeTemporaryAllocation(byteCount: 264, alignment: 8) { scratch in
                let size = Self.encode(UnsafeRawBufferPointer(utf8), into: scratch.baseAddress!)
                lastBytes.removeAll(keepingCapacity: true)
                lastBytes.append(contentsOf: UnsafeRawBufferPointer(start: scratch.baseAddress!, count: size))
            }
        }
    }

    /// Appends the side slot's id to the arena and returns its handle there.
    mutating func appendLast() -> UInt32 {
        let handle = UInt32(truncatingIfNeeded: bytes.count)
        reserve(lastBytes.count)
        bytes.append(contentsOf: lastBytes)
        return handle
    }

    /// Writes the encoded form of `id` at `out` (room for 260 bytes); returns its size.
    @inline(__always)
    private static func encode(_ id: UnsafeRawBufferPointer, into out: UnsafeMutableRawPointer) -> Int {
        let n = id.count
        let src = id.baseAddress!
        if let (prefixed, hexEnd) = hexShape(id) {
            let start = prefixed ? 2 : 0
            let packed = (hexEnd &- start) / 2
            out.storeBytes(of: prefixed ? 0x03 : 0x01, as: UInt8.self)
            out.storeBytes(of: UInt8(truncatingIfNeeded: packed), toByteOffset: 1, as: UInt8.self)
            var i = start
            var o = 2
            // Sixteen digits (eight bytes) at a time, then pairs.
            while i &+ 16 <= hexEnd {
                let a = pack8(UInt64(littleEndian: src.loadUnaligned(fromByteOffset: i, as: UInt64.self)))
                let b = pack8(UInt64(littleEndian: src.loadUnaligned(fromByteOffset: i &+ 8, as: UInt64.self)))
                out.storeBytes(of: (a | b &<< 32).littleEndian, toByteOffset: o, as: UInt64.self)
                i &+= 16
                o &+= 8
            }
            while i < hexEnd {
                let hi = nibble(src.load(fromByteOffset: i, as: UInt8.self))
                let lo = nibble(src.load(fromByteOffset: i &+ 1, as: UInt8.self))
                out.storeBytes(of: hi &<< 4 | lo, toByteOffset: o, as: UInt8.self)
                i &+= 2
                o &+= 1
            }
            out.storeBytes(of: UInt8(truncatingIfNeeded: n &- hexEnd), toByteOffset: o, as: UInt8.self)
            (out + (o &+ 1)).copyMemory(from: src + hexEnd, byteCount: n &- hexEnd)
            return o &+ 1 &+ n &- hexEnd
        }
        out.storeBytes(of: 0, as: UInt8.self)
        out.storeBytes(of: UInt8(truncatingIfNeeded: n &- 1), toByteOffset: 1, as: UInt8.self)
        (out + 2).copyMemory(from: src, byteCount: n)
        return n &+ 2
    }

    /// Marks the id at `handle` as garbage (no-op for ``none`` and ``last``).
    mutating func release(_ handle: UInt32) {
        guard handle < Self.last else { return }
        garbage += encodedSize(at: handle)
    }

    /// The bytes holding the id at `handle` and where it starts in them.
    @inline(__always)
    private func locate(_ handle: UInt32) -> (bytes: [UInt8], start: Int) {
        handle == Self.last ? (lastBytes, 0) : (bytes, Int(handle))
    }

    /// Bytes the id at `handle` takes in the arena.
    func encodedSize(at handle: UInt32) -> Int {
        let (bytes, h) = locate(handle)
        if bytes[h] == 0 { return 2 + Int(bytes[h + 1]) + 1 }
        let packed = Int(bytes[h + 1])
        return 2 + packed + 1 + Int(bytes[h + 2 + packed])
    }

    /// The id at `handle`, decoded to its UTF-8 bytes.
    func id(at handle: UInt32) -> [UInt8] {
        let (bytes, h) = locate(handle)
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
        return stored.withUnsafeBytes { a in
            other.utf8.withContiguousStorageIfAvailable { IdOrder.compare(a, UnsafeRawBufferPointer($0)) }
                ?? Array(other.utf8).withUnsafeBytes { IdOrder.compare(a, $0) }
        }
    }

    /// Copies the id at `handle` into `target`'s arena (the side slot's too) and returns
    /// its handle there.
    func copy(_ handle: UInt32, into target: inout IdArena) -> UInt32 {
        let size = encodedSize(at: handle)
        let (bytes, start) = locate(handle)
        let h = UInt32(target.bytes.count)
        target.bytes.append(contentsOf: bytes[start..<(start + size)])
        return h
    }

    /// Moves the side slot's id to `target`'s side slot.
    func copyLast(into target: inout IdArena) { target.lastBytes = lastBytes }

    /// Appends a second copy of the id at `handle` and returns the copy's handle.
    mutating func duplicate(_ handle: UInt32) -> UInt32 {
        if handle == Self.last { return appendLast() }
        let size = encodedSize(at: handle)
        reserve(size)
        let h = UInt32(bytes.count)
        for i in Int(handle)..<(Int(handle) + size) { bytes.append(bytes[i]) }
        return h
    }

    /// Writes the id at `handle` in its encoded form (as ``readEncoded(_:)`` reads it).
    func writeEncoded(_ handle: UInt32, into w: inout BinaryWriter) {
        let (bytes, h) = locate(handle)
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

    /// Which offsets of an arena start an id (what a loaded handle must point at).
    struct Starts {
        var bits: [UInt64]

        func contains(_ handle: UInt32) -> Bool {
            let h = Int(handle)
            return h >> 6 < bits.count && bits[h >> 6] & (1 << UInt64(h & 63)) != 0
        }
    }

    /// Takes `bytes` (a whole arena, as ``bytes`` was) after checking every id in it;
    /// returns where ids start.
    /// - Throws: ``SnapshotError/corrupt(_:)`` for a malformed id (never traps).
    mutating func readArena(_ raw: UnsafeRawBufferPointer) throws(SnapshotError) -> Starts {
        var starts = Starts(bits: [UInt64](repeating: 0, count: raw.count / 64 + 1))
        var h = 0
        let n = raw.count
        // Every entry: its form, lengths within the arena, its raw parts UTF-8.
        while h < n {
            starts.bits[h >> 6] |= 1 << UInt64(h & 63)
            guard h + 2 <= n else { throw .corrupt("id arena") }
            let tag = raw[h]
            if tag == 0 {
                let length = Int(raw[h + 1]) + 1
                guard h + 2 + length <= n,
                    UTF8Scan.validate(raw.baseAddress! + h + 2, count: length) != .invalid
                else { throw .corrupt("id arena") }
                h += 2 + length
            } else if tag == 1 || tag == 3 {
                let packed = Int(raw[h + 1])
                guard packed >= 8, h + 3 + packed <= n else { throw .corrupt("id arena") }
                let suffix = Int(raw[h + 2 + packed])
                let length = (tag == 3 ? 2 : 0) + 2 * packed + suffix
                guard length <= 256, h + 3 + packed + suffix <= n,
                    suffix == 0 || UTF8Scan.validate(raw.baseAddress! + h + 3 + packed, count: suffix) != .invalid
                else { throw .corrupt("id arena") }
                h += 3 + packed + suffix
            } else {
                throw .corrupt("id arena")
            }
        }
        bytes = Array(raw)
        garbage = 0
        return starts
    }

    /// An empty arena with room for `capacity` bytes.
    static func reserved(_ capacity: Int) -> IdArena {
        var a = IdArena()
        a.bytes.reserveCapacity(capacity)
        return a
    }

    /// Grows by half while small and by a quarter once large (not the array's doubling)
    /// when `extra` bytes do not fit.
    @inline(__always)
    private mutating func reserve(_ extra: Int) {
        let need = bytes.count &+ extra
        guard need > bytes.capacity else { return }
        let count = bytes.count
        bytes.reserveCapacity(max(need, count &+ (count < 16_384 ? count / 2 : count / 4), 48))
    }

    /// `("0x" prefixed?, end of the hex run)` when `id` is worth packing: an optional `0x`,
    /// then at least 16 lowercase hex digits (an even number is packed), then at most 255
    /// bytes of anything.
    @inline(__always)
    private static func hexShape(_ id: UnsafeRawBufferPointer) -> (Bool, Int)? {
        let n = id.count
        guard n >= 16 else { return nil }
        let p = id.baseAddress!
        let prefixed =
            p.load(as: UInt8.self) == UInt8(ascii: "0")
            && p.load(fromByteOffset: 1, as: UInt8.self) == UInt8(ascii: "x")
        let start = prefixed ? 2 : 0
        var i = start
        let limit = min(n, start &+ 510)
        // Eight bytes at a time while they are all hex digits.
        while i &+ 8 <= limit {
            let mask = hexMask(UInt64(littleEndian: p.loadUnaligned(fromByteOffset: i, as: UInt64.self)))
            if mask != 0x8080_8080_8080_8080 {
                i &+= (~mask & 0x8080_8080_8080_8080).trailingZeroBitCount &>> 3
                break
            }
            i &+= 8
        }
        if i &+ 8 > limit {
            while i < limit && isHexDigit(p.load(fromByteOffset: i, as: UInt8.self)) { i &+= 1 }
        }
        let end = start &+ (i &- start) & ~1
        guard end &- start >= 16, n &- end <= 255 else { return nil }
        return (prefixed, end)
    }

    /// The high bit of each byte of `w` set exactly when that byte is a lowercase hex digit
    /// (eight bytes at once: no carries cross bytes, as each sum stays below 0x100).
    @inline(__always)
    private static func hexMask(_ w: UInt64) -> UInt64 {
        let high: UInt64 = 0x8080_8080_8080_8080
        let ones: UInt64 = 0x0101_0101_0101_0101
        let low = w & ~high
        let ascii = ~w & high
        let atLeast0 = (low &+ ones &* 0x50) & high
        let atMost9 = ~(low &+ ones &* 0x46) & high
        let atLeastA = (low &+ ones &* 0x1F) & high
        let atMostF = ~(low &+ ones &* 0x19) & high
        return ascii & ((atLeast0 & atMost9) | (atLeastA & atMostF))
    }

    /// Eight lowercase hex digits (little-endian bytes of `w`) as four bytes, in the low half.
    @inline(__always)
    private static func pack8(_ w: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let v = (w & 0x0F0F_0F0F_0F0F_0F0F) &+ ((w &>> 6) & ones) &* 9
        var y = ((v & 0x00FF_00FF_00FF_00FF) &<< 4 | (v &>> 8) & 0x00FF_00FF_00FF_00FF) & 0x00FF_00FF_00FF_00FF
        y = (y | y &>> 8) & 0x0000_FFFF_0000_FFFF
        return (y | y &>> 16) & 0xFFFF_FFFF
    }

    @inline(__always)
    private static func isHexDigit(_ b: UInt8) -> Bool { b &- 48 < 10 || b &- 97 < 6 }

    /// The value of a lowercase hex digit (branch-free: 'a'–'f' have bit 6 set).
    @inline(__always)
    private static func nibble(_ b: UInt8) -> UInt8 { (b & 0x0F) &+ 9 &* (b &>> 6) }
}
