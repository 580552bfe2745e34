import XCTest
@testable import Core

/// Shapes, parameter counts and names of the model builder against the reference (docs/method.md §Architectures).
final class ModelTests: XCTestCase {
    private func model(_ preset: ModelConfig.Preset, _ arch: Architecture = .cpae, latent: Int? = nil,
                       objective: Objective? = nil) throws -> Autoencoder {
        var c = ModelConfig.preset(preset, architecture: arch, latent: latent)
        if let objective { c.objective = objective }
        return try Autoencoder(config: c, seed: 0)
    }

    func testPaperParameterCountsMatchTheReference() throws {
        XCTAssertEqual(try model(.paper, latent: 2).parameterCount, 1_304_058)
        XCTAssertEqual(try model(.paper, latent: 8).parameterCount, 1_304_946)
        XCTAssertEqual(try model(.paper, .ae, latent: 2).parameterCount, 986_202)
        XCTAssertEqual(try model(.paper, .ae, latent: 8).parameterCount, 987_090)
        // Without the VPNet helper (reconstruction objective) the helper's 14 parameters go away.
        XCTAssertEqual(try model(.paper, latent: 2, objective: .reconstruction).parameterCount, 1_304_044)
        XCTAssertEqual(try model(.circle).parameterCount, 147_651)
    }

    func testPaperMultiplyAddsMatchTheMethodNotes() throws {
        let m = try model(.paper, latent: 8).multiplyAdds
        XCTAssertEqual(Double(m.encoder) / 1e6, 432.7, accuracy: 0.05)
        XCTAssertEqual(Double(m.decoder) / 1e6, 58.7, accuracy: 0.05)
    }

    func testNamesAndShapesAreTheReferenceStateDictKeys() throws {
        let s = try model(.paper, latent: 2).store
        let expected: [(String, [Int])] = [
            ("ae.conv_stack1.0.0.weight", [16, 3, 12, 12]), ("ae.conv_stack1.0.1.weight", [16]),
            ("ae.conv_stack1.1.0.weight", [16, 16, 3, 3]), ("ae.conv_stack3.0.0.weight", [64, 32, 12, 12]),
            ("ae.conv_stack8.0.0.weight", [64, 64, 3, 4]), ("ae.deconv_8.0.weight", [64, 64, 3, 4]),
            ("ae.deconv_7.0.weight", [67, 64, 4, 4]), ("ae.deconv_3.0.weight", [67, 32, 4, 4]),
            ("ae.deconv_2.0.weight", [35, 16, 4, 4]), ("ae.deconv_1.0.weight", [19, 3, 4, 4]),
            ("ae.deconv_1.0.bias", [3]), ("ae.predict_8.weight", [3, 64, 3, 3]), ("ae.predict_2.weight", [3, 35, 3, 3]),
            ("ae.up_sample_8.0.weight", [3, 3, 3, 4]), ("ae.up_sample_2.0.weight", [3, 3, 4, 4]),
            ("encoder_output.weight", [2, 64]), ("decoder_input.weight", [64, 2]),
            ("vpnet.modus.LinM1.params.S1", [1, 1]),
        ]
        for (name, shape) in expected {
            XCTAssertEqual(s.parameter(named: name)?.shape, shape, name)
        }
        XCTAssertNil(s.parameter(named: "ae.up_sample_8.0.bias"), "the side-branch transposed convs have no bias")
        XCTAssertNil(s.parameter(named: "ae.deconv_1.1.weight"), "the last stage has no BatchNorm")
        XCTAssertEqual(s.bufferEntry(named: "ae.conv_stack1.0.1.running_mean")?.shape, [16])
        XCTAssertEqual(s.bufferEntry(named: "ae.deconv_2.1.num_batches_tracked")?.stored, .i64)
        // 16 encoder and 7 decoder BatchNorms, three buffers each.
        XCTAssertEqual(s.buffers.count, 3 * 23)
        let circle = try model(.circle).store
        XCTAssertEqual(circle.parameter(named: "ae.conv_stack1.0.0.weight")?.shape, [32, 1, 48, 48])
        XCTAssertEqual(circle.parameter(named: "ae.ldeconv_1.0.bias")?.shape, [1], "one scalar output bias")
    }

    func testPenaltyAppliesToTheLargeKernelsOnly() throws {
        XCTAssertEqual(try model(.paper).penalizedWeights,
                       ["ae.conv_stack1.0.0.weight", "ae.conv_stack2.0.0.weight", "ae.conv_stack3.0.0.weight"])
        XCTAssertEqual(try model(.paper, .ae).penalizedWeights, [])
        XCTAssertEqual(try model(.circle).penalizedWeights, ["ae.conv_stack1.0.0.weight"])
        // At PyTorch's default initialisation J is about 2.2e-3 + 4.1e-4 + 2.0e-4 (docs/method.md §Regularizer).
        XCTAssertEqual(try model(.paper).accumulatePenalty(gradient: false), 2.81e-3, accuracy: 0.25e-3)
    }

    func testInvalidConfigurationsAreClearErrors() {
        var c = ModelConfig.preset(.paper, latent: 3)
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("even")) }
        c = ModelConfig.preset(.paper); c.height = 96
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("power of two")) }
        c = ModelConfig.preset(.paper); c.kernel = 11
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("even")) }
        c = ModelConfig.preset(.paper); c.channels = 2
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("channels")) }
    }

    func testSameSeedSameInitialisation() throws {
        let a = try Autoencoder(config: .preset(.small), seed: 5), b = try Autoencoder(config: .preset(.small), seed: 5)
        let c = try Autoencoder(config: .preset(.small), seed: 6)
        let n = a.store.parameterCount
        XCTAssertTrue(memcmp(a.store.values, b.store.values, n * 4) == 0)
        XCTAssertFalse(memcmp(a.store.values, c.store.values, n * 4) == 0)
    }
}
