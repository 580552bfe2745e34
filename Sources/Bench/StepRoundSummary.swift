import Core

/// What `bench train --rounds R` concludes from its R rounds. Each round measures every
/// configuration once (ours, then the PyTorch peer, then the deterministic mode), so each round's
/// ratios compare timings taken minutes apart at most; on a shared host single rounds still swing
/// by ±10% as other guests come and go, so the summary gives each ratio's median over the rounds
/// and its range rather than any one round's figure.
public struct StepRoundSummary: Codable, Sendable, Equatable {
    /// The median and the extremes of one figure over the rounds.
    public struct Spread: Codable, Sendable, Equatable {
        public var median: Double
        public var min: Double
        public var max: Double

        public init?(_ values: [Double]) {
            guard !values.isEmpty else { return nil }
            median = Core.median(values)
            min = values.min()!
            max = values.max()!
        }
    }

    /// One configuration (threads, objective, mode) over the rounds.
    public struct Configuration: Codable, Sendable, Equatable {
        public var threads: Int
        public var objective: String
        /// nil: the default mode; otherwise the deterministic mode's unit.
        public var deterministic_unit: Int?
        public var rounds: Int
        public var samples_per_second: Spread
        /// Ours / PyTorch's samples/s, round by round (default mode only, when the peer ran).
        public var ratio: Spread?
        /// Deterministic step time over the same round's default-mode step, minus 1.
        public var deterministic_cost: Spread?
    }

    /// A thread count's samples/s over the smallest thread count's, in the same round and mode.
    public struct SpeedUp: Codable, Sendable, Equatable {
        public var threads: Int
        public var over_threads: Int
        public var objective: String
        public var deterministic_unit: Int?
        public var speedup: Spread
    }

    /// A thread count's speed-up over the first, from steps alternated in one process
    /// (`StepBenchmark.ThreadScaling`), every cycle of every round pooled.
    public struct AlternatedSpeedUp: Codable, Sendable, Equatable {
        public var threads: Int
        public var over_threads: Int
        public var objective: String
        public var cycles: Int
        public var speedup: Spread
        /// The host's own speed-up in the same cycles (`HostCapacityProbe`): what the machine offered.
        public var host_speedup: Spread?
        /// Cycle by cycle, the step's speed-up over the host's: how much of the offer the step used.
        public var of_host: Spread?
    }

    /// The deterministic mode's cost at one unit, from steps alternated with the default mode in one
    /// process (`StepBenchmark.DeterministicCost`), every cycle of every round pooled.
    public struct AlternatedCost: Codable, Sendable, Equatable {
        public var threads: Int
        public var objective: String
        public var deterministic_unit: Int
        public var cycles: Int
        public var cost: Spread
    }

    public var rounds: Int
    public var configurations: [Configuration]
    /// From the separate runs, round by round.
    public var speedups: [SpeedUp]
    /// From the alternated measurements; nil when there were none (one thread count, or a report
    /// written before they existed).
    public var alternated_speedups: [AlternatedSpeedUp]?
    /// From the alternated deterministic measurements; nil when there were none.
    public var alternated_deterministic_costs: [AlternatedCost]?

    /// Pools the alternated measurements' cycles per (objective, thread count).
    public mutating func addAlternated(_ scalings: [StepBenchmark.ThreadScaling]) {
        guard !scalings.isEmpty else { return }
        struct Key: Hashable { var threads: Int; var over: Int; var objective: String }
        func pooled(_ series: (StepBenchmark.ThreadScaling, Int) -> [Double]?) -> [(Key, Spread, Int)] {
            Self.pool(scalings.flatMap { a in
                a.threads.enumerated().dropFirst().compactMap { i, t in
                    series(a, i).map { (Key(threads: t, over: a.threads[0], objective: a.objective), $0) }
                }
            })
        }
        func byKey(_ items: [(Key, Spread, Int)]) -> [Key: Spread] {
            Dictionary(items.map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a })
        }
        // Only measurements that have the host's figure count towards it (older reports lack it).
        let host = byKey(pooled { a, i in a.host_speedups?[i] })
        let ofHost = byKey(pooled { a, i in a.host_speedups.map { h in zip(a.speedups[i], h[i]).map { $0 / $1 } } })
        alternated_speedups = pooled { a, i in a.speedups[i] }.map { k, spread, cycles in
            AlternatedSpeedUp(threads: k.threads, over_threads: k.over, objective: k.objective, cycles: cycles, speedup: spread,
                              host_speedup: host[k], of_host: ofHost[k])
        }
    }

    /// Pools the alternated deterministic measurements' cycles per (threads, objective, unit).
    public mutating func addAlternated(_ costs: [StepBenchmark.DeterministicCost]) {
        guard !costs.isEmpty else { return }
        struct Key: Hashable { var threads: Int; var objective: String; var unit: Int }
        let pooled = Self.pool(costs.map { c in (Key(threads: c.threads, objective: c.objective, unit: c.deterministic_unit), c.costs) })
        alternated_deterministic_costs = pooled.map { k, spread, cycles in
            AlternatedCost(threads: k.threads, objective: k.objective, deterministic_unit: k.unit, cycles: cycles, cost: spread)
        }
    }

    /// Every key's values concatenated, with their spread and count, keys in first-seen order.
    private static func pool<Key: Hashable>(_ items: [(Key, [Double])]) -> [(Key, Spread, Int)] {
        var order: [Key] = []
        var pooled: [Key: [Double]] = [:]
        for (k, values) in items {
            if pooled[k] == nil { order.append(k) }
            pooled[k, default: []] += values
        }
        return order.compactMap { k in Spread(pooled[k]!).map { (k, $0, pooled[k]!.count) } }
    }

    /// From every run of every round (`Run.round` set; runs without one count as round 0), in the
    /// order the configurations were first measured.
    public init(runs: [StepBenchmark.Run]) {
        struct Key: Hashable { var threads: Int; var objective: String; var unit: Int? }
        func key(_ r: StepBenchmark.Run) -> Key {
            Key(threads: r.threads, objective: r.objective, unit: r.deterministic == true ? (r.deterministic_unit ?? 1) : nil)
        }
        var order: [Key] = []
        var byKey: [Key: [StepBenchmark.Run]] = [:]
        for r in runs {
            let k = key(r)
            if byKey[k] == nil { order.append(k) }
            byKey[k, default: []].append(r)
        }
        rounds = Set(runs.map { $0.round ?? 0 }).count
        configurations = order.map { k in
            let rs = byKey[k]!
            return Configuration(threads: k.threads, objective: k.objective, deterministic_unit: k.unit, rounds: rs.count,
                                 samples_per_second: Spread(rs.map(\.samples_per_second))!,
                                 ratio: Spread(rs.compactMap(\.ratio)),
                                 deterministic_cost: Spread(rs.compactMap(\.deterministic_cost)))
        }
        let base = runs.map(\.threads).min()
        var ups: [SpeedUp] = []
        for k in order where k.threads != base {
            let baseKey = Key(threads: base!, objective: k.objective, unit: k.unit)
            guard let slow = byKey[baseKey] else { continue }
            let perRound = Dictionary(slow.map { ($0.round ?? 0, $0.samples_per_second) }, uniquingKeysWith: { a, _ in a })
            let ratios = byKey[k]!.compactMap { r in perRound[r.round ?? 0].map { r.samples_per_second / $0 } }
            if let spread = Spread(ratios) {
                ups.append(SpeedUp(threads: k.threads, over_threads: base!, objective: k.objective, deterministic_unit: k.unit, speedup: spread))
            }
        }
        speedups = ups
    }
}
