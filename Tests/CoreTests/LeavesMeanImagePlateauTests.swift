import XCTest
@testable import Core

/// The reference objective has a trap: a model that outputs the dataset's mean image and maps every
/// pair to one latent makes the latent and prediction terms vanish, and from some initialisations and
/// batch orders training settles there (measured in docs/method.md §Training, in PyTorch as here). The
/// latent-weight warm-up of the default configuration is what gets seed 0 out; this test shows it does
/// on a short run of the small preset, against the baseline of predicting the mean image.
final class LeavesMeanImagePlateauTests: XCTestCase {
    func testSmallPresetLeavesTheMeanImagePlateau() throws {
        // 40 simulated damped-pendulum trajectories of 60 frames (32×32 grey): 2,280 windows.
        let generator = try DatasetGenerator(simulator: DampedPendulum(), trajectories: 40, frames: 60, size: 32,
                                             channels: 1, seed: 0)
        var windows: [(sequence: FrameSequence, t: Int)] = []
        for id in 0..<generator.trajectories {
            let s = try generator.trajectory(id)
            windows += (0...(s.frameCount - 4)).map { (s, $0) }
        }
        let x = PairAssembler.assemble(windows), y = PairAssembler.assemble(windows.map { ($0.sequence, $0.t + 2) })
        let meanImageMSE = Self.meanImageMSE(x)

        let batch = 32
        let source = InMemoryBatchSource(inputs: x, targets: y, rank: 0, worldSize: 1, localBatch: batch, seed: 0)
        let config = ModelConfig.preset(.small, architecture: .cpae)
        let model = try Autoencoder(config: config, seed: 0)
        // Our two workers each run single-threaded GEMMs, as in train-ae: OpenBLAS's own threads as
        // well would nest two pools on two cores (its callers then spin on its lock: minutes under load).
        let savedBLASThreads = BLASThreads.current
        BLASThreads.set(1)
        defer { BLASThreads.set(savedBLASThreads) }
        model.computeBudget = ComputeBudget(threads: 2)
        // train-ae's default schedule: two epochs of pure reconstruction, then λ ramps over one epoch.
        let epochs = 7
        let settings = TrainerSettings(globalBatch: batch, steps: epochs * source.stepsPerEpoch, seed: 0,
                                       latentHoldSteps: 2 * source.stepsPerEpoch, latentWarmupSteps: source.stepsPerEpoch)
        let trainer = try AutoencoderTrainer(model: model, group: SingleProcess(), source: source, settings: settings)
        var lastEpoch: [Double] = []
        for _ in 0..<settings.steps {
            let report = try trainer.step()
            if report.epoch == epochs - 1 { lastEpoch.append(report.terms.reconstruction) }
        }
        let final = lastEpoch.reduce(0, +) / Double(lastEpoch.count)
        let summary = "last-epoch training reconstruction MSE \(final) against the mean image's \(meanImageMSE)"
        // On the plateau the model sits at or just below the mean image (≥ 0.9×); having learned the rod
        // it falls well below (measured: 0.71× after 5 such epochs, and still falling). 0.8× is the
        // escape criterion of docs/method.md §Training.
        XCTAssertLessThan(final, 0.8 * meanImageMSE, summary)
    }

    /// MSE of predicting every sample by the per-pixel mean over the samples.
    static func meanImageMSE(_ x: Tensor) -> Double {
        let n = x.shape[0], plane = x.count / n
        var mean = [Double](repeating: 0, count: plane)
        for i in 0..<n { for k in 0..<plane { mean[k] += Double(x.data[i * plane + k]) } }
        for k in 0..<plane { mean[k] /= Double(n) }
        var s = 0.0
        for i in 0..<n { for k in 0..<plane { let d = Double(x.data[i * plane + k]) - mean[k]; s += d * d } }
        return s / Double(x.count)
    }
}
