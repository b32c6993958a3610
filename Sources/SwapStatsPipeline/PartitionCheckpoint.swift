public import SwapStatsCore

/// What a partition's checkpoint holds: the engine state, the Kafka offset it reflects, and
/// how many events the partition is known to have lost to retention.
///
/// Format (version 1), little-endian:
///
///     "SWPC"  u16 version  i64 offset  i64 lostEvents  u64 stateLength  state  u64 checksum
///
/// `state` is ``PartitionEngine/snapshot()``; the checksum is ``Fingerprint`` of every byte
/// before it, so a torn or altered file is detected and never loaded.
public struct PartitionCheckpoint: Sendable {
    /// The next offset the state has not seen: consuming resumes here.
    public let offset: Int64
    /// Events the log no longer held when this partition reached them (0 when exact).
    public let lostEvents: Int64
    /// ``PartitionEngine/snapshot()`` bytes.
    public let state: [UInt8]

    static let magic = Array("SWPC".utf8)
    static let version: UInt16 = 1

    public init(offset: Int64, lostEvents: Int64, state: [UInt8]) {
        self.offset = offset
        self.lostEvents = lostEvents
        self.state = state
    }

    /// The checkpoint of `engine` as it stands.
    public init(engine: PartitionEngine, lostEvents: Int64) {
        self.init(offset: engine.nextOffset, lostEvents: lostEvents, state: engine.snapshot())
    }

    /// The serialized form.
    public func encoded() -> [UInt8] {
        var out = Self.magic
        out.reserveCapacity(state.count + 42)
        append(UInt64(Self.version), bytes: 2, to: &out)
        append(UInt64(bitPattern: offset), bytes: 8, to: &out)
        append(UInt64(bitPattern: lostEvents), bytes: 8, to: &out)
        append(UInt64(state.count), bytes: 8, to: &out)
        out.append(contentsOf: state)
        let sum = out.withUnsafeBytes { Fingerprint.of($0) }
        append(sum, bytes: 8, to: &out)
        return out
    }

    /// Parses ``encoded()`` bytes.
    /// - Throws: ``CheckpointError/corrupt(_:)`` for anything but an intact version-1 checkpoint.
    public init(decoding bytes: [UInt8]) throws(CheckpointError) {
        let header = 4 + 2 + 8 + 8 + 8
        guard bytes.count >= header + 8, Array(bytes[0..<4]) == Self.magic else {
            throw .corrupt("not a checkpoint (bad magic or too short)")
        }
        let version = UInt16(read(bytes, at: 4, bytes: 2))
        guard version == Self.version else { throw .corrupt("unsupported checkpoint version \(version)") }
        let length = read(bytes, at: 22, bytes: 8)
        guard length == UInt64(bytes.count - header - 8) else { throw .corrupt("length does not match the file") }
        let end = bytes.count - 8
        let sum = bytes[0..<end].withUnsafeBytes { Fingerprint.of($0) }
        guard sum == read(bytes, at: end, bytes: 8) else { throw .corrupt("checksum mismatch") }
        offset = Int64(bitPattern: read(bytes, at: 6, bytes: 8))
        lostEvents = Int64(bitPattern: read(bytes, at: 14, bytes: 8))
        state = Array(bytes[header..<end])
    }

    /// Restores the engine state.
    /// - Throws: ``CheckpointError`` when the state is damaged, was taken under another
    ///   configuration, or disagrees with the offset.
    public func restore(configuration: EngineConfiguration) throws(CheckpointError) -> PartitionEngine {
        let engine: PartitionEngine
        do {
            engine = try PartitionEngine(restoring: state, configuration: configuration)
        } catch {
            throw .unusable("\(error)")
        }
        guard engine.nextOffset == offset else {
            throw .corrupt("state offset \(engine.nextOffset) differs from checkpoint offset \(offset)")
        }
        return engine
    }
}

/// Why a checkpoint cannot be used.
public enum CheckpointError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The bytes are damaged (checksum, length, magic).
    case corrupt(String)
    /// Intact, but not usable here (for example taken under other `WINDOWS`).
    case unusable(String)
    /// The store could not read or write.
    case io(String)
    /// Another instance claimed the partition after this one loaded it: the write was refused.
    case fenced(String)

    public var description: String {
        switch self {
        case .corrupt(let m): "corrupt checkpoint: \(m)"
        case .unusable(let m): "unusable checkpoint: \(m)"
        case .io(let m): "checkpoint i/o: \(m)"
        case .fenced(let m): "checkpoint fenced: \(m)"
        }
    }
}

private func append(_ value: UInt64, bytes n: Int, to out: inout [UInt8]) {
    for i in 0..<n { out.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) }
}

private func read(_ bytes: [UInt8], at start: Int, bytes n: Int) -> UInt64 {
    var v: UInt64 = 0
    for i in 0..<n { v |= UInt64(bytes[start + i]) << (8 * UInt64(i)) }
    return v
}
