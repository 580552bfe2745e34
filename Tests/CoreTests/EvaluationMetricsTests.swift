import XCTest
import Foundation
@testable import Core

/// The evaluation's numbers on hand-made inputs with known answers: VPT (both definitions),
/// summaries, latent continuity, the cubic state probe and its least-squares solver, latent
/// stability, and the metrics.json record.
final class EvaluationMetricsTests: XCTestCase {
    // MARK: VPT

    func testVPTCountsFramesBeforeTheFirstExceedance() {
        let eps = 0.005
        XCTAssertEqual(ValidPredictionTime.fraction([0.001, 0.002, 0.004, 0.005], threshold: eps), 1, "never above ε (= ε counts as valid)")
        XCTAssertEqual(ValidPredictionTime.fraction([0.02, 0.001, 0.001, 0.001], threshold: eps), 0, "above ε at frame 0")
        XCTAssertEqual(ValidPredictionTime.fraction([0.001, 0.001, 0.006, 0.001, 0.001], threshold: eps), 2.0 / 5,
                       "first exceedance at frame 2 of 5; the later dip below ε does not count")
        XCTAssertEqual(ValidPredictionTime.fraction([0.001, .nan, 0.001, 0.001], threshold: eps), 1.0 / 4, "NaN is an exceedance")
        XCTAssertTrue(ValidPredictionTime.fraction([], threshold: eps).isNaN)
        XCTAssertEqual(ValidPredictionTime.thresholds.map(ValidPredictionTime.key), ["0.0025", "0.005", "0.01"])
    }

    func testPerFrameAndNormalisedErrorsOnHandMadeFrames() {
        // Frame 0: off by 0.1 everywhere → MSE 0.01; true pixels 0.5 → mean square 0.25 → 0.04.
        // Frame 1: exact. Frame 2: all-zero truth with a non-zero prediction → normalised +∞.
        let truth: [[Float]] = [[0.5, 0.5, 0.5, 0.5], [0.2, 0.4, 0.6, 0.8], [0, 0, 0, 0]]
        let predicted: [[Float]] = [[0.6, 0.4, 0.6, 0.4], [0.2, 0.4, 0.6, 0.8], [0.5, 0, 0, 0]]
        let e = FrameError.perFrameMSE(predicted: predicted, truth: truth)
        XCTAssertEqual(e[0], 0.01, accuracy: 1e-8)     // Float inputs: 0.6 − 0.5 is 0.1 to ~1e-8
        XCTAssertEqual(e[1], 0)
        XCTAssertEqual(e[2], 0.0625, accuracy: 1e-12)
        let n = FrameError.normalizedPerFrameMSE(predicted: predicted, truth: truth)
        XCTAssertEqual(n[0], 0.04, accuracy: 1e-7)
        XCTAssertEqual(n[1], 0)
        XCTAssertEqual(n[2], .infinity)
        // Normalised VPT at 0.025: frame 0 already exceeds → 0; a perfect rollout → 1.
        XCTAssertEqual(ValidPredictionTime.fraction(n, threshold: ValidPredictionTime.normalizedThreshold), 0)
        XCTAssertEqual(ValidPredictionTime.fraction(FrameError.normalizedPerFrameMSE(predicted: truth, truth: truth), threshold: 0.025), 1)
        // Reverse rollouts are compared with the truth in reverse order.
        let score = TrajectoryScore(id: 3, predicted: predicted, truth: truth, reversePredicted: truth.reversed())
        XCTAssertEqual(score.reverseFrameMSE, [0, 0, 0])
    }

    func testSummaryDropsNonFiniteValuesAndCountsThem() {
        let s = Summary([1, 2, 3, 4, .nan, .infinity])
        XCTAssertEqual(s.mean, 2.5)
        XCTAssertEqual(s.std, (5.0 / 3).squareRoot(), accuracy: 1e-15)   // sample std of 1…4
        XCTAssertEqual(s.median, 2.5)
        XCTAssertEqual([s.count, s.nonFinite], [4, 2])
        XCTAssertEqual(Summary([7]).std, 0)
        XCTAssertTrue(Summary([]).mean.isNaN)
    }

    func testMetricsSummariseVPTOverTrajectories() {
        // Trajectory 0 exceeds 0.0025 at frame 2, 0.005 at 3, never 0.01; trajectory 1 exceeds all at frame 1.
        let a = TrajectoryScore(id: 0, frameMSE: [0.001, 0.002, 0.003, 0.006], normalizedMSE: [0.01, 0.01, 0.01, 0.01])
        let b = TrajectoryScore(id: 1, frameMSE: [0.001, 0.02, 0.02, 0.02], normalizedMSE: [0.01, 0.03, 0.03, 0.03])
        let m = EvaluationMetrics(model: "m", autoencoder: "ae", latentModel: "node", dataset: "pendulum", split: "test",
                                  scores: [a, b], latentPaths: [[[0], [1], [2]]], reconstructionMSE: 1e-4,
                                  interpolation: .notRun, stateR2: nil, latentStability: nil)
        XCTAssertEqual(m.horizonFrames, 4)
        XCTAssertEqual(m.vpt["0.0025"], (50 + 25) / 2)
        XCTAssertEqual(m.vpt["0.005"], (75 + 25) / 2)
        XCTAssertEqual(m.vpt["0.01"], (100 + 25) / 2)
        XCTAssertEqual(m.vptStd["0.01"]!, (2 * 37.5 * 37.5).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(m.vptMedian["0.01"], 62.5)
        XCTAssertEqual(m.vptNormalized, (100 + 25) / 2)   // median of two = their mean
        XCTAssertNil(m.vptReverse)
        XCTAssertEqual(m.frameMSEMean[1], 0.011, accuracy: 1e-15)
    }

    // MARK: continuity

    func testJumpRatioAndRoughnessOnHandMadePaths() {
        // Steps (3, 4): length exactly 5 in floating point, so the answers are exact.
        let line = (0..<11).map { t in [3.0 * Double(t), 4.0 * Double(t)] }
        XCTAssertEqual(Continuity.jumpRatio(line), 1)
        XCTAssertEqual(Continuity.roughness(line), 0)
        // The same path with step 5 ten times as long: ratio 50/5; second differences of length 45
        // at the two ends of the jump, mean 90/9 = 10, over a mean step of (9·5 + 50)/10 = 9.5.
        var jump: [[Double]] = [[0, 0]]
        for t in 0..<10 { let k = t == 5 ? 10.0 : 1.0; jump.append([jump.last![0] + 3 * k, jump.last![1] + 4 * k]) }
        XCTAssertEqual(Continuity.jumpRatio(jump), 10)
        XCTAssertEqual(Continuity.roughness(jump), 10 / 9.5, accuracy: 1e-14)
        let c = LatentContinuity(paths: [line, jump, [[1, 1], [1, 1]]])   // the last never moves: 0/0
        XCTAssertEqual(c.jumpRatio.median, 5.5)
        XCTAssertEqual(c.jumpRatio.nonFinite, 1)
    }

    // MARK: state probe

    func testPolynomialFeaturesCountAllMonomials() {
        XCTAssertEqual(PolynomialFeatures(dimension: 8).count, 165)
        XCTAssertEqual(PolynomialFeatures(dimension: 2)([2, 3]), [1, 2, 3, 4, 6, 9, 8, 12, 18, 27])
    }

    func testLeastSquaresRecoversCoefficientsEvenWithADependentColumn() {
        var rng = RNG(seed: 10)
        let rows = 50
        // Columns: x, 1, 2x (dependent on the first), x². Target 3 + x − 2x².
        var a: [Double] = [], b: [Double] = []
        for _ in 0..<rows {
            let x = rng.uniform(-2, 2)
            a += [x, 1, 2 * x, x * x]; b.append(3 + x - 2 * x * x)
        }
        let solver = LeastSquares(a, rows: rows, columns: 4)
        XCTAssertEqual(solver.rank, 3)
        let w = solver.solve(b)
        for i in 0..<rows {
            let fit = (0..<4).reduce(0.0) { $0 + a[i * 4 + $1] * w[$1] }
            XCTAssertEqual(fit, b[i], accuracy: 1e-12)
        }
    }

    func testStateR2IsOneForAnExactCubicIncludingWrappedAngles() {
        var rng = RNG(seed: 11)
        func sample(_ n: Int) -> (z: [[Double]], s: [[Double]]) {
            var z: [[Double]] = [], s: [[Double]] = []
            for i in 0..<n {
                let theta = rng.uniform(-Double.pi, Double.pi), u = rng.uniform(-1, 1), v = rng.uniform(-1, 1)
                z.append([cos(theta), sin(theta), u, v])
                // A cubic of the latents, and θ shifted by 2π on odd rows: the same angle.
                s.append([theta + (i % 2 == 1 ? 2 * Double.pi : 0), 0.5 + u * v - 2 * u * u * v + 0.3 * cos(theta)])
            }
            return (z, s)
        }
        let train = sample(400), test = sample(200)
        let r2 = StateRegression.r2(trainLatents: train.z, trainStates: train.s, testLatents: test.z, testStates: test.s,
                                    stateNames: ["theta", "energy"])
        XCTAssertGreaterThan(r2["theta"]!, 1 - 1e-9)
        XCTAssertGreaterThan(r2["energy"]!, 1 - 1e-9)
    }

    func testStateR2IsNearZeroForIndependentNoise() {
        var rng = RNG(seed: 12)
        let d = 4, p = PolynomialFeatures(dimension: d).count          // 35 features
        let nTrain = 2000, nTest = 2000
        func rows(_ n: Int, _ k: Int) -> [[Double]] { (0..<n).map { _ in (0..<k).map { _ in rng.uniform(-1, 1) } } }
        let r2 = StateRegression.r2(trainLatents: rows(nTrain, d), trainStates: rows(nTrain, 1),
                                    testLatents: rows(nTest, d), testStates: rows(nTest, 1), stateNames: ["x"])["x"]!
        // Fitting p coefficients to pure noise raises the held-out error by about p/(n − p − 1), so
        // E[R²] ≈ −p/(n − p − 1); SS_res/SS_tot fluctuates by about √(2/n_test). Four of those.
        let expected = -Double(p) / Double(nTrain - p - 1), spread = 4 * (2 / Double(nTest)).squareRoot()
        XCTAssertGreaterThan(r2, expected - spread)
        XCTAssertLessThan(r2, spread)
    }

    func testLatentStabilityIsTheMeanSquaredDifference() {
        XCTAssertEqual(LatentStability.mse(rolledOut: [[0, 0], [1, 1]], reencoded: [[0, 2], [1, 1]]), 1)
    }

    // MARK: metrics.json

    func testMetricsJSONRoundTripsAndWritesNullForWhatWasNotMeasured() throws {
        let scores = (0..<3).map { i in
            TrajectoryScore(id: i, frameMSE: (0..<6).map { 1e-3 * Double(i + $0) }, normalizedMSE: (0..<6).map { 0.01 * Double($0) },
                            reverseFrameMSE: (0..<6).map { 2e-3 * Double($0) })
        }
        let paths = (0..<3).map { i in (0..<6).map { t in [Double(t), Double(t * t + i)] } }
        let metrics = EvaluationMetrics(model: "CpAE + NODE", autoencoder: "runs/cpae", latentModel: "runs/node",
                                        dataset: "pendulum", split: "test", scores: scores, latentPaths: paths,
                                        reconstructionMSE: 2.5e-4, interpolation: .unavailable(reason: "video"),
                                        stateR2: ["theta": 0.97, "theta_dot": 0.9], latentStability: 1e-3)
        let directory = NSTemporaryDirectory() + "cpae-eval-json-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try metrics.write(toDirectory: directory)
        let path = directory + "/metrics.json"
        XCTAssertEqual(try EvaluationMetrics.read(path), metrics)

        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        XCTAssertTrue(object["interpolation_mse"] is NSNull, "interpolation_mse is written as null")
        XCTAssertEqual(object["interpolation_unavailable"] as? String, "video")
        XCTAssertEqual((object["vpt"] as? [String: Double]).map { Set($0.keys) }, ["0.0025", "0.005", "0.01"])
        for key in ["vpt_std", "vpt_median", "vpt_normalized", "vpt_reverse", "jump_ratio_median", "roughness_median",
                    "recon_mse", "state_r2", "latent_stability", "thresholds", "horizon_frames", "model", "trajectories"] {
            XCTAssertNotNil(object[key], key)
        }
    }
}
