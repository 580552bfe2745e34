import Foundation

/// One evaluated model on one dataset split, written as metrics.json (docs/method.md §Evaluation).
/// VPTs are in % of the horizon; the maps keyed by ε use `ValidPredictionTime.key` ("0.0025",
/// "0.005", "0.01"). Fields that could not be measured are null, never a made-up number.
public struct EvaluationMetrics: Codable, Equatable, Sendable {
    public static let fileName = "metrics.json"
    public static let currentVersion = 1

    /// The interpolation score, or why there is none.
    public enum Interpolation: Equatable, Sendable {
        /// Mean pixel MSE over every scored in-between frame, at these fractions f of dt.
        case scored(mse: Double, fractions: [Double])
        case unavailable(reason: String)
        case notRun
    }

    public var formatVersion: Int
    /// The label shown in reports and `--compare` (e.g. "CpAE + NODE").
    public var model: String
    public var autoencoder: String
    public var latentModel: String
    public var dataset: String
    public var split: String
    public var trajectories: Int
    /// T: frames scored per rollout (every VPT is a fraction of it).
    public var horizonFrames: Int
    public var thresholds: [Double]
    public var normalizedThreshold: Double

    public var vpt: [String: Double]
    public var vptStd: [String: Double]
    public var vptMedian: [String: Double]
    /// Median over trajectories of the normalised-error VPT at `normalizedThreshold`.
    public var vptNormalized: Double
    public var vptNormalizedMean: Double
    /// Mean VPT of the reverse-time rollouts; nil when none were scored.
    public var vptReverse: [String: Double]?
    public var vptReverseStd: [String: Double]?

    public var jumpRatioMedian: Double
    public var roughnessMedian: Double
    public var continuity: LatentContinuity

    public var reconMSE: Double?
    public var interpolationMSE: Double?
    public var interpolationFractions: [Double]?
    public var interpolationUnavailable: String?
    public var stateR2: [String: Double]?
    public var latentStability: Double?

    /// Mean and median over trajectories of e_t, t = 0 … T−1 (the figure's curves).
    public var frameMSEMean: [Double]
    public var frameMSEMedian: [Double]

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", model, autoencoder, latentModel = "latent_model", dataset, split
        case trajectories, horizonFrames = "horizon_frames", thresholds, normalizedThreshold = "normalized_threshold"
        case vpt, vptStd = "vpt_std", vptMedian = "vpt_median", vptNormalized = "vpt_normalized"
        case vptNormalizedMean = "vpt_normalized_mean", vptReverse = "vpt_reverse", vptReverseStd = "vpt_reverse_std"
        case jumpRatioMedian = "jump_ratio_median", roughnessMedian = "roughness_median", continuity
        case reconMSE = "recon_mse", interpolationMSE = "interpolation_mse", interpolationFractions = "interpolation_fractions"
        case interpolationUnavailable = "interpolation_unavailable", stateR2 = "state_r2", latentStability = "latent_stability"
        case frameMSEMean = "frame_mse_mean", frameMSEMedian = "frame_mse_median"
    }

    /// Summarises the per-trajectory scores and the other measurements.
    /// - Parameters:
    ///   - scores: one per test trajectory, all with the same horizon.
    ///   - latentPaths: each test trajectory's latents z_0 … z_{T−1} (encodings of its pairs) for
    ///     the continuity numbers.
    ///   - reconstructionMSE: mean pixel MSE of decode(encode(pair)) against the pair.
    ///   - stateR2: from `StateRegression.r2`; nil for datasets without states.
    ///   - latentStability: from `LatentStability.mse`, averaged over trajectories.
    public init(model: String, autoencoder: String, latentModel: String, dataset: String, split: String,
                scores: [TrajectoryScore], latentPaths: [[[Double]]], reconstructionMSE: Double?,
                interpolation: Interpolation, stateR2: [String: Double]?, latentStability: Double?,
                thresholds: [Double] = ValidPredictionTime.thresholds,
                normalizedThreshold: Double = ValidPredictionTime.normalizedThreshold) {
        precondition(!scores.isEmpty, "EvaluationMetrics: no trajectories scored")
        let horizon = scores[0].frameMSE.count
        precondition(scores.allSatisfy { $0.frameMSE.count == horizon }, "EvaluationMetrics: rollouts of different horizons")
        formatVersion = Self.currentVersion
        self.model = model; self.autoencoder = autoencoder; self.latentModel = latentModel
        self.dataset = dataset; self.split = split
        trajectories = scores.count; horizonFrames = horizon
        self.thresholds = thresholds; self.normalizedThreshold = normalizedThreshold

        func summaries(_ errors: [[Double]]) -> [String: Summary] {
            Dictionary(uniqueKeysWithValues: thresholds.map { eps in
                (ValidPredictionTime.key(eps), Summary(errors.map { 100 * ValidPredictionTime.fraction($0, threshold: eps) }))
            })
        }
        let forward = summaries(scores.map(\.frameMSE))
        vpt = forward.mapValues(\.mean); vptStd = forward.mapValues(\.std); vptMedian = forward.mapValues(\.median)
        let normalized = Summary(scores.map { 100 * ValidPredictionTime.fraction($0.normalizedMSE, threshold: normalizedThreshold) })
        vptNormalized = normalized.median; vptNormalizedMean = normalized.mean
        let reverse = scores.compactMap(\.reverseFrameMSE)
        if reverse.count == scores.count {
            let r = summaries(reverse)
            vptReverse = r.mapValues(\.mean); vptReverseStd = r.mapValues(\.std)
        } else {
            precondition(reverse.isEmpty, "EvaluationMetrics: reverse rollouts for \(reverse.count) of \(scores.count) trajectories")
        }

        continuity = LatentContinuity(paths: latentPaths)
        jumpRatioMedian = continuity.jumpRatio.median; roughnessMedian = continuity.roughness.median
        reconMSE = reconstructionMSE
        switch interpolation {
        case .scored(let mse, let fractions): interpolationMSE = mse; interpolationFractions = fractions
        case .unavailable(let reason): interpolationUnavailable = reason
        case .notRun: break
        }
        self.stateR2 = stateR2; self.latentStability = latentStability
        frameMSEMean = (0..<horizon).map { t in Summary(scores.map { $0.frameMSE[t] }).mean }
        frameMSEMedian = (0..<horizon).map { t in Summary(scores.map { $0.frameMSE[t] }).median }
    }

    /// Every key is written, absent values as null (synthesised Codable would drop them, and a
    /// reader should see "not measured" rather than guess).
    public func encode(to encoder: Swift.Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(formatVersion, forKey: .formatVersion); try c.encode(model, forKey: .model)
        try c.encode(autoencoder, forKey: .autoencoder); try c.encode(latentModel, forKey: .latentModel)
        try c.encode(dataset, forKey: .dataset); try c.encode(split, forKey: .split)
        try c.encode(trajectories, forKey: .trajectories); try c.encode(horizonFrames, forKey: .horizonFrames)
        try c.encode(thresholds, forKey: .thresholds); try c.encode(normalizedThreshold, forKey: .normalizedThreshold)
        try c.encode(vpt, forKey: .vpt); try c.encode(vptStd, forKey: .vptStd); try c.encode(vptMedian, forKey: .vptMedian)
        try c.encode(vptNormalized, forKey: .vptNormalized); try c.encode(vptNormalizedMean, forKey: .vptNormalizedMean)
        try c.encode(vptReverse, forKey: .vptReverse); try c.encode(vptReverseStd, forKey: .vptReverseStd)
        try c.encode(jumpRatioMedian, forKey: .jumpRatioMedian); try c.encode(roughnessMedian, forKey: .roughnessMedian)
        try c.encode(continuity, forKey: .continuity)
        try c.encode(reconMSE, forKey: .reconMSE); try c.encode(interpolationMSE, forKey: .interpolationMSE)
        try c.encode(interpolationFractions, forKey: .interpolationFractions)
        try c.encode(interpolationUnavailable, forKey: .interpolationUnavailable)
        try c.encode(stateR2, forKey: .stateR2); try c.encode(latentStability, forKey: .latentStability)
        try c.encode(frameMSEMean, forKey: .frameMSEMean); try c.encode(frameMSEMedian, forKey: .frameMSEMedian)
    }

    /// Writes `directory/metrics.json` atomically (pretty, sorted keys).
    public func write(toDirectory directory: String) throws {
        try AtomicFile.write(JSONCoding.encode(self, pretty: true) + Array("\n".utf8), to: directory + "/" + Self.fileName)
    }

    /// Reads a metrics.json written by `write`.
    public static func read(_ path: String) throws -> EvaluationMetrics {
        let file = try FileReader(path: path)
        let m = try JSONCoding.decode(EvaluationMetrics.self, from: file.read(count: file.size, at: 0), file: path)
        guard m.formatVersion == currentVersion else {
            throw JSONDecodingError(file: path, field: "format_version",
                                    problem: "version \(m.formatVersion), this build reads \(currentVersion)")
        }
        return m
    }
}
