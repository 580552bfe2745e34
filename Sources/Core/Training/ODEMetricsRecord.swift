/// One line of a phase-2 `metrics.jsonl` (`ode/<model>/metrics.jsonl`): what one optimizer step did.
/// `validation_loss` is present on the steps where it was measured (every `evaluateEvery` steps).
///
///     {"allreduce_seconds":0.0003,"epoch":0,"iterations_per_second":2.1,"loss":41.2,"lr":0.01,
///      "skipped":false,"step":1,"step_seconds":0.47,"validation_loss":39.8}
public struct ODEMetricsRecord: StepRecord, Sendable, Equatable {
    public var step: Int
    public var epoch: Int
    /// Training-batch loss MSE/h², averaged over the global batch.
    public var loss: Double
    public var validationLoss: Double?
    public var learningRate: Float
    public var iterationsPerSecond: Double
    public var stepSeconds: Double
    public var allreduceSeconds: Double
    public var skipped: Bool

    public init(_ r: ODEStepReport, validationLoss: Double?) {
        step = r.step; epoch = r.epoch; loss = r.loss; self.validationLoss = validationLoss
        learningRate = r.learningRate; iterationsPerSecond = 1 / r.seconds; stepSeconds = r.seconds
        allreduceSeconds = r.allreduceSeconds; skipped = r.skipped
    }

    private enum CodingKeys: String, CodingKey {
        case step, epoch, loss, skipped
        case validationLoss = "validation_loss", learningRate = "lr", iterationsPerSecond = "iterations_per_second"
        case stepSeconds = "step_seconds", allreduceSeconds = "allreduce_seconds"
    }
}
