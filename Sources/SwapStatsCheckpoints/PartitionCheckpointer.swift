import Foundation
public import SwapStatsCore

/// One partition's checkpoint in a store: restoring it (base + deltas), appending deltas,
/// and folding them into a new base (compaction) a piece at a time.
///
/// A checkpoint's cost follows what changed: each interval writes one delta (what the
/// engine's journal captured) and a small manifest. Compaction rewrites the base only when
/// the deltas have grown to a quarter of it, on the checkpoint writer's thread, never a
/// shard's, holding one piece in memory.
public struct PartitionCheckpointer: Sendable {
    public let topic: String
    public let partition: Int32
    let store: any CheckpointStore
    let configuration: EngineConfiguration
    /// The epoch this instance claimed the partition with (0 for a store that does not
    /// fence).
    let epoch: UInt64
    /// Blob names of this writer start with `e<epoch>-<random>-`, so they never collide with
    /// another instance's (a former owner still writing).
    let prefix: String
    /// The checkpoint as stored.
    public private(set) var manifest: CheckpointManifest

    /// Deltas beyond this many bytes, and beyond a quarter of the base, are compacted.
    public static let compactionFloor = 32 << 20
    /// Compact when this many deltas piled up, whatever their size.
    public static let compactionCount = 512

    /// A partition with no checkpoint yet, claimed with `epoch`.
    public init(
        store: any CheckpointStore, topic: String, partition: Int32, configuration: EngineConfiguration, epoch: UInt64
    ) {
        self.store = store
        self.topic = topic
        self.partition = partition
        self.configuration = configuration
        self.epoch = epoch
        prefix = "e\(epoch)-\(String(UInt64.random(in: 1...UInt64.max), radix: 36))-"
        manifest = CheckpointManifest()
    }

    /// The epoch a blob name was written under (nil for a name this type did not make).
    static func epoch(of blob: String) -> UInt64? {
        guard blob.hasPrefix("e"), let dash = blob.firstIndex(of: "-") else { return nil }
        return UInt64(blob[blob.index(after: blob.startIndex)..<dash])
    }

    /// Claims the partition and restores its stored checkpoint: the checkpointer to append
    /// to and, when there is a checkpoint, its state (with its journal started). Blobs no
    /// manifest names, written under this epoch or an older one (a crash between a blob and
    /// its manifest, a former owner's last writes), are deleted.
    /// - Parameter collect: delete stray blobs (false for a reader that does not own the
    ///   partition).
    /// - Throws: ``CheckpointError``: damaged, unusable (other settings, older format), or
    ///   unreadable.
    public static func restore(
        store: any CheckpointStore, topic: String, partition: Int32, configuration: EngineConfiguration,
        collect: Bool = true
    ) throws(CheckpointError) -> (checkpointer: PartitionCheckpointer, engine: PartitionEngine?) {
        let (bytes, epoch) = try store.readManifest(topic: topic, partition: partition)
        var c = PartitionCheckpointer(
            store: store, topic: topic, partition: partition, configuration: configuration, epoch: epoch)
        guard let bytes else { return (c, nil) }
        do {
            c.manifest = try CheckpointManifest(decoding: bytes)
        } catch {
            throw .corrupt("manifest: \(error)")
        }
        var engine = try c.load()
        engine.startJournal()
        if collect {
            let keep = c.manifest.blobs
            if let stray = try? store.listBlobs(topic: topic, partition: partition).filter({
                !keep.contains($0) && (Self.epoch(of: $0) ?? 0) <= epoch
            }) {
                try? store.deleteBlobs(stray, topic: topic, partition: partition)
            }
        }
        return (c, engine)
    }

    /// The state the manifest names.
    func load() throws(CheckpointError) -> PartitionEngine {
        var loader = CheckpointLoader(configuration: configuration)
        let m = manifest
        do {
            if m.generation > 0 {
                try loader.applyScalars(try baseScalars(m))
                try loader.applyWalletNumbers(try read(m.baseWallets, nil))
                let (store, topic, partition) = (self.store, self.topic, self.partition)
                try ReadAhead.each(m.basePieces) { name throws(CheckpointError) in
                    try store.readBlob(name, range: nil, topic: topic, partition: partition)
                } apply: {
                    try loader.applyBasePiece($0)
                }
            }
            for d in m.deltas { try loader.applyDelta(try read(d.blob, nil)) }
            let engine = try loader.finish()
            guard engine.nextOffset == m.offset else {
                throw CheckpointError.corrupt(
                    "state offset \(engine.nextOffset) differs from the manifest's \(m.offset)")
            }
            return engine
        } catch let error as CheckpointError {
            throw error
        } catch let error as SnapshotError {
            if case .configurationMismatch = error { throw .unusable("\(error)") }
            throw .corrupt("\(error)")
        } catch {
            throw .io("\(error)")
        }
    }

    /// The base's scalars: their blob, checked (inline in a version 1 manifest).
    private func baseScalars(_ m: CheckpointManifest) throws(CheckpointError) -> [UInt8] {
        guard !m.baseScalarsBlob.isEmpty else { return m.baseScalars }
        let scalars = try read(m.baseScalarsBlob, nil)
        guard Fingerprint.of(scalars) == m.baseScalarsChecksum else {
            throw .corrupt("scalars blob \(m.baseScalarsBlob)")
        }
        return scalars
    }

    private func read(_ blob: String, _ range: Range<Int>?) throws(CheckpointError) -> [UInt8] {
        try store.readBlob(blob, range: range, topic: topic, partition: partition)
    }

    /// Stores a delta, then the manifest that names it; returns the bytes written (both).
    /// - Throws: ``CheckpointError``; the checkpoint is then unchanged and the delta must be
    ///   appended again (in order) before any later one.
    @discardableResult
    public mutating func append(_ delta: EngineDelta, lostEvents: Int64) throws(CheckpointError) -> Int {
        let sequence = manifest.nextSequence
        let blob = CheckpointFormat.encodeDelta(delta, sequence: sequence)
        let name = "\(prefix)d\(sequence)"
        try store.writeBlob(name, blob, topic: topic, partition: partition)
        var next = manifest
        next.deltas.append(.init(blob: name, sequence: sequence, bytes: blob.count))
        next.offset = delta.offset
        next.lostEvents = lostEvents
        next.nextSequence = sequence + 1
        let encoded = next.encoded()
        try store.writeManifest(encoded, topic: topic, partition: partition)
        manifest = next
        return blob.count + encoded.count
    }

    /// Whether the deltas outgrew the base (or piled up): time to compact.
    public var wantsCompaction: Bool {
        !manifest.deltas.isEmpty
            && (manifest.deltas.count >= Self.compactionCount
                || manifest.deltaBytes > max(Self.compactionFloor, manifest.baseBytes / 4))
    }

    /// Folds the base and the deltas into a new base, one piece at a time, then stores the
    /// manifest naming it and deletes what it replaced. Returns nil, having changed
    /// nothing, when `shouldStop` turned true between pieces.
    /// - Returns: the new base's bytes, or nil when stopped.
    public mutating func compact(shouldStop: () -> Bool = { false }) throws(CheckpointError) -> Int? {
        let old = manifest
        guard let last = old.deltas.last else { return old.baseBytes }
        var written: [String] = []
        do {
            var tables: [CheckpointCompaction.Delta] = []
            for d in old.deltas {
                let table = try CheckpointFormat.deltaTable(try read(d.blob, 0..<CheckpointFormat.deltaPrefixBytes))
                let blob = d.blob
                let (store, topic, partition) = (self.store, self.topic, self.partition)
                tables.append(
                    CheckpointCompaction.Delta(table: table) { range in
                        try store.readBlob(blob, range: range, topic: topic, partition: partition)
                    })
            }
            let scalars = try read(last.blob, tables.last!.table.header)
            guard Fingerprint.of(scalars) == tables.last!.table.parts[0].checksum else {
                throw CheckpointError.corrupt("scalars of \(last.blob)")
            }
            var base: CheckpointCompaction.Base?
            if old.generation > 0 {
                let (store, topic, partition, pieces) = (self.store, self.topic, self.partition, old.basePieces)
                base = CheckpointCompaction.Base(count: pieces.count) { i in
                    try store.readBlob(pieces[i], range: nil, topic: topic, partition: partition)
                }
            }
            var count = CheckpointCompaction.pieceCount(forBytes: old.baseBytes + old.deltaBytes)
            if old.generation > 0 { count = min(count, max(1, old.basePieces.count * 2)) }
            let generation = old.generation + 1
            let wallets = try CheckpointCompaction.walletNumbers(
                generation: generation, configuration: configuration,
                old: old.generation > 0 ? try read(old.baseWallets, nil) : nil, deltas: tables)
            let walletsName = "\(prefix)w\(generation)"
            try store.writeBlob(walletsName, wallets, topic: topic, partition: partition)
            written.append(walletsName)
            let scalarsName = "\(prefix)s\(generation)"
            try store.writeBlob(scalarsName, scalars, topic: topic, partition: partition)
            written.append(scalarsName)
            var bytes = wallets.count + scalars.count
            for k in 0..<count {
                if shouldStop() {
                    try? store.deleteBlobs(written, topic: topic, partition: partition)
                    return nil
                }
                let piece = try CheckpointCompaction.piece(
                    k, of: count, generation: generation, configuration: configuration, scalars: scalars, old: base,
                    deltas: tables)
                let name = "\(prefix)b\(generation)-\(k)"
                try store.writeBlob(name, piece, topic: topic, partition: partition)
                written.append(name)
                bytes += piece.count
            }
            var next = old
            next.generation = generation
            next.basePieces = Array(written.dropFirst(2))
            next.baseWallets = walletsName
            next.baseScalarsBlob = scalarsName
            next.baseScalarsChecksum = Fingerprint.of(scalars)
            next.baseScalars = []
            next.baseBytes = bytes
            next.deltas = []
            try store.writeManifest(next.encoded(), topic: topic, partition: partition)
            manifest = next
            // What the old manifest named is obsolete now (a newer owner would have fenced
            // the write above, and one claiming later reads the new manifest).
            try? store.deleteBlobs(Array(old.blobs.subtracting(next.blobs)), topic: topic, partition: partition)
            return bytes
        } catch let error as CheckpointError {
            try? store.deleteBlobs(written, topic: topic, partition: partition)
            throw error
        } catch {
            try? store.deleteBlobs(written, topic: topic, partition: partition)
            throw .corrupt("compaction: \(error)")
        }
    }
}

extension Fingerprint {
    /// The fingerprint of a byte array.
    static func of(_ bytes: [UInt8]) -> UInt64 { bytes.withUnsafeBytes { of($0) } }
}

/// A partition's stored checkpoint, read without claiming the partition or collecting
/// anything: for tools and tests.
public struct StoredCheckpoint: Sendable {
    public let manifest: CheckpointManifest
    public let engine: PartitionEngine

    /// - Returns: nil when the partition has no checkpoint.
    /// - Throws: ``CheckpointError``.
    public init?(
        store: any CheckpointStore, topic: String = "swaps", partition: Int32, configuration: EngineConfiguration
    ) throws(CheckpointError) {
        let (checkpointer, engine) = try PartitionCheckpointer.restore(
            store: store, topic: topic, partition: partition, configuration: configuration, collect: false)
        guard let engine else { return nil }
        manifest = checkpointer.manifest
        self.engine = engine
    }
}
