import XCTest
@testable import Core

final class ODEDormandPrinceTests: XCTestCase {
    /// On the damped rotation (contractive: ‖e^{At}‖ ≤ 1, so local errors are not amplified), the
    /// global error is at most the sum of the accepted local errors, each ≤ √d·tol in max-norm when its
    /// RMS-scaled estimate is ≤ 1: error ≤ accepted·√n·(atol + rtol·|y|max). Tighter tolerances must
    /// give a smaller error with more steps, and backward integration (negative times) works too.
    func testMeetsItsTolerance() throws {
        let field = LinearTestField.dampedRotation
        let x0: [Float] = [1, 0, 0.3, -0.7]
        var previous = Double.infinity
        for (rtol, atol) in [(1e-3, 1e-5), (1e-5, 1e-7)] {
            let solver = try DormandPrince5(relativeTolerance: rtol, absoluteTolerance: atol)
            let (states, stats) = try solver.states(field, from: x0, at: [5])
            let exact = LinearTestField.exactDampedRotation(x0, time: 5)
            let error = zip(states[0], exact).map { abs(Double($0) - $1) }.max()!
            let bound = Double(stats.accepted) * Double(x0.count).squareRoot() * (atol + rtol * 1.0) + 8 * Double(Float.ulpOfOne)
            XCTAssertLessThanOrEqual(error, bound, "rtol \(rtol): error \(error), \(stats)")
            XCTAssertLessThan(error, previous)
            XCTAssertGreaterThan(stats.accepted, 0)
            previous = error
        }
        let solver = try DormandPrince5(relativeTolerance: 1e-5, absoluteTolerance: 1e-7)
        let atThree = LinearTestField.exactDampedRotation(x0, time: 3).map(Float.init)
        let back = try solver.states(field, from: atThree, at: [-3]).states[0]
        for (a, b) in zip(back, x0) { XCTAssertEqual(a, b, accuracy: 1e-4) }
    }

    /// The step limit throws a clear error instead of looping: a field that blows up in finite
    /// time (dx/dt = x², x₀ = 1: singular at t = 1) cannot be integrated to t = 2.
    func testStepLimitThrows() throws {
        let field = LinearTestField.dampedRotation
        let solver = try DormandPrince5(relativeTolerance: 1e-9, absoluteTolerance: 1e-12, maxSteps: 5)
        XCTAssertThrowsError(try solver.states(field, from: [1, 0], at: [50])) { error in
            guard case ODEError.stepLimitExceeded(let limit, _, _, let reached)? = error as? ODEError else {
                return XCTFail("expected stepLimitExceeded, got \(error)")
            }
            XCTAssertEqual(limit, 5)
            XCTAssertLessThan(reached, 50)
            XCTAssertTrue("\(error)".contains("raise maxSteps"))
        }
        let blowUp = SquareField()
        let tolerant = try DormandPrince5(maxSteps: 2000)
        XCTAssertThrowsError(try tolerant.states(blowUp, from: [1], at: [2]))
        XCTAssertThrowsError(try DormandPrince5(maxSteps: 0))
    }
}

/// dx/dt = x² (one dimension), whose solution 1/(1 − t) blows up at t = 1.
final class SquareField: VectorField {
    let store = ParameterStore(seed: 0)
    let dimension = 1
    var recordFloatsPerRow: Int { 0 }
    var scratchFloatsPerRow: Int { 0 }
    var multiplyAddsPerRow: Int { 1 }
    func evaluate(_ x: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>,
                  record: UnsafeMutablePointer<Float>?, scratch: UnsafeMutablePointer<Float>) {
        for i in 0..<rows { output[i] = x[i] * x[i] }
    }
    func pullback(record: UnsafePointer<Float>, rows: Int, cotangent: UnsafePointer<Float>, inputGradient: UnsafeMutablePointer<Float>,
                  parameterGradients: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        fatalError("not recorded")
    }
}
