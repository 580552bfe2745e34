import XCTest
@testable import Core

/// The whole objective's gradient (encoder, decoder with side branches and concatenations, VPNet,
/// BatchNorm in training mode, both objectives, the penalty) against finite differences on a tiny model.
///
/// Per tensor, the derivative of the loss along the tensor's own analytic gradient g must equal ‖g‖.
/// A directional check averages over the whole tensor, so an isolated ReLU kink crossed by the probe
/// (BatchNorm over 4 samples puts many values near 0) cannot fake or hide a mismatch, while a wrong
/// branch, sign or scale anywhere in the tensor's path still shows.
///
/// The tolerance is measured at each probe, not tuned on one CPU (OpenBLAS rounds differently per
/// kernel): with D(h) the central difference along the unit direction and f evaluated at
/// s = 0, ±h, ±2h,
/// - truncation: D(h) − f′ ≈ f‴h²/6 and D(2h) − D(h) ≈ f‴h²/2, so |D(2h) − D(h)|/3 estimates it;
/// - rounding: the fourth difference f(−2h) − 4f(−h) + 6f(0) − 4f(h) + f(2h) is h⁴f⁗ plus noise of
///   standard deviation √70·σ, so σ̂ = |Δ⁴f|/√70 (at least one ulp of the Float32 loss) estimates
///   the noise σ of one evaluation, and D(h) is off by at most about σ/h.
/// The comparison allows 4× the sum of both estimates, at whichever of two steps allows less. A probe whose allowance exceeds 10% of ‖g‖
/// cannot tell a wrong gradient from rounding or a kink and is counted as inconclusive; most tensors
/// must be conclusive.
final class ModelGradientTests: XCTestCase {
    private func tinyConfig(_ objective: Objective) -> ModelConfig {
        ModelConfig(architecture: .cpae, channels: 1, height: 16, latent: 2, kernel: 4, widths: [3, 3, 4],
                    decoderWidths: [3, 3], penalty: .continuity, penaltyWeight: 1, objective: objective)
    }

    /// Runs `body` and restores BatchNorm's running statistics, so probes do not drift them.
    private func keepingBuffers<T>(_ m: Autoencoder, _ body: () -> T) -> T {
        let saved = Array(UnsafeBufferPointer(start: m.store.bufferValues, count: m.store.bufferCount))
        defer { saved.withUnsafeBufferPointer { m.store.bufferValues.update(from: $0.baseAddress!, count: saved.count) } }
        return body()
    }

    /// The loss the trainer minimises: data terms (batch means) plus the penalty.
    private func loss(_ m: Autoencoder, _ x: Tensor, _ y: Tensor?) -> Double {
        keepingBuffers(m) {
            m.store.zeroGradients()
            return m.accumulateDataGradients(x: x, y: y).data + m.accumulatePenalty(gradient: false)
        }
    }

    private func analyticGradient(_ m: Autoencoder, _ x: Tensor, _ y: Tensor?) -> [Float] {
        keepingBuffers(m) {
            m.store.zeroGradients()
            _ = m.accumulateDataGradients(x: x, y: y)
            m.accumulatePenalty()
            return Array(UnsafeBufferPointer(start: m.store.gradients, count: m.store.parameterCount))
        }
    }

    /// The gradient the reference objective would have if z_Y received +∂/∂ẑ of the latent term
    /// instead of −∂/∂ẑ (the negative control): the correct gradient plus twice the encoder's
    /// backward of +∂/∂ẑ through the E(Y) pass.
    private func gradientWithLatentSignFlipped(_ m: Autoencoder, _ x: Tensor, _ y: Tensor, correct: [Float]) -> [Float] {
        keepingBuffers(m) {
            m.store.zeroGradients()
            let (zx, _) = m.encoder.forward(x, mode: .train)
            let (zy, encY) = m.encoder.forward(y, mode: .train)
            let (zhat, _) = m.vpnet!.forward(zx)
            let (_, dZhat) = mseLoss(zhat, zy, weight: 2 * m.config.latentWeight)
            m.encoder.backward(dZhat, tape: encY)
            let plus = UnsafeBufferPointer(start: m.store.gradients, count: m.store.parameterCount)
            return zip(correct, plus).map { $0 + 2 * $1 }
        }
    }

    /// One tensor's directional comparison.
    private struct Probe {
        let name: String
        let norm: Double, numeric: Double, allowed: Double
        var conclusive: Bool { allowed <= 0.1 * norm }
        var agrees: Bool { abs(numeric - norm) <= allowed }
        var description: String {
            "\(name): ‖g‖ \(norm), directional FD \(numeric), allowed ±\(allowed)"
        }
    }

    /// Probes every tensor whose part of `gradient` is above the Float32 noise floor.
    private func probes(_ m: Autoencoder, _ gradient: [Float], _ x: Tensor, _ y: Tensor?) -> [Probe] {
        let f0 = loss(m, x, y)
        var result: [Probe] = []
        for entry in m.store.parameters {
            let g = gradient[entry.offset..<entry.offset + entry.count]
            let norm = (g.reduce(0.0) { $0 + Double($1) * Double($1) }).squareRoot()
            guard norm > 1e-6 else { continue }
            let p = m.store.values + entry.offset
            let saved = Array(UnsafeBufferPointer(start: p, count: entry.count))
            func f(_ s: Double) -> Double {
                for (i, gi) in g.enumerated() { p[i] = saved[i] + Float(s * Double(gi) / norm) }
                return loss(m, x, y)
            }
            // The loss is a sum of a few Float32 terms, so one evaluation is off by at least about
            // one ulp of it, whatever the fourth difference happens to show.
            let floor = Double(Float(f0).ulp)
            // 1e-4 keeps BatchNorm over 4 samples in one linear piece more often; 1e-3 divides the
            // rounding by 10. Each step's own estimate says which is better here.
            let candidates: [(numeric: Double, allowed: Double)] = [1e-4, 1e-3].map { h in
                let (fp1, fm1, fp2, fm2) = (f(h), f(-h), f(2 * h), f(-2 * h))
                let d1 = (fp1 - fm1) / (2 * h), d2 = (fp2 - fm2) / (4 * h)
                let sigma = max(abs(fm2 - 4 * fm1 + 6 * f0 - 4 * fp1 + fp2) / 70.0.squareRoot(), floor)
                let truncation = abs(d2 - d1) / 3, rounding = sigma / h
                return (d1, 4 * (truncation + rounding))
            }
            saved.withUnsafeBufferPointer { p.update(from: $0.baseAddress!, count: entry.count) }
            let best = candidates.min { $0.allowed < $1.allowed }!
            result.append(Probe(name: entry.name, norm: norm, numeric: best.numeric, allowed: best.allowed))
        }
        return result
    }

    private func check(_ objective: Objective, config: ModelConfig? = nil) throws {
        let m = try Autoencoder(config: config ?? tinyConfig(objective), seed: 3)
        let shape = [4] + m.config.inputShape
        let x = GradientCheck.random(shape, seed: 1, lo: 0, hi: 1)
        let y = GradientCheck.random(shape, seed: 2, lo: 0, hi: 1)
        let target: Tensor? = objective == .reference ? y : nil
        let all = probes(m, analyticGradient(m, x, target), x, target)
        let conclusive = all.filter(\.conclusive)
        for probe in conclusive { XCTAssertTrue(probe.agrees, probe.description) }
        if ProcessInfo.processInfo.environment["CPAE_GRADIENT_PROBES"] != nil { for p in all { print(p.description) } }
        XCTAssertGreaterThan(conclusive.count, m.store.parameters.count / 2,
                             "most tensors must be checked conclusively; inconclusive: \(all.filter { !$0.conclusive }.map(\.description))")
    }

    func testReferenceObjectiveGradient() throws { try check(.reference) }
    func testReconstructionObjectiveGradient() throws { try check(.reconstruction) }

    /// Negative control: the same check sees a flipped sign of the latent term's gradient into z_Y,
    /// in the encoder tensors that the flip changes.
    func testFlippedLatentSignIsDetected() throws {
        let m = try Autoencoder(config: tinyConfig(.reference), seed: 3)
        let shape = [4] + m.config.inputShape
        let x = GradientCheck.random(shape, seed: 1, lo: 0, hi: 1)
        let y = GradientCheck.random(shape, seed: 2, lo: 0, hi: 1)
        let correct = analyticGradient(m, x, y)
        let broken = gradientWithLatentSignFlipped(m, x, y, correct: correct)
        let changed = Set(m.store.parameters.filter { e in
            (e.offset..<e.offset + e.count).contains { correct[$0] != broken[$0] }
        }.map(\.name))
        let caught = probes(m, broken, x, y).filter { $0.conclusive && !$0.agrees }
        XCTAssertFalse(caught.isEmpty, "a flipped latent-term sign went unnoticed")
        XCTAssertTrue(Set(caught.map(\.name)).isSubset(of: changed),
                      "only tensors the flip changed may fail: \(caught.map(\.description))")
    }

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
