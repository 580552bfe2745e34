import XCTest
@testable import Core

/// The non-convolution layers against PyTorch (tools/make_layer_fixtures.py; the references are
/// computed in float64 from the float32 inputs, so they are exact to float32 rounding).
///
/// Tolerance: |ours − torch| ≤ 1e-6 + 1e-5·|torch| elementwise, for every output and gradient.
/// Our float32 arithmetic over the few dozen terms per element here stays well inside it; a layout
/// or formula mistake (a transposed weight, biased vs unbiased variance, a missing factor 2) is
/// off by orders of magnitude more.
final class LayerFixtureTests: XCTestCase {
    static let rtol: Float = 1e-5
    static let atol: Float = 1e-6

    private func close(_ actual: [Float], _ f: Fixture, _ key: String,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        assertClose(actual, try f.values(key), rtol: Self.rtol, atol: Self.atol, "\(f.name).\(key)", file: file, line: line)
    }

    // MARK: BatchNorm

    private func checkBatchNorm(_ name: String, mode: Mode) throws {
        let f = try Fixture(name)
        XCTAssertEqual(try f.bool("train"), mode == .train, "fixture mode")
        let store = ParameterStore(seed: 1)
        let bn = BatchNorm2d(store: store, name: "bn", channels: try f.int("channels"),
                             momentum: try f.float("momentum"), eps: try f.float("eps"))
        try f.load("weight", into: store.value(bn.weight), count: bn.channels)
        try f.load("bias", into: store.value(bn.bias), count: bn.channels)
        try f.load("running_mean_in", into: store.buffer(bn.runningMean), count: bn.channels)
        try f.load("running_var_in", into: store.buffer(bn.runningVar), count: bn.channels)

        let (y, cache) = bn.forward(try f.tensor("x"), mode: mode)
        XCTAssertEqual(y.shape, try f.shape("y"))
        try close(y.array, f, "y")
        try close(Array(UnsafeBufferPointer(start: store.buffer(bn.runningMean), count: bn.channels)), f, "running_mean_out")
        try close(Array(UnsafeBufferPointer(start: store.buffer(bn.runningVar), count: bn.channels)), f, "running_var_out")
        XCTAssertEqual(Int(store.buffer(bn.batchesTracked)[0]), try f.int("num_batches_tracked_out"))

        let dx = bn.backward(try f.tensor("dy"), cache: cache)
        try close(dx.array, f, "dx")
        try close(store.gradientArray(bn.weight), f, "dweight")
        try close(store.gradientArray(bn.bias), f, "dbias")
    }

    func testBatchNorm2dTrainMatchesPyTorch() throws { try checkBatchNorm("batchnorm2d_train", mode: .train) }
    func testBatchNorm2dEvalMatchesPyTorch() throws { try checkBatchNorm("batchnorm2d_eval", mode: .eval) }
    func testBatchNormTwoDimensionalInputMatchesPyTorch() throws { try checkBatchNorm("batchnorm_2d_input_train", mode: .train) }

    // MARK: Linear

    private func checkLinear(_ name: String) throws {
        let f = try Fixture(name)
        let store = ParameterStore(seed: 1)
        let lin = Linear(store: store, name: "fc", inFeatures: try f.int("in_features"),
                         outFeatures: try f.int("out_features"), bias: try f.bool("bias"))
        try f.load("weight", into: store.value(lin.weight), count: lin.weight.count)
        try f.load("bias", into: store.value(lin.bias!), count: lin.bias!.count)
        let x = try f.tensor("x")
        let y = lin.forward(x)
        XCTAssertEqual(y.shape, try f.shape("y"))
        try close(y.array, f, "y")
        let dx = lin.backward(try f.tensor("dy"), input: x)
        XCTAssertEqual(dx.shape, x.shape, "dx is shaped like x")
        try close(dx.array, f, "dx")
        try close(store.gradientArray(lin.weight), f, "dweight")
        try close(store.gradientArray(lin.bias!), f, "dbias")
    }

    func testLinearMatchesPyTorch() throws { try checkLinear("linear") }
    func testLinearFlattensPerSampleMatchesPyTorch() throws { try checkLinear("linear_flatten") }

    // MARK: Activations

    func testActivationsMatchPyTorch() throws {
        for act in Activation.allCases {
            let f = try Fixture("activation_\(act.rawValue)")
            XCTAssertEqual(try f.string("kind"), act.rawValue)
            let y = act.forward(try f.tensor("x"))
            try close(y.array, f, "y")
            try close(act.backward(try f.tensor("dy"), output: y).array, f, "dx")
        }
    }

    // MARK: Concat, MSE

    func testConcatAndSplitMatchPyTorch() throws {
        let f = try Fixture("concat")
        let y = concatChannels(try f.tensor("a"), try f.tensor("b"))
        XCTAssertEqual(y.shape, try f.shape("y"))
        try close(y.array, f, "y")
        let (da, db) = splitChannels(try f.tensor("dy"), first: try f.int("first_channels"))
        XCTAssertEqual(da.shape, try f.shape("da")); XCTAssertEqual(db.shape, try f.shape("db"))
        try close(da.array, f, "da")
        try close(db.array, f, "db")
    }

    func testMSEMatchesPyTorch() throws {
        let f = try Fixture("mse")
        let (value, grad) = mseLoss(try f.tensor("pred"), try f.tensor("target"), weight: try f.float("weight"))
        try close([value], f, "loss")
        try close(grad.array, f, "dpred")
    }

    func testMissingFixtureNamesTheFileAndTheFix() {
        XCTAssertThrowsError(try Fixture("no_such_fixture")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("no_such_fixture.json") && text.contains("make_layer_fixtures.py"), text)
        }
    }
}
