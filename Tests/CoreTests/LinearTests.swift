import XCTest
@testable import Core

final class LinearTests: XCTestCase {
    private func checkGradients(xShape: [Int], inFeatures: Int, outFeatures: Int, bias: Bool, seed: UInt64) {
        let store = ParameterStore(seed: seed)
        let lin = Linear(store: store, name: "fc", inFeatures: inFeatures, outFeatures: outFeatures, bias: bias)
        let x = GradientCheck.random(xShape, seed: seed &+ 1)
        let r = GradientCheck.random([xShape[0], outFeatures], seed: seed &+ 2)
        store.zeroGradients()
        let y = lin.forward(x)
        XCTAssertEqual(y.shape, [xShape[0], outFeatures])
        let dx = lin.backward(r, input: x)
        XCTAssertEqual(dx.shape, x.shape)
        let loss = { GradientCheck.dot(r, lin.forward(x)) }
        let tag = "\(xShape) \(inFeatures)→\(outFeatures)"
        // Linear is exactly linear in each argument: finite differences are exact up to rounding.
        GradientCheck.compare(values: x.data, count: x.count, analytic: dx.array, label: "Linear dx \(tag)", loss: loss)
        GradientCheck.compare(values: store.value(lin.weight), count: lin.weight.count,
                              analytic: store.gradientArray(lin.weight), label: "Linear dW \(tag)", loss: loss)
        if let b = lin.bias {
            GradientCheck.compare(values: store.value(b), count: b.count, analytic: store.gradientArray(b),
                                  label: "Linear db \(tag)", loss: loss)
        }
    }

    func testGradientsMatchFiniteDifferences() {
        checkGradients(xShape: [3, 5], inFeatures: 5, outFeatures: 4, bias: true, seed: 1)
    }

    func testFlattensPerSampleInput() {
        checkGradients(xShape: [2, 4, 1, 1], inFeatures: 4, outFeatures: 3, bias: true, seed: 2)
        checkGradients(xShape: [2, 2, 2, 3], inFeatures: 12, outFeatures: 2, bias: true, seed: 3)
    }

    func testWithoutBias() {
        checkGradients(xShape: [4, 6], inFeatures: 6, outFeatures: 2, bias: false, seed: 4)
    }

    /// Hand-computed: W = [[1, 2], [3, 4], [5, 6]], b = [0.5, −1, 2], x = [[1, −1], [2, 0]].
    func testForwardHandComputed() {
        let store = ParameterStore(seed: 1)
        let lin = Linear(store: store, name: "fc", inFeatures: 2, outFeatures: 3)
        for (i, v) in [Float(1), 2, 3, 4, 5, 6].enumerated() { store.value(lin.weight)[i] = v }
        for (i, v) in [Float(0.5), -1, 2].enumerated() { store.value(lin.bias!)[i] = v }
        let y = lin.forward(Tensor(shape: [2, 2], values: [1, -1, 2, 0]))
        XCTAssertEqual(y.array, [-0.5, -2, 1, 2.5, 5, 12])
    }

    /// Gradients accumulate into the store (the trainer zeroes once per step).
    func testGradientsAccumulate() {
        let store = ParameterStore(seed: 9)
        let lin = Linear(store: store, name: "fc", inFeatures: 3, outFeatures: 2)
        let x = GradientCheck.random([4, 3], seed: 10), dy = GradientCheck.random([4, 2], seed: 11)
        store.zeroGradients()
        _ = lin.backward(dy, input: x)
        let once = store.gradientArray(lin.weight) + store.gradientArray(lin.bias!)
        _ = lin.backward(dy, input: x)
        let twice = store.gradientArray(lin.weight) + store.gradientArray(lin.bias!)
        for i in 0..<once.count { XCTAssertEqual(twice[i], 2 * once[i], accuracy: 1e-6) }
        XCTAssertTrue(once.contains { $0 != 0 })
    }

    /// The identity initialiser path used when d = 64 (both heads are the identity).
    func testCustomInitialisers() {
        let store = ParameterStore(seed: 1)
        let lin = Linear(store: store, name: "fc", inFeatures: 4, outFeatures: 4,
                         weightInit: .constant(0.25), biasInit: .constant(-1))
        XCTAssertEqual(store.valueArray(lin.weight), [Float](repeating: 0.25, count: 16))
        XCTAssertEqual(store.valueArray(lin.bias!), [Float](repeating: -1, count: 4))
        XCTAssertEqual(store.parameter(named: "fc.weight")?.shape, [4, 4])
    }
}
