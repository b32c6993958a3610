import SwapStatsCore

@testable import SwapStatsCore

/// One partition's checkpoint kept in memory, as a store keeps it: a base (scalars and
/// pieces) and the deltas taken after it, compacted on demand.
struct CheckpointChain {
    var baseScalars: [UInt8]?
    var basePieces: [[UInt8]] = []
    var baseWallets: [UInt8] = []
    var deltas: [[UInt8]] = []
    var generation: UInt64 = 0
    var sequence: UInt64 = 0

    mutating func append(_ delta: EngineDelta) {
        sequence += 1
        deltas.append(CheckpointFormat.encodeDelta(delta, sequence: sequence))
    }

    /// Folds the base and the deltas into a new base of `count` pieces.
    mutating func compact(configuration: EngineConfiguration, count: Int) throws {
        let tables = try deltas.map {
            try CheckpointFormat.deltaTable(Array($0.prefix(CheckpointFormat.deltaPrefixBytes)))
        }
        guard let scalars = deltas.last.map({ Array($0[tables.last!.header]) }) ?? baseScalars else { return }
        let pieces = basePieces
        let old = baseScalars == nil ? nil : CheckpointCompaction.Base(count: pieces.count) { pieces[$0] }
        let ds = zip(deltas, tables).map { blob, table in CheckpointCompaction.Delta(table: table) { Array(blob[$0]) } }
        generation += 1
        let g = generation
        baseWallets = try CheckpointCompaction.walletNumbers(
            generation: g, configuration: configuration, old: baseScalars == nil ? nil : baseWallets, deltas: ds)
        basePieces = try (0..<count).map { k in
            try CheckpointCompaction.piece(
                k, of: count, generation: g, configuration: configuration, scalars: scalars, old: old, deltas: ds)
        }
        baseScalars = scalars
        deltas = []
    }

    /// The state the checkpoint holds.
    func restore(configuration: EngineConfiguration, slidingThreshold: Int = TokenState.defaultSlidingThreshold)
        throws -> PartitionEngine
    {
        var loader = CheckpointLoader(configuration: configuration, slidingThreshold: slidingThreshold)
        if let baseScalars {
            try loader.applyScalars(baseScalars)
            try loader.applyWalletNumbers(baseWallets)
            for p in basePieces { try loader.applyBasePiece(p) }
        }
        for d in deltas { try loader.applyDelta(d) }
        return try loader.finish()
    }

    /// Bytes stored.
    var bytes: Int {
        (baseScalars?.count ?? 0) + basePieces.reduce(0) { $0 + $1.count } + deltas.reduce(0) { $0 + $1.count }
    }
}
