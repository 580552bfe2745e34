import XCTest
import Foundation
@testable import Core

/// Largest component difference of two states.
func stateDistance(_ a: SimulationState, _ b: SimulationState) -> Double {
    let d = a - b
    return Swift.max(d.max(), (-d).max())
}

final class SimulatorTests: XCTestCase {
    private func maxDifference(_ a: [SimulationState], _ b: [SimulationState]) -> Double {
        zip(a, b).map { stateDistance($0, $1) }.max() ?? 0
    }

    func testUndampedPendulumConservesEnergy() {
        var p = DampedPendulum(); p.damping = 0
        var rng = RNG(seed: 11)
        for trajectory in 0..<5 {
            let y0 = p.sampleInitialState(trajectory: trajectory, frames: 60, rng: &rng)
            let states = p.frameStates(from: y0, frames: 60)
            let e0 = p.energy(y0), scale = abs(e0) + 3 * p.gravity / (2 * p.length)
            let drift = states.map { abs(p.energy($0) - e0) }.max()!
            XCTAssertLessThan(drift / scale, 1e-9, "trajectory \(trajectory): relative energy drift \(drift / scale)")
            // Not a trivial rest state: the pendulum really moves.
            XCTAssertGreaterThan(states.map { $0[0] }.max()! - states.map { $0[0] }.min()!, 0.1)
        }
    }

    func testDampedPendulumLosesEnergyAtTheRightRate() {
        let p = DampedPendulum()
        var y0 = SimulationState(repeating: 0); y0[0] = 1.2; y0[1] = -3
        let states = p.frameStates(from: y0, frames: 60)
        let energies = states.map(p.energy)
        for k in 1..<energies.count { XCTAssertLessThanOrEqual(energies[k], energies[k - 1] + 1e-12, "frame \(k)") }
        // dE/dt = −λ·θ'²: compare the energy lost with the integral of λθ'² (Simpson on a
        // finely sampled copy of the trajectory).
        let fine = 600, h = Double(59) * p.frameInterval / Double(fine)
        var sampler = p; sampler.frameInterval = h; sampler.substepsPerFrame = 8
        let samples = sampler.frameStates(from: y0, frames: fine + 1).map { $0[1] }
        var integral = samples[0] * samples[0] + samples[fine] * samples[fine]
        for i in 1..<fine { integral += (i % 2 == 1 ? 4 : 2) * samples[i] * samples[i] }
        integral *= h / 3
        let lost = energies[0] - energies[59]
        XCTAssertGreaterThan(lost, 1)
        XCTAssertEqual(lost, p.damping * integral, accuracy: 1e-6 * lost)
    }

    func testHalvingTheStepChangesStatesByLessThan1e9() throws {
        var pendulum = DampedPendulum()
        var elastic = ElasticDoublePendulum()
        var double = RigidDoublePendulum()
        let generators: [(String, () -> (any PhysicalSimulator, any PhysicalSimulator))] = [
            ("pendulum", { let a = pendulum; pendulum.substepsPerFrame *= 2; return (a, pendulum) }),
            ("elastic", { let a = elastic; elastic.substepsPerFrame *= 2; return (a, elastic) }),
            ("double", { let a = double; double.substepsPerFrame *= 2; return (a, double) }),
        ]
        for (name, make) in generators {
            let (coarse, fine) = make()
            let gen = try DatasetGenerator(simulator: coarse, trajectories: 12, frames: 60, size: 8, channels: 1, seed: 5)
            for id in 0..<gen.trajectories {
                let states = try gen.simulate(id)
                let refined = fine.frameStates(from: states[0], frames: 60)
                let difference = maxDifference(states, refined)
                XCTAssertLessThan(difference, 1e-9, "\(name) trajectory \(id): halving the step moved a state by \(difference)")
            }
        }
    }

    func testElasticRejectionRuleHoldsAndBites() throws {
        let e = ElasticDoublePendulum()
        let gen = try DatasetGenerator(simulator: e, trajectories: 24, frames: 60, size: 8, channels: 1, seed: 0)
        for id in 0..<24 {
            let states = try gen.simulate(id)
            for (k, y) in states.enumerated() {
                XCTAssertLessThanOrEqual(e.violation(y), 0, "trajectory \(id) frame \(k)")
                let tipX = (e.restLength + y[2]) * sin(y[0]) + e.rodLength * sin(y[1])
                let tipY = (e.restLength + y[2]) * cos(y[0]) + e.rodLength * cos(y[1])
                XCTAssertLessThanOrEqual(abs(tipX), e.restLength + e.rodLength + 0.16 + 1e-12)
                XCTAssertLessThanOrEqual(abs(tipY), e.restLength + e.rodLength + 0.16 + 1e-12)
                XCTAssertGreaterThanOrEqual(y[2], -0.08)
            }
        }
        // The rule is not vacuous: some raw draws are rejected.
        var rng = RNG(seed: 99), rejected = 0
        for i in 0..<60 {
            let y0 = e.sampleInitialState(trajectory: i, frames: 60, rng: &rng)
            if !e.accepts(e.frameStates(from: y0, frames: 60)) { rejected += 1 }
        }
        XCTAssertGreaterThan(rejected, 0)
        XCTAssertLessThan(rejected, 60)
    }

    func testElasticAndRigidDoublePendulumsConserveEnergy() throws {
        let e = ElasticDoublePendulum()
        let eg = try DatasetGenerator(simulator: e, trajectories: 3, frames: 60, size: 8, channels: 1, seed: 1)
        for id in 0..<3 {
            let states = try eg.simulate(id)
            let e0 = e.energy(states[0])
            let drift = states.map { abs(e.energy($0) - e0) }.max()!
            XCTAssertLessThan(drift, 1e-9 * max(abs(e0), 0.1), "elastic trajectory \(id)")
        }
        let d = RigidDoublePendulum()
        let dg = try DatasetGenerator(simulator: d, trajectories: 3, frames: 60, size: 8, channels: 1, seed: 1)
        for id in 0..<3 {
            let states = try dg.simulate(id)
            let e0 = d.energy(states[0])
            let drift = states.map { abs(d.energy($0) - e0) }.max()!
            XCTAssertLessThan(drift, 1e-9 * max(abs(e0), 0.1), "double trajectory \(id)")
        }
        var damped = d; damped.jointFriction = 0.002
        let states = damped.frameStates(from: try dg.simulate(0)[0], frames: 60)
        XCTAssertLessThan(damped.energy(states[59]), damped.energy(states[0]) - 1e-6, "joint friction dissipates")
    }

    func testCircleFollowsTheFormula() throws {
        let c = CircularMotion()
        let gen = try PhysicalSystem.circle.generator(seed: 0)
        XCTAssertEqual(gen.trajectories, 1); XCTAssertEqual(gen.frames, 220)
        XCTAssertEqual(gen.size, 48); XCTAssertEqual(gen.channels, 1)
        let sequence = try gen.trajectory(0)
        for k in [0, 1, 17, 69, 70, 219] {
            let x = sequence.states[2 * k], y = sequence.states[2 * k + 1]
            XCTAssertEqual(x, -0.35 * sin(0.1 * Double(k)), accuracy: 1e-12, "frame \(k)")
            XCTAssertEqual(y, 0.35 * cos(0.1 * Double(k)), accuracy: 1e-12, "frame \(k)")
            // Pixel values: round(255·sigmoid(500(r² − d²))) at A = j/48 − ½, B = (47 − i)/48 − ½.
            for (i, j) in [(10, 24), (24, 24), (5, 30), (40, 8)] {
                let a = Double(j) / 48 - 0.5, b = Double(47 - i) / 48 - 0.5
                let v = 1 / (1 + exp(-500 * (0.01 - ((a - x) * (a - x) + (b - y) * (b - y)))))
                XCTAssertEqual(sequence.frames[k * 48 * 48 + i * 48 + j], UInt8((255 * v).rounded()), "frame \(k) pixel (\(i), \(j))")
            }
            // The image's intensity centroid sits on the ball (in the formula's pixel coordinates).
            var sx = 0.0, sy = 0.0, total = 0.0
            for i in 0..<48 { for j in 0..<48 {
                let v = Double(sequence.frames[k * 2304 + i * 48 + j])
                sx += v * (Double(j) / 48 - 0.5); sy += v * (Double(47 - i) / 48 - 0.5); total += v
            } }
            XCTAssertEqual(sx / total, x, accuracy: 0.5 / 48); XCTAssertEqual(sy / total, y, accuracy: 0.5 / 48)
        }
        let splits = c.defaultSplits(trajectories: 1, frames: 220, seed: 0)
        XCTAssertEqual(splits.trainFrames, [0, 70]); XCTAssertEqual(splits.testFrames, [70, 220])
        XCTAssertEqual(splits.train, [0]); XCTAssertEqual(splits.test, [0])
    }

    func testTrajectoriesAreSeededAndIndependentOfEachOther() throws {
        for system in [PhysicalSystem.pendulum, .elasticPendulum, .doublePendulum] {
            let small = try system.generator(trajectories: 6, frames: 12, size: 16, channels: 3, seed: 42)
            let large = try system.generator(trajectories: 20, frames: 12, size: 16, channels: 3, seed: 42)
            let other = try system.generator(trajectories: 6, frames: 12, size: 16, channels: 3, seed: 43)
            var streamed: [FrameSequence] = []
            var reported: [Int] = []
            try small.generate(threads: 2, progress: { done, _ in reported.append(done) }) { streamed.append($0) }
            XCTAssertEqual(streamed.map(\.id), Array(0..<6))
            XCTAssertEqual(reported.last, 6)
            for id in 0..<6 {
                let a = try small.trajectory(id), b = try large.trajectory(id)
                XCTAssertEqual(a.frames, b.frames, "\(system) \(id): independent of the trajectory count")
                XCTAssertEqual(a.states, b.states)
                XCTAssertEqual(streamed[id].frames, a.frames, "\(system) \(id): parallel = serial")
                XCTAssertNotEqual(try other.trajectory(id).states, a.states, "\(system) \(id): the seed matters")
            }
            XCTAssertNotEqual(try small.trajectory(0).states, try small.trajectory(1).states)
            XCTAssertEqual(try small.lazyTrajectories.map { try $0.get().frames }, streamed.map(\.frames), "lazy = streamed")
        }
    }

    func testStateAtAnyTimeMatchesAFinerIntegration() throws {
        for system in [PhysicalSystem.pendulum, .elasticPendulum, .doublePendulum] {
            let gen = try system.generator(trajectories: 1, frames: 10, size: 8, channels: 1, seed: 7)
            let s = gen.simulator
            let states = try gen.simulate(0)
            for t in [0.37, 2.5, 7.999] {
                let time = t * s.frameInterval
                let y = s.state(at: time, from: states[0])
                // Independent reference: 4000 uniform RK4 steps straight from frame 0.
                let reference = SimulationRK4.integrate(states[0], steps: 4000, h: time / 4000, s.derivative)
                XCTAssertLessThan(stateDistance(y, reference), 1e-9, "\(system) at \(t) frames")
            }
            for k in 0..<10 {
                XCTAssertEqual(s.state(at: Double(k) * s.frameInterval, from: states[0]), states[k], "\(system) frame \(k) exact")
            }
        }
    }

    func testDefaultSplitsAreSeededPartitions() {
        let splits = TrajectorySplitter.byTrajectory(count: 1200, seed: 1)
        XCTAssertEqual(splits.train.count, 960); XCTAssertEqual(splits.validation.count, 120); XCTAssertEqual(splits.test.count, 120)
        XCTAssertEqual(Set(splits.train + splits.validation + splits.test), Set(0..<1200))
        XCTAssertEqual(splits, TrajectorySplitter.byTrajectory(count: 1200, seed: 1))
        XCTAssertNotEqual(splits, TrajectorySplitter.byTrajectory(count: 1200, seed: 2))
        XCTAssertNotEqual(splits.test, Array(1080..<1200), "shuffled, not the last ids")
    }

    func testDefaultsMatchTheReference() throws {
        let p = try PhysicalSystem.pendulum.generator()
        XCTAssertEqual([p.trajectories, p.frames, p.size, p.channels], [1200, 60, 128, 3])
        XCTAssertEqual(p.description.dt, 2.0 / 60.0)
        XCTAssertEqual(p.description.stateNames, ["theta", "theta_dot"])
        let e = try PhysicalSystem.elasticPendulum.generator()
        XCTAssertEqual([e.trajectories, e.frames, e.size], [1200, 60, 128])
        XCTAssertEqual(e.description.dt, 1.0 / 60.0)
        XCTAssertEqual(e.description.system, "elastic_pendulum")
        XCTAssertEqual(try PhysicalSystem.doublePendulum.generator().trajectories, 1099)
        XCTAssertThrowsError(try PhysicalSystem.pendulum.generator(channels: 2))
        XCTAssertThrowsError(try PhysicalSystem.pendulum.generator(frames: 1))
    }

    /// (state, dy/dt) pairs from tools/make_simulator_fixture.py: docs/method.md §Data's 3×3 system solved with
    /// numpy.linalg.solve, and the damped pendulum, at seeded random states.
    private static let elasticReference: [([Double], [Double])] = [
    ([6.248362670040135, 2.4002379913301026, 0.045800721792853966, 5.396084419039834, 14.274270304708708, -0.8455499422800634], [5.396084419039834, 14.274270304708708, -0.8455499422800634, -9.180305108479503, -346.7943674511614, -33.568604487522435]),
    ([1.9946374489327738, 5.777737021759437, 0.024621739097680104, -3.426801030950127, -3.3137092552029195, -0.539560881231762], [-3.426801030950127, -3.3137092552029195, -0.539560881231762, -3.943874238200338, 171.84389295168884, -20.28227888498075]),
    ([1.0490478487078407, 0.964069516146846, 0.06637283811547592, -1.2176664111439024, -13.105683162204356, -0.01682703109390693], [-1.2176664111439024, -13.105683162204356, -0.01682703109390693, -57.89031898906538, 65.70479365312828, -4.026105268466864]),
    ([1.8117148498802356, 1.3296246203988276, -0.04095946667267697, 1.2643284653993234, 2.7255078529497823, 0.7761289819939012], [1.2643284653993234, 2.7255078529497823, 0.7761289819939012, 35.152023465712226, -221.48746741809893, 22.595668535862508]),
    ([0.6901008130994805, 3.1183583067826666, -0.02938148310810488, -0.2263767672647763, 13.455584383803235, 0.8530180401685392], [-0.2263767672647763, 13.455584383803235, 0.8530180401685392, 113.4308153901853, 224.23910089315336, 19.137701728201254]),
    ([4.775853772331159, 4.9136142309592525, -0.031092887361337383, 0.28194451682890254, 9.1374445854224, 0.5320209795908835], [0.28194451682890254, 9.1374445854224, 0.5320209795908835, 35.084953180043804, 49.80034808905987, 19.956395356501336]),
    ]
    private static let pendulumReference: [([Double], [Double])] = [
    ([0.4419709513201471, 4.217037618046302], [4.217037618046302, -13.431261807023837]),
    ([2.1121539682437795, -1.5465795729421945], [-1.5465795729421945, -24.912484818071196]),
    ([-0.25738335286732594, -2.385810981486741], [-2.385810981486741, 7.968597335158357]),
    ([1.8631722885347735, -0.07461523737323361], [-0.07461523737323361, -28.166119545515453]),
    ]

    func testVectorFieldsMatchNumpyReference() {
        let e = ElasticDoublePendulum()
        for (y, expected) in Self.elasticReference {
            let got = e.derivative(SimulationState(packing: y, dimension: 6)).unpacked(6)
            for i in 0..<6 {
                XCTAssertEqual(got[i], expected[i], accuracy: 1e-10 * max(1, abs(expected[i])), "elastic component \(i) at \(y)")
            }
        }
        let p = DampedPendulum()
        for (y, expected) in Self.pendulumReference {
            let got = p.derivative(SimulationState(packing: y, dimension: 2)).unpacked(2)
            XCTAssertEqual(got[0], expected[0], accuracy: 1e-12); XCTAssertEqual(got[1], expected[1], accuracy: 1e-12)
        }
    }
}
