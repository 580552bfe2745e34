/// One test trajectory put through the whole model (docs/method.md §Evaluation): the first pair's
/// latent rolled forward and decoded, the last pair's rolled backward, fractional times decoded for
/// interpolation, and the latents' own quality (reconstruction, continuity, stability).
public struct TrajectoryEvaluation: Sendable {
    public var score: TrajectoryScore
    /// The encoded pairs' latents (T−1 × d), for continuity and the state regression.
    public var latentPath: [[Double]]
    /// Ground-truth states of each pair's first frame (T−1 × S; empty for video).
    public var states: [[Double]]
    /// Sum of squared pixel errors of decode(encode(pair)) over all pairs, and the pixel count.
    public var reconstructionSquaredError: Double
    public var reconstructionPixels: Int
    /// Mean squared difference between the rolled-out latents and the re-encoding of their decoded pairs.
    public var latentStability: Double
    /// Mean per-frame MSE at the fractional times, nil when the dataset or model cannot interpolate
    /// (`RolloutEvaluator.interpolationUnavailable` says why).
    public var interpolationMSE: Double?
    /// Predicted and true frames (H×W×C in [0,1]) of the forward rollout, for figures.
    public var predictedFrames: [[Float]]
    public var trueFrames: [[Float]]
}

/// Runs `TrajectoryEvaluation` for one trajectory at a time with one autoencoder (eval mode) and one
/// latent dynamics model.
public struct RolloutEvaluator {
    public let autoencoder: Autoencoder
    public let dynamics: LatentDynamics
    /// Interpolation ground truth (nil: unavailable for this dataset).
    public let groundTruth: FractionalGroundTruth?
    /// Fractions of a frame interval scored for interpolation.
    public var fractions: [Double] = [0.25, 0.5, 0.75]

    public init(autoencoder: Autoencoder, dynamics: LatentDynamics, groundTruth: FractionalGroundTruth?) {
        self.autoencoder = autoencoder; self.dynamics = dynamics; self.groundTruth = groundTruth
    }

    /// Why this evaluation scores no interpolation, or nil when it does: the model's reason first
    /// (a discrete per-frame map predicts nothing at fractional times, whatever the dataset), then
    /// the dataset's (`datasetReason`, from `FractionalGroundTruth.make`, when it has no
    /// frames between the stored ones).
    public func interpolationUnavailable(modelName: String, datasetReason: String?) -> String? {
        if !dynamics.predictsBetweenFrames {
            return "\(modelName) is a discrete map (one application per frame): it predicts no states between frames, so there is no interpolation to score"
        }
        return groundTruth == nil ? (datasetReason ?? "the dataset has no frames between the stored ones") : nil
    }

    public func evaluate(_ sequence: FrameSequence) throws -> TrajectoryEvaluation {
        let frames = sequence.frameCount, pairs = frames - 1
        precondition(pairs >= 2, "evaluation needs trajectories of at least 3 frames")
        let d = dynamics.dimension
        let input = PairAssembler.assemble((0..<pairs).map { (sequence, $0) })
        let z = autoencoder.encode(input, mode: .eval)
        let latents = (0..<pairs).map { Array(UnsafeBufferPointer(start: z.data + $0 * d, count: d)) }

        // Reconstruction of every pair.
        let reconstructed = autoencoder.decode(z, mode: .eval)
        var squared = 0.0
        for i in 0..<input.count { let e = Double(reconstructed.data[i] - input.data[i]); squared += e * e }

        // Forward: latent k is pair (k, k+1), whose left half is frame k; the last state's right half is frame T−1.
        let forward = try dynamics.rollout(start: latents[0], frames: pairs - 1, direction: .forward)
        let decodedForward = decode(forward)
        var predicted = decodedForward.map { half($0, sequence, right: false) }
        predicted.append(half(decodedForward[pairs - 1], sequence, right: true))
        let truth = FrameError.unitFrames(sequence)

        // Backward from the last pair: element 0 is frame T−1 (its right half), element j ≥ 1 frame T−1−j.
        let backward = try dynamics.rollout(start: latents[pairs - 1], frames: pairs - 1, direction: .backward)
        let decodedBackward = decode(backward)
        let reverse = [half(decodedBackward[0], sequence, right: true)] + decodedBackward.map { half($0, sequence, right: false) }

        // Stability: re-encode the decoded forward pairs.
        let reencoded = autoencoder.encode(Tensor(shape: [pairs] + Array(input.shape.dropFirst()), values: decodedForward.flatMap { $0 }), mode: .eval)
        let stability = LatentStability.mse(rolledOut: forward.map { $0.map(Double.init) },
                                            reencoded: (0..<pairs).map { i in (0..<d).map { Double(reencoded.data[i * d + $0]) } })

        // Only a model with states between frames interpolates (a discrete map has none; see
        // `interpolationUnavailable`). A field that fails between frames fails the evaluation, as
        // its forward rollout would: the failure is the model's, not a missing score.
        var interpolation: Double?
        if let groundTruth, dynamics.predictsBetweenFrames {
            let fractional = try dynamics.states(from: latents[0], atFrameTimes: (0..<(pairs - 1)).flatMap { k in fractions.map { Double(k) + $0 } })
            let decoded = decode(fractional)
            var errors: [Double] = []
            for k in 0..<(pairs - 1) {
                let truthFrames = groundTruth.unitFrames(of: sequence, at: k, fractions: fractions)
                for (j, f) in truthFrames.enumerated() {
                    errors.append(FrameError.meanSquaredError(half(decoded[k * fractions.count + j], sequence, right: false), f))
                }
            }
            interpolation = errors.reduce(0, +) / Double(errors.count)
        }

        let s = sequence.stateDimension
        return TrajectoryEvaluation(
            score: TrajectoryScore(id: sequence.id, predicted: predicted, truth: truth, reversePredicted: reverse),
            latentPath: latents.map { $0.map(Double.init) },
            states: s == 0 ? [] : (0..<pairs).map { t in Array(sequence.states[(t * s)..<((t + 1) * s)]) },
            reconstructionSquaredError: squared, reconstructionPixels: input.count, latentStability: stability,
            interpolationMSE: interpolation, predictedFrames: predicted, trueFrames: truth)
    }

    /// Decoded pair images (C×H×2W each) of latent states.
    private func decode(_ states: [[Float]]) -> [[Float]] {
        let d = dynamics.dimension
        let out = autoencoder.decode(Tensor(shape: [states.count, d], values: states.flatMap { $0 }), mode: .eval)
        let per = out.count / max(states.count, 1)
        return (0..<states.count).map { Array(UnsafeBufferPointer(start: out.data + $0 * per, count: per)) }
    }

    /// One half of a decoded C×H×2W pair as an H×W×C frame (the dataset's layout).
    private func half(_ pair: [Float], _ s: FrameSequence, right: Bool) -> [Float] {
        let c = s.channels, h = s.height, w = s.width
        var frame = [Float](repeating: 0, count: h * w * c)
        let offset = right ? w : 0
        for ch in 0..<c {
            for y in 0..<h {
                for x in 0..<w {
                    frame[(y * w + x) * c + ch] = pair[(ch * h + y) * 2 * w + offset + x]
                }
            }
        }
        return frame
    }
}
