/// Ranks started with different flags or different data (Horovod/DDP lesson: the job then
/// deadlocks or silently trains different models). Thrown on every rank together.
public struct RankDisagreement: CollectiveError, Sendable {
    /// What was compared, e.g. "configuration" or "dataset manifest".
    public let what: String
    /// Each rank's hash, indexed by rank.
    public let hashes: [UInt64]
    /// What the user should do.
    public let hint: String

    public init(what: String, hashes: [UInt64], hint: String) {
        self.what = what
        self.hashes = hashes
        self.hint = hint
    }

    public var description: String {
        // Group ranks by hash, in order of the first rank holding each hash.
        var order: [UInt64] = []
        var ranksByHash: [UInt64: [Int]] = [:]
        for (rank, hash) in hashes.enumerated() {
            if ranksByHash[hash] == nil { order.append(hash) }
            ranksByHash[hash, default: []].append(rank)
        }
        let groups = order.map { hash in
            "\(describeRanks(ranksByHash[hash]!)) hash \(hexHash(hash))"
        }
        return "\(what) differs between ranks: \(groups.joined(separator: "; ")) — \(hint)"
    }
}

func hexHash(_ hash: UInt64) -> String {
    let digits = String(hash, radix: 16)
    return "0x" + String(repeating: "0", count: 16 - digits.count) + digits
}

extension Communicator {
    /// Checks that every rank holds the same `hash` (of its configuration, dataset manifest,
    /// checkpoint, ...). Returns quietly if so; otherwise EVERY rank throws `RankDisagreement`
    /// naming which ranks hold which hash. One small allreduce when all agree.
    public func agree(on hash: UInt64, what: String,
                      hint: String = "every rank must get the same flags and dataset") throws {
        // max(hash) and max(~hash) = ~min(hash) in one call; equal min and max means all agree.
        var extremes: [UInt64] = [hash, ~hash]
        try allreduce(&extremes, .max)
        if extremes[0] == ~extremes[1] { return }
        // Everyone saw the mismatch; gather the hashes so every rank can say who differs.
        let hashes = try allgather(hash)
        throw RankDisagreement(what: what, hashes: hashes, hint: hint)
    }
}
