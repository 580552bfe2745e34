import XCTest
@testable import Core

final class AdamTests: XCTestCase {
    /// Textbook Adam in Double: m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ), θ −= lr·m̂/(√v̂ + ε), with L2 decay
    /// folded into the gradient.
    private func referenceAdam(p0: [Double], grads: [[Double]], lrs: [Double], weightDecay: Double)
        -> (p: [Double], m: [Double], v: [Double]) {
        var p = p0, m = [Double](repeating: 0, count: p0.count), v = m
        for (t, g0) in grads.enumerated() {
            let step = Double(t + 1)
            for i in p.indices {
                let g = g0[i] + weightDecay * p[i]
                m[i] = 0.9 * m[i] + 0.1 * g
                v[i] = 0.999 * v[i] + 0.001 * g * g
                let mhat = m[i] / (1 - pow(0.9, step)), vhat = v[i] / (1 - pow(0.999, step))
                p[i] -= lrs[t] * mhat / (vhat.squareRoot() + 1e-8)
            }
        }
        return (p, m, v)
    }

    private func run(p0: [Float], grads: [[Float]], lrs: [Float], weightDecay: Double) -> (p: [Float], adam: Adam) {
        let adam = Adam(parameterCount: p0.count, weightDecay: weightDecay)
        var p = p0
        for (g, lr) in zip(grads, lrs) {
            p.withUnsafeMutableBufferPointer { pb in
                g.withUnsafeBufferPointer { adam.update(parameters: pb.baseAddress!, gradients: $0.baseAddress!, learningRate: lr) }
            }
        }
        return (p, adam)
    }

    func testThreeStepsMatchHandComputedDouble() {
        let p0: [Float] = [0.5, -1.25, 3.0, 0.0, 2e-3]
        let grads: [[Float]] = [[0.1, -0.2, 3.0, 0.0, 1e-5],
                                [0.3, 0.2, -1.0, 0.0, -1e-5],
                                [-0.05, 0.4, 0.5, 0.0, 2e-5]]
        let lrs: [Float] = [1e-2, 5e-3, 1e-3]
        for wd in [0.0, 0.1] {
            let (p, adam) = run(p0: p0, grads: grads, lrs: lrs, weightDecay: wd)
            let ref = referenceAdam(p0: p0.map(Double.init), grads: grads.map { $0.map(Double.init) },
                                    lrs: lrs.map(Double.init), weightDecay: wd)
            XCTAssertEqual(adam.step, 3)
            for i in p.indices {
                XCTAssertEqual(Double(p[i]), ref.p[i], accuracy: 1e-6 * max(1, abs(ref.p[i])), "θ[\(i)] wd \(wd)")
                XCTAssertEqual(Double(adam.firstMoment[i]), ref.m[i], accuracy: 1e-6 * max(1e-3, abs(ref.m[i])), "m[\(i)]")
                XCTAssertEqual(Double(adam.secondMoment[i]), ref.v[i], accuracy: 1e-6 * max(1e-6, abs(ref.v[i])), "v[\(i)]")
            }
            // Weight decay must change the result where θ ≠ 0, and not where θ = 0 and g = 0.
            if wd > 0 {
                let plain = run(p0: p0, grads: grads, lrs: lrs, weightDecay: 0).p
                XCTAssertNotEqual(p[0], plain[0])
                XCTAssertEqual(p[3], 0)
            }
        }
    }

    func testFirstStepMovesEachParameterByTheLearningRate() {
        // At t = 1, m̂ = g and v̂ = g², so θ moves by lr·g/(|g| + ε) ≈ lr·sign(g) whatever |g| is.
        let p0: [Float] = [1, 1, 1, 1]
        let (p, _) = run(p0: p0, grads: [[1e-3, -50, 7, 0]], lrs: [0.01], weightDecay: 0)
        XCTAssertEqual(p[0], 0.99, accuracy: 1e-6)
        XCTAssertEqual(p[1], 1.01, accuracy: 1e-6)
        XCTAssertEqual(p[2], 0.99, accuracy: 1e-6)
        XCTAssertEqual(p[3], 1)   // zero gradient: m = 0, no move
    }

    func testMatchesTorchOptimAdamFixture() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/adam_torch.json").path
        let reader = try FileReader(path: path)
        let fixture = try JSONCoding.decode(AdamFixture.self, from: try reader.read(count: reader.size, at: 0), file: path)
        let p0 = fixture.p0, lrs = fixture.lrs, grads = fixture.grads
        XCTAssertEqual(fixture.cases.count, 2)
        for c in fixture.cases {
            let wd = c.weight_decay, after = c.after
            let adam = Adam(parameterCount: p0.count, weightDecay: wd)
            var p = p0
            var worstUlps: Float = 0
            for t in grads.indices {
                p.withUnsafeMutableBufferPointer { pb in
                    grads[t].withUnsafeBufferPointer {
                        adam.update(parameters: pb.baseAddress!, gradients: $0.baseAddress!, learningRate: lrs[t])
                    }
                }
                let expected = after[t]
                for i in p.indices {
                    let ulps = abs(p[i] - expected[i]) / expected[i].ulp
                    worstUlps = max(worstUlps, ulps)
                    XCTAssertLessThanOrEqual(ulps, 2, "θ[\(i)] after step \(t + 1), wd \(wd): \(p[i]) vs torch \(expected[i])")
                }
            }
            // PyTorch's AVX kernel computes the moment's lerp m + w·(g − m) with a fused multiply-add,
            // this loop (Swift's default x86-64 target has no FMA) does not, so m can differ by an
            // ulp of w·(g − m): the bound is relative to the element's largest gradient.
            let m = c.m, v = c.v
            for i in p.indices {
                let gMax = grads.map { abs($0[i]) + Float(wd) * abs(p[i]) }.max()!
                XCTAssertEqual(adam.firstMoment[i], m[i], accuracy: 2e-7 * gMax + m[i].ulp, "m[\(i)]")
                XCTAssertEqual(adam.secondMoment[i], v[i], accuracy: 2e-7 * gMax * gMax + v[i].ulp, "v[\(i)]")
            }
            XCTAssertEqual(adam.step, c.step)
            print("Adam vs torch.optim.Adam (wd \(wd)): worst parameter difference \(worstUlps) ulp over \(grads.count) steps")
        }
    }

    func testUpdateThroughParameterStoreAndReset() {
        let store = ParameterStore(seed: 3)
        let a = store.addParameter("a", shape: [2, 3], initializer: .uniform(bound: 1))
        let b = store.addParameter("b", shape: [4], initializer: .constant(0.5))
        let adam = Adam(store: store)
        let before = store.valueArray(a) + store.valueArray(b)
        for i in 0..<store.parameterCount { store.gradients[i] = Float(i) - 4 }
        adam.update(store, learningRate: 0.1)
        let after = store.valueArray(a) + store.valueArray(b)
        for i in 0..<store.parameterCount {
            let g = Float(i) - 4
            XCTAssertEqual(after[i] - before[i], g == 0 ? 0 : (g > 0 ? -0.1 : 0.1), accuracy: 1e-5)
        }
        adam.reset()
        XCTAssertEqual(adam.step, 0)
        XCTAssertTrue(adam.firstMomentArray.allSatisfy { $0 == 0 } && adam.secondMomentArray.allSatisfy { $0 == 0 })
    }

    /// Measures one update over 1.3 M parameters (the full CpAE's size); reported, not asserted,
    /// because timings on the shared machine are noisy.
    func testThroughputOnModelSizedBuffer() {
        let n = 1_304_818
        let adam = Adam(parameterCount: n, weightDecay: 0)
        let p = UnsafeMutablePointer<Float>.allocate(capacity: n), g = UnsafeMutablePointer<Float>.allocate(capacity: n)
        defer { p.deallocate(); g.deallocate() }
        var rng = RNG(seed: 5)
        for i in 0..<n { p[i] = rng.uniformFloat() - 0.5; g[i] = rng.uniformFloat() - 0.5 }
        adam.update(parameters: p, gradients: g, learningRate: 1e-3)   // warm up
        var times: [Double] = []
        for _ in 0..<15 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            adam.update(parameters: p, gradients: g, learningRate: 1e-3)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
        }
        times.sort()
        XCTAssertTrue((0..<n).allSatisfy { p[$0].isFinite })
        print(String(format: "Adam update of %d floats: median %.3f ms, best %.3f ms (%.1f GB/s moved at best)",
                     n, times[times.count / 2], times[0], Double(n * 4 * 7) / (times[0] * 1e6)))
    }

    // MARK: Schedules

    func testConstantSchedule() {
        let s = LearningRateSchedule.constant(1e-3)
        XCTAssertEqual(s.rate(atStep: 0), 1e-3)
        XCTAssertEqual(s.rate(atStep: 123_456), 1e-3)
    }

    func testExponentialScheduleMatchesReferencePerIterationFactor() {
        // The reference multiplies lr by 10^(−1/500000) each iteration from 0.01.
        let s = LearningRateSchedule.exponential(initial: 0.01, final: 0.001, steps: 500_000)
        XCTAssertEqual(s.rate(atStep: 0), 0.01)
        XCTAssertEqual(s.rate(atStep: 500_000), 0.001, accuracy: 1e-10)
        XCTAssertEqual(s.rate(atStep: 250_000), Float((0.01 * 0.001).squareRoot()), accuracy: 1e-9)
        for t in [1, 777, 123_456] {
            XCTAssertEqual(Double(s.rate(atStep: t)), 0.01 * pow(10, -Double(t) / 500_000), accuracy: 1e-9)
        }
        XCTAssertEqual(s.rate(atStep: 600_000), 0.001, accuracy: 1e-10, "held at the final value after N steps")
        let decreasing = (0..<100).map { s.rate(atStep: $0 * 5000) }
        XCTAssertEqual(decreasing, decreasing.sorted(by: >))
    }

    func testStepDecayMatchesMultiStepLR() {
        let s = LearningRateSchedule.stepDecay(initial: 1, gamma: 0.5, milestones: [2, 4])
        XCTAssertEqual((0..<7).map { s.rate(atStep: $0) }, [1, 1, 0.5, 0.5, 0.25, 0.25, 0.25])
    }

    func testScheduleParsing() throws {
        XCTAssertEqual(try LearningRateSchedule(parsing: "constant:1e-3"), .constant(1e-3))
        XCTAssertEqual(try LearningRateSchedule(parsing: "exp:0.01:0.001:50000"),
                       .exponential(initial: 0.01, final: 0.001, steps: 50_000))
        XCTAssertEqual(try LearningRateSchedule(parsing: "step:0.1:0.5:100,200"),
                       .stepDecay(initial: 0.1, gamma: 0.5, milestones: [100, 200]))
        for s in [LearningRateSchedule.constant(1e-3), .exponential(initial: 0.01, final: 0.001, steps: 500_000),
                  .stepDecay(initial: 0.1, gamma: 0.5, milestones: [100, 200])] {
            XCTAssertEqual(try LearningRateSchedule(parsing: s.description), s, s.description)
        }
        for bad in ["", "constant", "constant:-1", "exp:0.01:0.001", "exp:0.01:0.001:0", "step:1:0.5:200,100", "cosine:1"] {
            XCTAssertThrowsError(try LearningRateSchedule(parsing: bad), bad) { error in
                XCTAssertTrue("\(error)".contains("'\(bad)'"), "\(error)")
            }
        }
    }

    /// tools/adam_fixture.py's output: torch.optim.Adam's trajectory from p0 under the given
    /// gradients and learning rates, for each weight decay.
    private struct AdamFixture: Decodable {
        struct Case: Decodable {
            var weight_decay: Double
            var after: [[Float]]
            var m: [Float]
            var v: [Float]
            var step: Int
        }
        var p0: [Float]
        var grads: [[Float]]
        var lrs: [Float]
        var cases: [Case]
    }
}
