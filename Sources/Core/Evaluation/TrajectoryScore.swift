/// The frame errors of one test trajectory's rollout(s), from which `EvaluationMetrics` derives
/// every VPT. Built from the decoded predictions (left halves already cut) and the true frames.
public struct TrajectoryScore: Codable, Equatable, Sendable {
    public var id: Int
    /// e_t, forward rollout against frames 0 … T−1.
    public var frameMSE: [Double]
    /// e_t / mean(true_t²) (Botev et al.'s normalised error), forward rollout.
    public var normalizedMSE: [Double]
    /// e_t of the reverse-time rollout (started from the last pair and integrated backwards),
    /// element t compared with true frame T−1−t; nil when no reverse rollout was made.
    public var reverseFrameMSE: [Double]?

    enum CodingKeys: String, CodingKey {
        case id, frameMSE = "frame_mse", normalizedMSE = "normalized_mse", reverseFrameMSE = "reverse_frame_mse"
    }

    public init(id: Int, frameMSE: [Double], normalizedMSE: [Double], reverseFrameMSE: [Double]? = nil) {
        precondition(frameMSE.count == normalizedMSE.count, "trajectory \(id): \(frameMSE.count) errors, \(normalizedMSE.count) normalised ones")
        self.id = id; self.frameMSE = frameMSE; self.normalizedMSE = normalizedMSE; self.reverseFrameMSE = reverseFrameMSE
    }

    /// Scores `predicted[t]` against `truth[t]`; for the reverse rollout, `reversePredicted[t]`
    /// against `truth[T−1−t]` (so pass the true frames once, in forward order).
    public init(id: Int, predicted: [[Float]], truth: [[Float]], reversePredicted: [[Float]]? = nil) {
        let reverse = reversePredicted.map { FrameError.perFrameMSE(predicted: $0, truth: Array(truth.reversed())) }
        self.init(id: id, frameMSE: FrameError.perFrameMSE(predicted: predicted, truth: truth),
                  normalizedMSE: FrameError.normalizedPerFrameMSE(predicted: predicted, truth: truth),
                  reverseFrameMSE: reverse)
    }

    /// VPT of the forward rollout at ε, in % of the horizon.
    public func vpt(_ epsilon: Double) -> Double { 100 * ValidPredictionTime.fraction(frameMSE, threshold: epsilon) }
}
