import Foundation

/// Mean ± standard deviation and median of one number over the test trajectories.
///
/// Non-finite values (a jump ratio of 0/0 on a latent path that never moves, a diverged rollout's
/// error) are left out of the statistics and counted in `nonFinite`, so one bad trajectory is
/// visible in metrics.json without turning every summary into NaN.
public struct Summary: Codable, Equatable, Sendable {
    public var mean: Double
    /// Sample standard deviation (divisor n − 1); 0 for a single value.
    public var std: Double
    public var median: Double
    /// Finite values summarised.
    public var count: Int
    public var nonFinite: Int

    enum CodingKeys: String, CodingKey { case mean, std, median, count, nonFinite = "non_finite" }

    public init(_ values: [Double]) {
        let finite = values.filter(\.isFinite)
        count = finite.count
        nonFinite = values.count - finite.count
        guard !finite.isEmpty else { mean = .nan; std = .nan; median = Core.median([]); return }
        let m = finite.reduce(0, +) / Double(finite.count)
        mean = m
        std = finite.count > 1 ? (finite.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(finite.count - 1)).squareRoot() : 0
        median = Core.median(finite)
    }
}
