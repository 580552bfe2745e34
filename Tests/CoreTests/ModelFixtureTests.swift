import XCTest
@testable import Core

/// The whole model against PyTorch: a checkpoint trained by cpae-mpi (5 steps, so BatchNorm's
/// running statistics are not trivial) loads into the reference module tree with
/// load_state_dict(strict=True), and both give the same eval-mode latents and reconstructions
/// (fixtures from tools/make_model_fixture.py).
final class ModelFixtureTests: XCTestCase {
    private let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path

    func testEvalModeMatchesThePyTorchReferenceModel() throws {
        let (model, _) = try Autoencoder.load(checkpoint: directory + "/model_small16.safetensors")
        XCTAssertEqual(model.config.height, 16)
        let x = try NPY.read(directory + "/model_small16_x.npy")
        let input = Tensor(shape: x.shape, values: try XCTUnwrap(x.floats))
        let z = model.encode(input)
        let y = model.decode(z)
        let expectedZ = try XCTUnwrap(try NPY.read(directory + "/model_small16_latents.npy").floats)
        let expectedY = try XCTUnwrap(try NPY.read(directory + "/model_small16_recon.npy").floats)
        // Tolerance: float32 sums in a different order over ~20 layers.
        let scale = expectedZ.map(abs).max()!
        for (a, b) in zip(z.array, expectedZ) { XCTAssertEqual(a, b, accuracy: 1e-5 * scale) }
        for (a, b) in zip(y.array, expectedY) { XCTAssertEqual(a, b, accuracy: 2e-6) }
        XCTAssertEqual(y.count, expectedY.count)
        // The running statistics were really used: train-mode BatchNorm gives other outputs.
        let trainMode = model.decode(model.encode(input, mode: .train), mode: .train)
        let differs = zip(trainMode.array, expectedY).contains { abs($0 - $1) > 1e-3 }
        XCTAssertTrue(differs, "eval mode must use the checkpoint's running statistics")
    }
}
