import XCTest
@testable import Core

/// Frames between the stored ones, for every simulated system: f = 0 is the stored frame exactly,
/// f = 1 the next one, and a frame step split in two unequal parts stays within the integrator's
/// estimated error of it.
final class EvaluationGroundTruthTests: XCTestCase {
    let frames = 4, size = 32

    func testFractionZeroIsTheStoredFrameAndOneIsTheNext() throws {
        for system in PhysicalSystem.allCases {
            let generator = try system.generator(trajectories: 1, frames: frames, size: size, seed: 5)
            let sequence = try generator.trajectory(0)
            let truth = try FractionalGroundTruth.make(for: generator.description).get()
            let n = sequence.bytesPerFrame
            for t in 0..<(frames - 1) {
                let stored = Array(sequence.frames[(t * n)..<((t + 1) * n)])
                XCTAssertEqual(truth.frame(of: sequence, at: t, fraction: 0), stored, "\(system) frame \(t), f = 0")
                let next = Array(sequence.frames[((t + 1) * n)..<((t + 2) * n)])
                let one = truth.frame(of: sequence, at: t, fraction: 1)
                if system == .circle {
                    // The exact rotation from frame t by ω·dt and from frame 0 by (t+1)·ω·dt differ
                    // by rounding (~1e-16), which can flip one rounding of 255·intensity at most.
                    XCTAssertLessThanOrEqual(maxDifference(one, next), 1, "\(system) frame \(t), f = 1")
                } else {
                    // One whole frame step is the generator's own substep sequence: bit for bit.
                    XCTAssertEqual(one, next, "\(system) frame \(t), f = 1")
                }
                let half = truth.frame(of: sequence, at: t, fraction: 0.5)
                XCTAssertEqual(half.count, n)
                XCTAssertNotEqual(half, stored, "\(system): the system moves within half a frame")
            }
        }
    }

    func testTwoUnequalPartsOfAFrameStepAgreeWithTheStoredNextStateWithinTheIntegratorError() throws {
        for system in [PhysicalSystem.pendulum, .elasticPendulum, .doublePendulum] {
            let generator = try system.generator(trajectories: 1, frames: frames, size: size, seed: 6)
            let s = generator.simulator
            let states = try generator.simulate(0)
            for t in 0..<(frames - 1) {
                // Error estimate of the generator's step: distance to an 8× finer RK4 step (whose own
                // error is 8⁴ = 4096× smaller). Splitting the step at 0.3 adds one shorter substep,
                // so the split path's error is of the same size: allow twice it plus rounding.
                let fine = SimulationRK4.integrate(states[t], steps: 8 * s.substepsPerFrame,
                                                   h: s.frameInterval / Double(8 * s.substepsPerFrame), s.derivative)
                let estimate = distance(states[t + 1], fine)
                let rounding = 1e-13 * max(1, norm(states[t + 1]))
                let split = s.state(at: 0.7 * s.frameInterval, from: s.state(at: 0.3 * s.frameInterval, from: states[t]))
                XCTAssertLessThanOrEqual(distance(split, states[t + 1]), 2 * estimate + rounding, "\(system) frame \(t)")
                // A state error this small moves an edge by ≪ 1/255 of a pixel: at most one rounding flips.
                let a = s.render(split, size: size, channels: 3), b = s.render(states[t + 1], size: size, channels: 3)
                XCTAssertLessThanOrEqual(maxDifference(a, b), 1, "\(system) frame \(t) rendered")
            }
        }
    }

    func testDatasetsWithoutAMatchingSimulatorAreUnavailableNotAnError() {
        let video = DatasetDescription(system: "video", frameCount: 60, height: 128, width: 128, channels: 3, dt: 1 / 60, stateNames: [])
        XCTAssertEqual(FractionalGroundTruth.make(for: video).failure, .noStates(system: "video"))
        let unknown = DatasetDescription(system: "spring", frameCount: 60, height: 128, width: 128, channels: 3, dt: 0.1, stateNames: ["x"])
        XCTAssertEqual(FractionalGroundTruth.make(for: unknown).failure, .unknownSystem("spring"))
        // The loader tests' synthetic pendulum is called "pendulum" but is sampled at 0.05 s.
        let synthetic = DatasetDescription(system: "pendulum", frameCount: 8, height: 16, width: 16, channels: 3, dt: 0.05,
                                           stateNames: ["theta", "theta_dot"])
        guard case .mismatch(let message)? = FractionalGroundTruth.make(for: synthetic).failure else {
            return XCTFail("a dt mismatch must make the ground truth unavailable")
        }
        XCTAssertTrue(message.contains("dt 0.05"), message)
    }

    /// Interpolation is scored for a vector field and never for a discrete per-frame map: the
    /// SympNet's reason is its own, whatever the dataset offers, while a field without ground truth
    /// gets the dataset's reason (not "a discrete map").
    func testOnlyAVectorFieldIsScoredBetweenFrames() throws {
        let generator = try PhysicalSystem.pendulum.generator(trajectories: 1, frames: 5, size: 32, channels: 1, seed: 5)
        let sequence = try generator.trajectory(0)
        let truth = try FractionalGroundTruth.make(for: generator.description).get()
        let autoencoder = try Autoencoder(config: .preset(.small), seed: 1)
        let hnn = try LatentModelConfig(kind: .hnn, dimension: 2, hiddenWidths: [8]).build(seed: 2)
        let sympnet = try LatentModelConfig(kind: .sympnet, dimension: 2, sympnetLayers: 1, sympnetSublayers: 1).build(seed: 2)
        XCTAssertTrue(hnn.predictsBetweenFrames)
        XCTAssertFalse(sympnet.predictsBetweenFrames)

        let field = RolloutEvaluator(autoencoder: autoencoder, dynamics: hnn, groundTruth: truth)
        XCTAssertNil(field.interpolationUnavailable(modelName: "the hnn model", datasetReason: nil))
        let score = try XCTUnwrap(try field.evaluate(sequence).interpolationMSE)
        XCTAssertTrue(score.isFinite && score >= 0)
        let noTruth = RolloutEvaluator(autoencoder: autoencoder, dynamics: hnn, groundTruth: nil)
        XCTAssertEqual(noTruth.interpolationUnavailable(modelName: "the hnn model", datasetReason: "video has no states"), "video has no states")
        XCTAssertNil(try noTruth.evaluate(sequence).interpolationMSE)

        for groundTruth in [truth, nil] {
            let map = RolloutEvaluator(autoencoder: autoencoder, dynamics: sympnet, groundTruth: groundTruth)
            let e = try map.evaluate(sequence)
            XCTAssertNil(e.interpolationMSE)
            XCTAssertEqual(e.score.reverseFrameMSE?.count, e.score.frameMSE.count, "the map is still scored forward and in reverse")
            let reason = try XCTUnwrap(map.interpolationUnavailable(modelName: "the sympnet model", datasetReason: groundTruth == nil ? "video has no states" : nil))
            XCTAssertTrue(reason.hasPrefix("the sympnet model is a discrete map") && reason.contains("no states between frames"), reason)
        }
    }

    private func maxDifference(_ a: [UInt8], _ b: [UInt8]) -> Int {
        zip(a, b).map { abs(Int($0) - Int($1)) }.max() ?? 0
    }

    private func distance(_ a: SimulationState, _ b: SimulationState) -> Double { norm(a - b) }
    private func norm(_ a: SimulationState) -> Double { (a * a).sum().squareRoot() }
}

private extension Result {
    var failure: Failure? { if case .failure(let e) = self { return e } else { return nil } }
}
