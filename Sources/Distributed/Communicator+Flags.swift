/// The result of OR-ing a per-rank flag across the job.
public struct RankFlags: Sendable, Equatable {
    /// Lowest and highest rank that set the flag (nil when none did).
    public let firstRank: Int?
    public let lastRank: Int?

    public init(firstRank: Int?, lastRank: Int?) {
        self.firstRank = firstRank
        self.lastRank = lastRank
    }

    /// True if any rank set the flag.
    public var isSet: Bool { firstRank != nil }
}

/// A loss, gradient norm or other value was NaN/Inf on some rank at some step. Every rank throws
/// it together (the flag is combined by allreduce), so every rank skips or stops at the same step
/// and nobody averages a NaN into its weights.
public struct NonFiniteValue: CollectiveError, Sendable {
    public let step: Int
    /// What was non-finite, e.g. "loss" or "gradient norm".
    public let what: String
    public let flags: RankFlags

    public init(step: Int, what: String, flags: RankFlags) {
        self.step = step
        self.what = what
        self.flags = flags
    }

    public var description: String {
        let first = flags.firstRank ?? -1, last = flags.lastRank ?? -1
        let whereText = first == last ? "on rank \(first)" : "on ranks \(first) to \(last) (first and last reporting)"
        return "step \(step): non-finite \(what) \(whereText); stopping every rank before the weights are updated"
    }
}

extension Communicator {
    /// Logical OR of `flag` over ranks, also naming the lowest and highest rank that set it:
    /// one allreduce MAX of two integers (MAX, not SUM, cannot overflow).
    public func anyRank(_ flag: Bool) throws -> RankFlags {
        // [size - rank] gives the lowest flagged rank under MAX, [rank + 1] the highest; 0 = unset.
        var encoded: [Int64] = flag ? [Int64(size - rank), Int64(rank + 1)] : [0, 0]
        try allreduce(&encoded, .max)
        if encoded[0] == 0 { return RankFlags(firstRank: nil, lastRank: nil) }
        return RankFlags(firstRank: size - Int(encoded[0]), lastRank: Int(encoded[1]) - 1)
    }

    /// Combines a per-rank finiteness check; if any rank saw a non-finite value, EVERY rank throws
    /// `NonFiniteValue` ("step 12: non-finite loss on rank 3").
    public func checkFinite(_ isFinite: Bool, step: Int, what: String) throws {
        let flags = try anyRank(!isFinite)
        if flags.isSet { throw NonFiniteValue(step: step, what: what, flags: flags) }
    }
}
