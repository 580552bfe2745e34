import XCTest
@testable import Core

/// Central finite differences at two step sizes for the latent-dynamics gradient checks.
///
/// For a coordinate v and loss L: D(s) = (L(v + s) − L(v − s)) / (actual 2s). Its truncation error
/// is c·s² + O(s⁴), so D(s/2)'s error is ≈ |D(s) − D(s/2)|/3: the disagreement of the two step
/// sizes bounds it (with a factor 2 margin, used as-is). Float32 rounding in the loss adds an error of
/// ≈ noise/s, with noise ≈ k·ε₃₂·|L| for a loss built from k chained float operations per value
/// (k = 64 covers the deepest path here: 3 layers × 4 stages × 2 substeps). The check passes when
///
///     |analytic − D(s/2)| ≤ 2·|D(s) − D(s/2)| + 64·ε₃₂·max(|L|, lossScale) / (s/2)
///
/// — no tolerance constant tuned on one CPU: both terms are error estimates from this run.
enum ODEFiniteDifference {
    struct Result {
        var passed: Bool
        var worstRatio: Double
        var message: String
    }

    static func check(values: UnsafeMutablePointer<Float>, count: Int, analytic: [Float], probes: Int = 24,
                      step: Float = 1e-2, lossScale: Double = 0, seed: UInt64 = 7, loss: () -> Double) -> Result {
        precondition(analytic.count == count, "analytic gradient has \(analytic.count) entries, values \(count)")
        var rng = RNG(seed: seed)
        let indices: [Int] = count <= probes ? Array(0..<count) : (0..<probes).map { _ in Int(rng.next() % UInt64(count)) }
        let l0 = loss()
        let noise = 64 * Double(Float.ulpOfOne) * max(abs(l0), lossScale)
        var worst = 0.0, message = "ok"
        for i in indices {
            let v0 = values[i]
            func derivative(_ s: Float) -> Double {
                let up = v0 + s, down = v0 - s
                values[i] = up; let lu = loss()
                values[i] = down; let ld = loss()
                values[i] = v0
                return (lu - ld) / Double(up - down)
            }
            let d1 = derivative(step), d2 = derivative(step / 2)
            let bound = 2 * abs(d1 - d2) + noise / Double(step / 2)
            let err = abs(Double(analytic[i]) - d2)
            let ratio = err / max(bound, .leastNormalMagnitude)
            if ratio > worst {
                worst = ratio
                message = "coordinate \(i): analytic \(analytic[i]), finite difference \(d2) (other step \(d1)), bound \(bound)"
            }
        }
        return Result(passed: worst <= 1, worstRatio: worst, message: message)
    }

    static func assertPasses(_ r: Result, _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(r.passed, "\(label): \(r.message) (\(r.worstRatio)× the bound)", file: file, line: line)
    }
}

/// The checker itself: a right gradient passes, a deliberately wrong one (flipped sign, or one
/// coordinate off) fails the same check.
final class ODEFiniteDifferenceTests: XCTestCase {
    func testRightGradientPassesAndFlippedSignFails() throws {
        let field = try MLPVectorField(dimension: 4, hiddenWidths: [16, 16], seed: 3)
        let integrator = try FixedStepIntegrator(field: field, method: .midpoint, substeps: 2)
        let (starts, targets) = ODETestData.pairs(rows: 6, dimension: 4, seed: 11)
        let store = field.store
        store.zeroGradients()
        integrator.lossAndGradient(starts: starts, targets: [targets], frameStep: 0.1)
        let g = Array(UnsafeBufferPointer(start: store.gradients, count: store.parameterCount))
        let loss = { () -> Double in
            let saved = Array(UnsafeBufferPointer(start: store.gradients, count: store.parameterCount))
            defer { store.gradients.update(from: saved, count: saved.count) }
            return integrator.lossAndGradient(starts: starts, targets: [targets], frameStep: 0.1)
        }
        let right = ODEFiniteDifference.check(values: store.values, count: store.parameterCount, analytic: g, loss: loss)
        ODEFiniteDifference.assertPasses(right, "midpoint gradient")
        let flipped = ODEFiniteDifference.check(values: store.values, count: store.parameterCount, analytic: g.map { -$0 }, loss: loss)
        XCTAssertFalse(flipped.passed, "a sign-flipped gradient must fail the check (worst \(flipped.worstRatio))")
        XCTAssertGreaterThan(flipped.worstRatio, 10)
    }
}

/// Shared deterministic test data.
enum ODETestData {
    /// Starts ~ N(0, 1) and targets = starts + N(0, 0.3²) (rows×d each).
    static func pairs(rows: Int, dimension d: Int, seed: UInt64) -> ([Float], [Float]) {
        var rng = RNG(seed: seed)
        let s = (0..<(rows * d)).map { _ in Float(rng.normal()) }
        let t = s.map { $0 + 0.3 * Float(rng.normal()) }
        return (s, t)
    }

    static func normals(_ n: Int, seed: UInt64, std: Float = 1) -> [Float] {
        var rng = RNG(seed: seed)
        return (0..<n).map { _ in std * Float(rng.normal()) }
    }
}

/// f(x) = x·Aᵀ (rows × d) with a fixed A and no parameters: the linear test ODE with a known
/// solution, for convergence orders and tolerance checks.
final class LinearTestField: VectorField {
    let store = ParameterStore(seed: 0)
    let dimension: Int
    let matrix: [Float]   // d×d row-major
    init(matrix: [Float], dimension: Int) { self.matrix = matrix; self.dimension = dimension }
    var recordFloatsPerRow: Int { 0 }
    var scratchFloatsPerRow: Int { 0 }
    var multiplyAddsPerRow: Int { dimension * dimension }
    func evaluate(_ x: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>,
                  record: UnsafeMutablePointer<Float>?, scratch: UnsafeMutablePointer<Float>) {
        let d = dimension
        for r in 0..<rows { for i in 0..<d { var s: Float = 0; for j in 0..<d { s += matrix[i * d + j] * x[r * d + j] }; output[r * d + i] = s } }
    }
    func pullback(record: UnsafePointer<Float>, rows: Int, cotangent: UnsafePointer<Float>, inputGradient: UnsafeMutablePointer<Float>,
                  parameterGradients: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let d = dimension
        for r in 0..<rows { for j in 0..<d { var s: Float = 0; for i in 0..<d { s += matrix[i * d + j] * cotangent[r * d + i] }; inputGradient[r * d + j] = s } }
    }

    /// The damped rotation A = [[−0.1, 1], [−1, −0.1]]: exact solution e^{−0.1t}·R(−t)·x₀.
    static let dampedRotation = LinearTestField(matrix: [-0.1, 1, -1, -0.1], dimension: 2)

    static func exactDampedRotation(_ x0: [Float], time t: Double) -> [Double] {
        let decay = exp(-0.1 * t), c = cos(t), s = sin(t)
        var out: [Double] = []
        for r in 0..<(x0.count / 2) {
            let a = Double(x0[2 * r]), b = Double(x0[2 * r + 1])
            out += [decay * (c * a + s * b), decay * (-s * a + c * b)]
        }
        return out
    }
}
