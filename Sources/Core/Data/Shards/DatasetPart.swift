/// The share of a dataset one rank writes when several ranks write it together (`generate`,
/// `ingest` under mpirun/srun). Shard s always holds trajectories s·k ..< (s+1)·k for k trajectories
/// per shard (the last shard the rest), whoever writes it; rank r writes shards r, r + ranks, …
/// Each shard's bytes depend only on its index and its trajectories, so the directory the ranks
/// write together is byte for byte the one a single rank writes (docs/formats.md §Dataset).
public struct DatasetPart: Sendable, Equatable {
    public let rank: Int
    public let ranks: Int

    /// Every shard: one writer alone.
    public static let whole = DatasetPart(rank: 0, of: 1)

    public init(rank: Int, of ranks: Int) {
        precondition(ranks >= 1 && (0..<ranks).contains(rank), "rank \(rank) of \(ranks)")
        self.rank = rank
        self.ranks = ranks
    }

    public var isWhole: Bool { ranks == 1 }

    public static func shardCount(trajectories: Int, perShard: Int) -> Int { (trajectories + perShard - 1) / perShard }

    /// The ids shard `shard` holds.
    public static func trajectories(ofShard shard: Int, trajectories: Int, perShard: Int) -> Range<Int> {
        (shard * perShard)..<min((shard + 1) * perShard, trajectories)
    }

    /// The shards this part writes, in the order it writes them.
    public func shards(trajectories: Int, perShard: Int) -> StrideTo<Int> {
        stride(from: rank, to: Self.shardCount(trajectories: trajectories, perShard: perShard), by: ranks)
    }

    /// Rounds of writing in which every rank writes at most one shard (the ranks meet after each to
    /// report progress): the same number on every rank.
    public func rounds(trajectories: Int, perShard: Int) -> Int {
        (Self.shardCount(trajectories: trajectories, perShard: perShard) + ranks - 1) / ranks
    }

    /// The shard this part writes in `round`, nil if it has none left.
    public func shard(inRound round: Int, trajectories: Int, perShard: Int) -> Int? {
        let s = round * ranks + rank
        return s < Self.shardCount(trajectories: trajectories, perShard: perShard) ? s : nil
    }

    /// One shard a part wrote, as it reports it to the rank that writes the manifest.
    public struct WrittenShard: Codable, Equatable, Sendable {
        public var index: Int
        public var entry: Manifest.Shard
        public init(index: Int, entry: Manifest.Shard) { self.index = index; self.entry = entry }
    }
}
