/// Valid prediction time (VPT, docs/method.md §Evaluation): how long a rollout stays close to the
/// truth, as a fraction of the horizon.
///
/// Counting: `errors` holds e_0 … e_{T−1}, one per scored frame, so the horizon is T =
/// `errors.count` frames (the caller chooses which frames are scored; `evaluate` scores every frame
/// of the rollout, frame 0 included). Let k be the index of the FIRST frame with e_k > ε (k = T if
/// there is none). VPT = k / T: the fraction of scored frames before the first exceedance. So a
/// rollout that never exceeds ε scores 1, one that exceeds at frame 0 scores 0, and a later dip
/// back below ε does not count. A non-finite error (a diverged rollout) counts as an exceedance.
public enum ValidPredictionTime {
    /// The three raw-MSE thresholds reported (the reference publishes none; §Evaluation explains
    /// the choice: a fully misplaced pendulum rod gives e ≈ 0.016).
    public static let thresholds: [Double] = [0.0025, 0.005, 0.01]
    /// Botev et al. (2021)'s threshold on the normalised error (`FrameError.normalizedPerFrameMSE`).
    public static let normalizedThreshold = 0.025

    /// k / T as defined above (in [0, 1]); NaN for an empty sequence.
    public static func fraction(_ errors: [Double], threshold epsilon: Double) -> Double {
        guard !errors.isEmpty else { return .nan }
        let k = errors.firstIndex { !($0 <= epsilon) } ?? errors.count   // `!(≤)` makes NaN an exceedance
        return Double(k) / Double(errors.count)
    }

    /// The keys metrics.json uses for a threshold: "0.0025", "0.005", "0.01" (shortest decimal form).
    public static func key(_ epsilon: Double) -> String { "\(epsilon)" }
}
