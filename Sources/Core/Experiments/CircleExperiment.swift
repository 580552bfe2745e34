import Foundation

/// The circular-motion ablation (docs/method.md §Architectures, §Data, §Training): the `circle` model trained on 70
/// frames of a ball moving on a circle, then encoded on the next 150. With the continuity penalty the
/// test latents move continuously; without it they jump. Runs through the same trainer as phase 1.
public struct CircleExperiment: Sendable {
    public var penalty: WeightPenalty = .continuity
    /// The reference's circle scale: J × 10 (and 1 for the L2 ablation).
    public var penaltyWeight: Float = 10
    public var iterations = 20_000
    public var learningRate: Float = 1e-3
    public var seed: UInt64 = 0
    public var trainFrames = 70
    public var testFrames = 150
    /// Phase 2 (0: skip): iterations of the latent field fit, the reference's MLP 2 → 64 → 2 with
    /// h = 0.1 per frame (the true rotation angle per frame), midpoint × 2 substeps, full batch of the
    /// training latents' pairs, Adam 0.01 → 0.001 exponentially (the reference runs 50,000).
    public var latentIterations = 0

    public init() {}

    public struct Result: Codable, Sendable {
        public var penalty: String
        public var penalty_weight: Double
        public var iterations: Int
        public var seed: UInt64
        public var train_mse: Double
        public var test_mse: Double
        public var jump_ratio_train: Double
        public var jump_ratio_test: Double
        public var roughness_test: Double
        public var seconds: Double
        public var test_latents: [[Double]]
        /// Phase 2, when run: the final full-batch loss (MSE/h²), the per-frame MSE of the test frames
        /// decoded from the rollout of the first test latent, and its VPT (% of the test frames) at
        /// each ε of `ValidPredictionTime.thresholds`.
        public var latent_loss: Double?
        public var rollout_frame_mse: [Double]?
        public var vpt: [String: Double]?
        /// The rollout's latents (test frame 0 first), and its decoded frames at every
        /// `Result.frameStride`-th test frame as bytes (48×48, for the report's frame strip).
        public var rollout_latents: [[Double]]?
        public var rollout_frames: [[UInt8]]?

        public static let frameStride = 10
    }

    /// Frames of the circle system as an N×1×S×S tensor in [0, 1].
    public static func frames(count: Int, size: Int = 48) throws -> Tensor {
        let sequence = try PhysicalSystem.circle.generator(trajectories: 1, frames: count, size: size, channels: 1, seed: 0)
            .trajectory(0)
        let t = Tensor(uninitialized: [count, 1, size, size])
        for i in 0..<t.count { t.data[i] = Float(sequence.frames[i]) / 255 }
        return t
    }

    public func run(progress: ((Int, LossTerms) -> Void)? = nil) throws -> Result {
        let started = Stopwatch()
        var config = ModelConfig.preset(.circle)
        config.penalty = penalty
        config.penaltyWeight = penalty == .continuity ? penaltyWeight : (penalty == .l2 ? 1 : 0)
        let all = try Self.frames(count: trainFrames + testFrames)
        let per = all.count / all.shape[0]
        func slice(_ range: Range<Int>) -> Tensor {
            let t = Tensor(uninitialized: [range.count] + all.shape.dropFirst())
            t.data.update(from: all.data + range.lowerBound * per, count: range.count * per)
            return t
        }
        let train = slice(0..<trainFrames), test = slice(trainFrames..<(trainFrames + testFrames))

        let model = try Autoencoder(config: config, seed: seed)
        // Full batch, as the reference: every step sees all training frames.
        let source = InMemoryBatchSource(inputs: train, rank: 0, worldSize: 1, localBatch: trainFrames, seed: seed, shuffle: false)
        let settings = TrainerSettings(globalBatch: trainFrames, steps: iterations, schedule: "constant:\(learningRate)", seed: seed)
        let trainer = try AutoencoderTrainer(model: model, group: SingleProcess(), source: source, settings: settings)
        for i in 0..<iterations {
            let report = try trainer.step()
            if let progress, i % 1000 == 0 || i == iterations - 1 { progress(i + 1, report.terms) }
        }
        let zTrain = Continuity.rows(model.encode(train)), zTest = Continuity.rows(model.encode(test))
        var result = Result(penalty: penalty.rawValue, penalty_weight: Double(config.penaltyWeight), iterations: iterations, seed: seed,
                      train_mse: Double(mseLoss(model.decode(model.encode(train)), train).value),
                      test_mse: Double(mseLoss(model.decode(model.encode(test)), test).value),
                      jump_ratio_train: Continuity.jumpRatio(zTrain), jump_ratio_test: Continuity.jumpRatio(zTest),
                      roughness_test: Continuity.roughness(zTest), seconds: started.seconds,
                      test_latents: zTest)
        if latentIterations > 0 {
            let (loss, errors, latents, frames) = try fitAndRollOut(model: model, trainLatents: zTrain, testLatents: zTest, test: test)
            result.latent_loss = loss
            result.rollout_frame_mse = errors
            result.rollout_latents = latents
            result.rollout_frames = frames
            result.vpt = Dictionary(uniqueKeysWithValues: ValidPredictionTime.thresholds.map {
                (ValidPredictionTime.key($0), 100 * ValidPredictionTime.fraction(errors, threshold: $0))
            })
        }
        result.seconds = started.seconds
        return result
    }

    /// Phase 2 on the encoded frames: the same `ODETrainer` as `train-ode`, then the test rollout
    /// decoded and scored frame by frame.
    private func fitAndRollOut(model: Autoencoder, trainLatents: [[Double]], testLatents: [[Double]],
                               test: Tensor) throws -> (loss: Double, frameMSE: [Double], latents: [[Double]], frames: [[UInt8]]) {
        let config = LatentModelConfig(kind: .mlp, dimension: model.config.latent, hiddenWidths: [64], frameStep: 0.1)
        let dynamics = try config.build(seed: seed)
        let pairs = InMemoryLatentPairs(paths: [trainLatents.map { $0.map(Float.init) }])
        let settings = TrainerSettings(globalBatch: pairs.pairCount, steps: latentIterations,
                                       schedule: "exp:0.01:0.001:\(latentIterations)", seed: seed, syncBatchNorm: false)
        let trainer = try ODETrainer(model: dynamics, group: SingleProcess(), sampler: pairs, settings: settings)
        var loss = Double.nan
        for _ in 0..<latentIterations { loss = try trainer.step().loss }
        let rollout = try dynamics.rollout(start: testLatents[0].map(Float.init), frames: testLatents.count - 1, direction: .forward)
        let decoded = model.decode(Tensor(shape: [rollout.count, config.dimension], values: rollout.flatMap { $0 }))
        let per = test.count / test.shape[0]
        let errors = (0..<rollout.count).map { i in
            FrameError.meanSquaredError(Array(UnsafeBufferPointer(start: decoded.data + i * per, count: per)),
                                        Array(UnsafeBufferPointer(start: test.data + i * per, count: per)))
        }
        let frames = stride(from: 0, to: rollout.count, by: Result.frameStride).map { i in
            (0..<per).map { UInt8(max(0, min(255, (255 * decoded.data[i * per + $0]).rounded()))) }
        }
        return (loss, errors, rollout.map { $0.map(Double.init) }, frames)
    }
}
