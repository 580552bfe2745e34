/// One line of `metrics.jsonl`: what one optimizer step did. The writer (`MetricsLog`), the
/// reader (`JSONLines.read`), the loss plot and the tests all go through this type, so the file's
/// schema is written down once. The JSON keys are snake_case and the loss terms sit beside the
/// total at the top level, e.g. (keys sorted as `JSONCoding` writes them):
///
///     {"allreduce_seconds":0.0012,"epoch":0,"latent":5e-05,"loss":0.135,"lr":0.001,"penalty":0.0153,
///      "prediction":0.0004,"reconstruction":0.119,"samples_per_second":850.2,"skipped":false,"step":1,
///      "step_seconds":0.0376}
public struct MetricsRecord: StepRecord, Sendable, Equatable {
    /// 1-based count of optimizer steps taken.
    public var step: Int
    public var epoch: Int
    /// The total loss (`terms.total`), stored so a reader needs no knowledge of the terms.
    public var loss: Double
    /// Each weighted term by name (`LossTerms`' own keys).
    public var terms: LossTerms
    public var learningRate: Float
    public var samplesPerSecond: Double
    public var stepSeconds: Double
    public var allreduceSeconds: Double
    /// The optimizer step was skipped (non-finite values under `--on-nan skip`).
    public var skipped: Bool

    public init(_ r: StepReport) {
        step = r.step; epoch = r.epoch; loss = r.terms.total; terms = r.terms; learningRate = r.learningRate
        samplesPerSecond = Double(r.samples) / r.seconds; stepSeconds = r.seconds
        allreduceSeconds = r.allreduceSeconds; skipped = r.skipped
    }

    /// The loss series a plot draws: the total, then each term.
    public var namedLosses: [(String, Double)] { [("loss", loss)] + terms.named }

    private enum CodingKeys: String, CodingKey {
        case step, epoch, loss, skipped
        case learningRate = "lr", samplesPerSecond = "samples_per_second", stepSeconds = "step_seconds"
        case allreduceSeconds = "allreduce_seconds"
    }

    public init(from decoder: Swift.Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        step = try c.decode(Int.self, forKey: .step)
        epoch = try c.decode(Int.self, forKey: .epoch)
        loss = try c.decode(Double.self, forKey: .loss)
        terms = try LossTerms(from: decoder)   // the terms' keys sit at this level too
        learningRate = try c.decode(Float.self, forKey: .learningRate)
        samplesPerSecond = try c.decode(Double.self, forKey: .samplesPerSecond)
        stepSeconds = try c.decode(Double.self, forKey: .stepSeconds)
        allreduceSeconds = try c.decode(Double.self, forKey: .allreduceSeconds)
        skipped = try c.decode(Bool.self, forKey: .skipped)
    }

    public func encode(to encoder: Swift.Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(step, forKey: .step)
        try c.encode(epoch, forKey: .epoch)
        try c.encode(loss, forKey: .loss)
        try terms.encode(to: encoder)
        try c.encode(learningRate, forKey: .learningRate)
        try c.encode(samplesPerSecond, forKey: .samplesPerSecond)
        try c.encode(stepSeconds, forKey: .stepSeconds)
        try c.encode(allreduceSeconds, forKey: .allreduceSeconds)
        try c.encode(skipped, forKey: .skipped)
    }
}
