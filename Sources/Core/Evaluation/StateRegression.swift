import Foundation

/// How much of the true physical state a latent code holds: a cubic polynomial regression from
/// latents to each state variable, fitted on training trajectories and scored (R²) on test ones.
///
/// - Latents are standardised with the training mean and standard deviation before the monomials
///   are formed (keeps the cubic columns of comparable size; the fit space is unchanged).
/// - Angles wrap around: a state whose name starts with "theta" and does not end in "_dot" is an
///   angle, and is regressed as the two targets sin θ and cos θ; its R² pools them,
///   1 − (SS_res(sin) + SS_res(cos)) / (SS_tot(sin) + SS_tot(cos)), so θ and θ + 2π are the same
///   target. Other states (rates, extensions, positions) are regressed as they are.
/// - R² = 1 − SS_res / SS_tot on the test set, SS_tot about the test mean: 1 is perfect, 0 is no
///   better than the test mean, negative is worse (overfitting). NaN when a test target is constant.
public enum StateRegression {
    public static func isAngle(_ name: String) -> Bool { name.hasPrefix("theta") && !name.hasSuffix("_dot") }

    /// The fewest training rows `r2` accepts for d-dimensional latents: one more than the number of
    /// monomials (165 + 1 for the cubic fit of d = 8). Callers with fewer report no R² instead.
    public static func minimumTrainingRows(dimension d: Int, degree: Int = 3) -> Int {
        PolynomialFeatures(dimension: d, degree: degree).count + 1
    }

    /// R² per state name. `trainLatents[i]` (d values) goes with `trainStates[i]` (one value per
    /// name); likewise for test. Needs more training rows than features (C(d + degree, degree)).
    public static func r2(trainLatents: [[Double]], trainStates: [[Double]],
                          testLatents: [[Double]], testStates: [[Double]],
                          stateNames: [String], degree: Int = 3) -> [String: Double] {
        precondition(trainLatents.count == trainStates.count && testLatents.count == testStates.count,
                     "StateRegression: latents and states must pair up row by row")
        guard let d = trainLatents.first?.count, !testLatents.isEmpty else { return [:] }
        let features = PolynomialFeatures(dimension: d, degree: degree)
        precondition(trainLatents.count > features.count,
                     "StateRegression: \(trainLatents.count) training rows for \(features.count) cubic features")

        // Standardisation from the training latents.
        var mean = [Double](repeating: 0, count: d), std = [Double](repeating: 0, count: d)
        for z in trainLatents { for j in 0..<d { mean[j] += z[j] } }
        for j in 0..<d { mean[j] /= Double(trainLatents.count) }
        for z in trainLatents { for j in 0..<d { std[j] += (z[j] - mean[j]) * (z[j] - mean[j]) } }
        for j in 0..<d { std[j] = std[j] > 0 ? (std[j] / Double(trainLatents.count)).squareRoot() : 1 }
        func design(_ rows: [[Double]]) -> [[Double]] {
            rows.map { z in features((0..<d).map { (z[$0] - mean[$0]) / std[$0] }) }
        }
        let trainX = design(trainLatents), testX = design(testLatents)
        let solver = LeastSquares(trainX.flatMap { $0 }, rows: trainX.count, columns: features.count)

        // Residual and total sums of squares on the test set for one target column.
        func sums(_ target: ([Double]) -> Double) -> (res: Double, tot: Double) {
            let w = solver.solve(trainStates.map(target))
            let y = testStates.map(target)
            let m = y.reduce(0, +) / Double(y.count)
            var res = 0.0, tot = 0.0
            for (x, v) in zip(testX, y) {
                var p = 0.0
                for k in x.indices { p += w[k] * x[k] }
                res += (v - p) * (v - p); tot += (v - m) * (v - m)
            }
            return (res, tot)
        }
        var result: [String: Double] = [:]
        for (s, name) in stateNames.enumerated() {
            let parts = isAngle(name) ? [sums { sin($0[s]) }, sums { cos($0[s]) }] : [sums { $0[s] }]
            let res = parts.map(\.res).reduce(0, +), tot = parts.map(\.tot).reduce(0, +)
            result[name] = tot > 0 ? 1 - res / tot : .nan
        }
        return result
    }
}
