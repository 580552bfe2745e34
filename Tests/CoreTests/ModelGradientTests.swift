import XCTest
@testable import Core

/// The whole objective's gradient (encoder, decoder with side branches and concatenations, VPNet,
/// BatchNorm in training mode, both objectives, the penalty) against finite differences on a tiny model.
final class ModelGradientTests: XCTestCase {
    private func tinyConfig(_ objective: Objective) -> ModelConfig {
        ModelConfig(architecture: .cpae, channels: 1, height: 16, latent: 2, kernel: 4, widths: [3, 3, 4],
                    decoderWidths: [3, 3], penalty: .continuity, penaltyWeight: 1, objective: objective)
    }

    /// The loss the trainer minimises: data terms (batch means) plus the penalty.
    private func loss(_ m: Autoencoder, _ x: Tensor, _ y: Tensor?) -> Double {
        let saved = Array(UnsafeBufferPointer(start: m.store.bufferValues, count: m.store.bufferCount))
        m.store.zeroGradients()
        let t = m.accumulateDataGradients(x: x, y: y)
        // Running statistics must not drift between probes.
        saved.withUnsafeBufferPointer { m.store.bufferValues.update(from: $0.baseAddress!, count: saved.count) }
        return t.data + m.accumulatePenalty(gradient: false)
    }

    private func check(_ objective: Objective, config: ModelConfig? = nil) throws {
        let m = try Autoencoder(config: config ?? tinyConfig(objective), seed: 3)
        let shape = [4] + m.config.inputShape
        let x = GradientCheck.random(shape, seed: 1, lo: 0, hi: 1)
        let y = GradientCheck.random(shape, seed: 2, lo: 0, hi: 1)
        let target: Tensor? = objective == .reference ? y : nil
        m.store.zeroGradients()
        _ = m.accumulateDataGradients(x: x, y: target)
        m.accumulatePenalty()
        let analytic = Array(UnsafeBufferPointer(start: m.store.gradients, count: m.store.parameterCount))
        // Per tensor, the derivative along its own analytic gradient must equal that gradient's norm.
        // A directional check averages over the whole tensor, so an isolated ReLU kink crossed by the
        // probe (BatchNorm over 4 samples puts many values near 0) cannot fake or hide a mismatch, while
        // a wrong branch, sign or scale anywhere in the tensor's path still shows.
        var checked = 0
        for entry in m.store.parameters {
            let g = analytic[entry.offset..<entry.offset + entry.count]
            let norm = (g.reduce(0.0) { $0 + Double($1) * Double($1) }).squareRoot()
            guard norm > 5e-4 else { continue }   // below the Float32 noise floor of the quotient
            let p = m.store.values + entry.offset
            let saved = Array(UnsafeBufferPointer(start: p, count: entry.count))
            // Small enough that BatchNorm over 4 samples stays in one linear piece, large enough that
            // Float32 forward noise (~4e-5 in the quotient) stays below the tolerance.
            let h = 1e-4
            func shifted(_ sign: Double) -> Double {
                for (i, gi) in g.enumerated() { p[i] = saved[i] + Float(sign * h * Double(gi) / norm) }
                return loss(m, x, target)
            }
            let numeric = (shifted(1) - shifted(-1)) / (2 * h)
            saved.withUnsafeBufferPointer { p.update(from: $0.baseAddress!, count: entry.count) }
            XCTAssertEqual(numeric, norm, accuracy: 0.03 * norm + 2e-5, "\(entry.name): ‖g‖ \(norm), directional FD \(numeric)")
            checked += 1
        }
        XCTAssertGreaterThan(checked, m.store.parameters.count / 2, "most tensors must carry a measurable gradient")
    }

    func testReferenceObjectiveGradient() throws { try check(.reference) }
    func testReconstructionObjectiveGradient() throws { try check(.reconstruction) }

    /// The circle model: one full-frame (48×48) conv and transposed conv, sigmoids, J × 10.
    func testCircleModelGradient() throws {
        var c = ModelConfig.preset(.circle)
        c.height = 12; c.kernel = 12   // same structure at a size finite differences can afford
        try check(.reconstruction, config: c)
    }

    func testCircleConvolutionIsADenseLayer() throws {
        // A full-frame stride-2 convolution with no padding is exactly a dense layer over the pixels.
        let m = try Autoencoder(config: .preset(.circle), seed: 9)
        let x = GradientCheck.random([3, 1, 48, 48], seed: 4, lo: 0, hi: 1)
        let conv = m.encoder.blocks[0].conv
        let y = conv.forward(x)
        XCTAssertEqual(y.shape, [3, 32, 1, 1])
        let w = m.store.value(conv.weight), b = m.store.value(conv.bias!)
        for n in 0..<3 { for o in 0..<32 {
            var s = Double(b[o])
            for p in 0..<2304 { s += Double(w[o * 2304 + p]) * Double(x[n * 2304 + p]) }
            XCTAssertEqual(Double(y[n * 32 + o]), s, accuracy: 1e-4)
        } }
    }
}
