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

    private func check(_ objective: Objective) throws {
        let m = try Autoencoder(config: tinyConfig(objective), seed: 3)
        let x = GradientCheck.random([4, 1, 16, 32], seed: 1, lo: 0, hi: 1)
        let y = GradientCheck.random([4, 1, 16, 32], seed: 2, lo: 0, hi: 1)
        let target: Tensor? = objective == .reference ? y : nil
        m.store.zeroGradients()
        _ = m.accumulateDataGradients(x: x, y: target)
        m.accumulatePenalty()
        let analytic = Array(UnsafeBufferPointer(start: m.store.gradients, count: m.store.parameterCount))
        for entry in m.store.parameters where !entry.name.hasSuffix(".bias") || !entry.name.contains("conv_stack") {
            let p = m.store.values + entry.offset
            GradientCheck.compare(values: p, count: entry.count,
                                  analytic: Array(analytic[entry.offset..<entry.offset + entry.count]),
                                  probes: 4, step: 1e-3, rtol: 5e-2, atol: 2e-4, label: entry.name) {
                self.loss(m, x, target)
            }
        }
    }

    func testReferenceObjectiveGradient() throws { try check(.reference) }
    func testReconstructionObjectiveGradient() throws { try check(.reconstruction) }
}
