import Foundation

/// What `cpae-mpi run` leaves at the top of its run directory once every model is evaluated:
/// report.md (the comparison tables with every threshold stated, links to each model's figures),
/// summary.json (the headline numbers per model, for scripts and sweeps), vpt.png and frame_mse.png
/// (all models side by side). Each model's own metrics.json and figures stay in its subdirectory.
public enum PipelineReport {
    public static let summaryFileName = "summary.json"

    /// One model's line of summary.json.
    public struct ModelSummary: Codable, Sendable, Equatable {
        public var name: String
        public var title: String
        public var runDirectory: String
        public var evaluationDirectory: String
        public var vpt: [String: Double]
        public var vptStd: [String: Double]
        public var vptNormalized: Double
        public var vptReverse: [String: Double]?
        public var jumpRatioMedian: Double
        public var roughnessMedian: Double
        public var reconMSE: Double?
        public var interpolationMSE: Double?
        public var interpolationUnavailable: String?
        public var stateR2: [String: Double]?

        enum CodingKeys: String, CodingKey {
            case name, title, runDirectory = "run_directory", evaluationDirectory = "evaluation_directory"
            case vpt, vptStd = "vpt_std", vptNormalized = "vpt_normalized", vptReverse = "vpt_reverse"
            case jumpRatioMedian = "jump_ratio_median", roughnessMedian = "roughness_median", reconMSE = "recon_mse"
            case interpolationMSE = "interpolation_mse", interpolationUnavailable = "interpolation_unavailable", stateR2 = "state_r2"
        }
    }

    public struct Summary: Codable, Sendable, Equatable {
        public var formatVersion = 1
        public var dataset: String
        public var system: String
        public var latentModel: String
        public var ranks: Int
        public var models: [ModelSummary]
        /// Wall seconds per stage and in all (over every invocation that contributed).
        public var stageSeconds: [String: Double]
        public var totalSeconds: Double

        enum CodingKeys: String, CodingKey {
            case formatVersion = "format_version", dataset, system, latentModel = "latent_model", ranks, models
            case stageSeconds = "stage_seconds", totalSeconds = "total_seconds"
        }
    }

    /// Writes the four files into `directory`. `evaluations` pairs each model with its metrics and
    /// the directory they were read from.
    public static func write(directory: String, configuration: Configuration, dataset: String, ranks: Int,
                             evaluations: [(model: ModelVariant, runDirectory: String, evaluationDirectory: String, metrics: EvaluationMetrics)],
                             state: PipelineState) throws {
        precondition(!evaluations.isEmpty, "PipelineReport: no evaluations")
        let summary = Summary(
            dataset: dataset, system: evaluations[0].metrics.dataset, latentModel: configuration.ode.model.rawValue, ranks: ranks,
            models: evaluations.map { e in
                ModelSummary(name: e.model.rawValue, title: e.model.title, runDirectory: e.runDirectory,
                             evaluationDirectory: e.evaluationDirectory, vpt: e.metrics.vpt, vptStd: e.metrics.vptStd,
                             vptNormalized: e.metrics.vptNormalized, vptReverse: e.metrics.vptReverse,
                             jumpRatioMedian: e.metrics.jumpRatioMedian, roughnessMedian: e.metrics.roughnessMedian,
                             reconMSE: e.metrics.reconMSE, interpolationMSE: e.metrics.interpolationMSE,
                             interpolationUnavailable: e.metrics.interpolationUnavailable, stateR2: e.metrics.stateR2)
            },
            stageSeconds: state.seconds, totalSeconds: state.seconds.values.reduce(0, +))
        try AtomicFile.write(JSONCoding.encode(summary, pretty: true) + Array("\n".utf8), to: directory + "/" + summaryFileName)

        let runs = evaluations.map(\.metrics)
        let horizon = runs[0].horizonFrames
        try EvaluationPlots.vptBarsFigure(runs, title: "VPT (% of \(horizon) frames) on \(runs[0].dataset), latent model \(configuration.ode.model.rawValue)")
            .write(to: directory + "/vpt.png")
        try EvaluationPlots.frameErrorFigure(curves: runs.map { (name: $0.model, mse: $0.frameMSEMedian) }, thresholds: runs[0].thresholds,
                                             title: "median per-frame MSE over \(runs[0].trajectories) \(runs[0].split) trajectories")
            .write(to: directory + "/frame_mse.png")

        var text = EvaluationReport.markdown(runs, title: "cpae-mpi run: \(evaluations.map(\.model.title).joined(separator: " vs ")) on \(runs[0].dataset)")
        text += "\n## Figures\n\n![VPT per model](vpt.png)\n\n![per-frame MSE](frame_mse.png)\n\n"
        for e in evaluations {
            let relative = e.evaluationDirectory.hasPrefix(directory + "/") ? String(e.evaluationDirectory.dropFirst(directory.count + 1)) : e.evaluationDirectory
            text += "### \(e.model.title)\n\nlatents against time, with the true state: ![\(e.model.title) latents](\(relative)/latents.png)\n\n"
            text += "true / predicted / difference frames: ![\(e.model.title) frames](\(relative)/frames.png)\n\n"
        }
        text += "## How this was made\n\nDataset `\(dataset)`, \(ranks) rank(s); the configuration is `config.json` beside this file "
        text += "(`cpae-mpi run --config config.json` reproduces it). Stage times:\n\n"
        text += EvaluationReport.table(header: ["stage", "seconds"], rows: state.completed.map { [$0, String(format: "%.1f", state.seconds[$0] ?? .nan)] })
        try AtomicFile.write(Array(text.utf8), to: directory + "/" + EvaluationReport.fileName)
    }

    /// The comparison in a few lines for the terminal, from summary.json.
    public static func headline(_ summary: Summary) -> String {
        func pad(_ s: String) -> String { s.count >= 12 ? s : s + String(repeating: " ", count: 12 - s.count) }
        var text = "model        VPT ε=0.01  VPT ε=0.005  jump ratio  recon MSE\n"
        for m in summary.models {
            text += pad(m.title) + String(format: " %9.1f%%  %10.1f%%  %10.2f  %9.2e\n", m.vpt["0.01"] ?? .nan,
                                          m.vpt["0.005"] ?? .nan, m.jumpRatioMedian, m.reconMSE ?? .nan)
        }
        return text
    }
}
