/// The `circle` section: the circular-motion ablation that `cpae-mpi run` performs instead of the
/// trajectory pipeline when `data.system` is `circle` (docs/method.md §Circular motion). Each model
/// of `models` is the circle architecture with its own penalty (cpae: J × `penalty-weight`, ae: none,
/// l2: mean(W²)), trained full batch on the first `train-frames` frames and judged on the next
/// `test-frames`; every model is trained from `restarts` initialisations and the one with the
/// lowest training loss is kept, as the reference keeps its lowest-loss model.
public struct CircleConfig: ConfigSection {
    public var iterations = 20_000
    public var learningRate: Float = 1e-3
    public var penaltyWeight: Float = 10
    public var restarts = 4
    public var seed: UInt64 = 0
    public var latentIterations = 20_000
    public var trainFrames = 70
    public var testFrames = 150

    public init() {}

    public static var fields: [ConfigField<Self>] {
        [.value("iterations", \.iterations, "Adam iterations of each autoencoder, full batch (the reference: 100,000)"),
         .value("learning-rate", \.learningRate, "Adam's constant learning rate"),
         .value("penalty-weight", \.penaltyWeight, "weight of J for cpae (the reference's circle code: 10)"),
         .value("restarts", \.restarts, "initialisations per model (seeds seed…seed+restarts−1); the lowest training MSE is kept"),
         .value("seed", \.seed, "first seed"),
         .value("latent-iterations", \.latentIterations, "iterations of the latent MLP field (the reference: 50,000)"),
         .value("train-frames", \.trainFrames, "frames the autoencoder and the field train on"),
         .value("test-frames", \.testFrames, "frames after them that are encoded, predicted and scored")]
    }

    public func problems() -> [ConfigProblem] {
        var found: [ConfigProblem] = []
        if iterations < 1 { found.append(.init("iterations", "must be ≥ 1 (got \(iterations))")) }
        if !(learningRate.isFinite && learningRate > 0) { found.append(.init("learning-rate", "must be positive (got \(learningRate))")) }
        if !(penaltyWeight.isFinite && penaltyWeight >= 0) { found.append(.init("penalty-weight", "must be ≥ 0 (got \(penaltyWeight))")) }
        if restarts < 1 { found.append(.init("restarts", "must be ≥ 1 (got \(restarts))")) }
        if latentIterations < 1 { found.append(.init("latent-iterations", "must be ≥ 1 (got \(latentIterations))")) }
        if trainFrames < 3 { found.append(.init("train-frames", "must be ≥ 3 (got \(trainFrames))")) }
        if testFrames < 3 { found.append(.init("test-frames", "must be ≥ 3 (got \(testFrames))")) }
        return found
    }
}
