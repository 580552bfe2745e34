import Foundation

/// What `cpae-mpi run` writes for the circle ablation (the circle system): report.md (one row per
/// model with its kept initialisation and every restart), summary.json, circle_latents.png (the
/// reference's Cir_traj figure: each model's test latents and its latent ODE's rollout),
/// circle_frames.png (true frames against each model's decoded rollout) and frame_mse.png.
public enum CircleReport {
    /// One model of summary.json: the kept initialisation's numbers and each restart's.
    public struct ModelSummary: Codable, Sendable, Equatable {
        public var name: String
        public var title: String
        public var penalty: String
        public var penaltyWeight: Double
        public var seed: UInt64
        public var trainMSE: Double
        public var testMSE: Double
        public var jumpRatio: Double
        public var roughness: Double
        public var latentLoss: Double?
        public var vpt: [String: Double]
        /// Per restart (seed order): seed, training MSE, test jump ratio.
        public var restarts: [Restart]
        /// The median over restarts of the test jump ratio (how typical the kept one is).
        public var jumpRatioMedianOverRestarts: Double

        public struct Restart: Codable, Sendable, Equatable {
            public var seed: UInt64
            public var trainMSE: Double
            public var jumpRatio: Double
            public var vpt: [String: Double]
            enum CodingKeys: String, CodingKey { case seed, trainMSE = "train_mse", jumpRatio = "jump_ratio", vpt }
        }

        enum CodingKeys: String, CodingKey {
            case name, title, penalty, penaltyWeight = "penalty_weight", seed, trainMSE = "train_mse", testMSE = "test_mse"
            case jumpRatio = "jump_ratio", roughness, latentLoss = "latent_loss", vpt, restarts
            case jumpRatioMedianOverRestarts = "jump_ratio_median_over_restarts"
        }
    }

    public struct Summary: Codable, Sendable, Equatable {
        public var formatVersion = 1
        public var system = "circle"
        public var ranks: Int
        public var iterations: Int
        public var latentIterations: Int
        public var testFrames: Int
        public var models: [ModelSummary]
        public var stageSeconds: [String: Double]
        public var totalSeconds: Double

        enum CodingKeys: String, CodingKey {
            case formatVersion = "format_version", system, ranks, iterations, latentIterations = "latent_iterations"
            case testFrames = "test_frames", models, stageSeconds = "stage_seconds", totalSeconds = "total_seconds"
        }
    }

    /// The restart kept for a model: the lowest training MSE, as the reference keeps its lowest-loss model.
    public static func kept(_ restarts: [CircleExperiment.Result]) -> CircleExperiment.Result {
        restarts.min { $0.train_mse < $1.train_mse }!
    }

    /// Writes the five files into `directory` from each model's restarts.
    public static func write(directory: String, configuration c: Configuration, ranks: Int,
                             runs: [(model: ModelVariant, restarts: [CircleExperiment.Result])], state: PipelineState) throws {
        precondition(!runs.isEmpty && runs.allSatisfy { !$0.restarts.isEmpty }, "CircleReport: no runs")
        let models = runs.map { run -> ModelSummary in
            let k = kept(run.restarts)
            return ModelSummary(name: run.model.rawValue, title: run.model.title, penalty: k.penalty, penaltyWeight: k.penalty_weight,
                                seed: k.seed, trainMSE: k.train_mse, testMSE: k.test_mse, jumpRatio: k.jump_ratio_test,
                                roughness: k.roughness_test, latentLoss: k.latent_loss, vpt: k.vpt ?? [:],
                                restarts: run.restarts.map { .init(seed: $0.seed, trainMSE: $0.train_mse, jumpRatio: $0.jump_ratio_test, vpt: $0.vpt ?? [:]) },
                                jumpRatioMedianOverRestarts: median(run.restarts.map(\.jump_ratio_test)))
        }
        let summary = Summary(ranks: ranks, iterations: c.circle.iterations, latentIterations: c.circle.latentIterations,
                              testFrames: c.circle.testFrames, models: models, stageSeconds: state.seconds,
                              totalSeconds: state.seconds.values.reduce(0, +))
        try AtomicFile.write(JSONCoding.encode(summary, pretty: true) + Array("\n".utf8), to: directory + "/" + PipelineReport.summaryFileName)

        let keptRuns = runs.map { (model: $0.model, result: kept($0.restarts)) }
        try latentFigure(keptRuns).write(to: directory + "/circle_latents.png")
        try frameFigure(keptRuns, configuration: c).write(to: directory + "/circle_frames.png")
        let curves = keptRuns.compactMap { r in r.result.rollout_frame_mse.map { (name: r.model.title, mse: $0) } }
        if !curves.isEmpty {
            try EvaluationPlots.frameErrorFigure(curves: curves, thresholds: ValidPredictionTime.thresholds,
                                                 title: "circle: per-frame MSE of the decoded rollout over the \(c.circle.testFrames) test frames")
                .write(to: directory + "/frame_mse.png")
        }
        try AtomicFile.write(Array(markdown(summary, configuration: c, state: state).utf8), to: directory + "/" + EvaluationReport.fileName)
    }

    static func markdown(_ s: Summary, configuration c: Configuration, state: PipelineState) -> String {
        let eps = ValidPredictionTime.thresholds.map(ValidPredictionTime.key)
        var text = "# cpae-mpi run: the circular-motion ablation\n\n"
        text += "A ball on a circle (48×48, 0.1 rad per frame): each model trained full batch on the first \(c.circle.trainFrames) frames "
        text += "for \(s.iterations) Adam iterations, from \(c.circle.restarts) initialisations (seeds \(c.circle.seed)…\(c.circle.seed + UInt64(c.circle.restarts) - 1)), "
        text += "keeping the lowest training MSE; then a latent MLP field (2 → 64 → 2, h = 0.1, midpoint × 2) fitted to its training latents for "
        text += "\(s.latentIterations) iterations and rolled out from the first of the \(s.testFrames) test frames' latents. "
        text += "Jump ratio: max/median step ‖z(t+1) − z(t)‖ of the test latents (≈ 1–2 when they move continuously). "
        text += "VPT(ε): % of test frames before the decoded rollout's per-frame MSE first exceeds ε.\n\n"
        text += EvaluationReport.table(
            header: ["model", "penalty", "seed kept", "train MSE", "test MSE", "jump ratio", "jump ratio, median over restarts", "roughness"]
                + eps.map { "VPT ε=\($0)" },
            rows: s.models.map { m in
                [m.title, m.penalty + (m.penalty == "none" ? "" : " ×" + String(format: "%g", m.penaltyWeight)), "\(m.seed)",
                 EvaluationReport.scientific(m.trainMSE), EvaluationReport.scientific(m.testMSE), EvaluationReport.fixed(m.jumpRatio, digits: 2),
                 EvaluationReport.fixed(m.jumpRatioMedianOverRestarts, digits: 2), EvaluationReport.fixed(m.roughness, digits: 3)]
                    + eps.map { EvaluationReport.fixed(m.vpt[$0]) + "%" }
            })
        text += "\n## Every initialisation\n\n"
        text += EvaluationReport.table(header: ["model", "seed", "train MSE", "jump ratio", "VPT ε=0.01"],
                                       rows: s.models.flatMap { m in m.restarts.map { r in
                                           [m.title, "\(r.seed)", EvaluationReport.scientific(r.trainMSE), EvaluationReport.fixed(r.jumpRatio, digits: 2),
                                            EvaluationReport.fixed(r.vpt["0.01"]) + "%"] } })
        text += "\n## Figures\n\nTest latents and each model's latent-ODE rollout (the reference's Cir_traj figure):\n\n![latents](circle_latents.png)\n\n"
        text += "True test frames against each model's decoded rollout:\n\n![frames](circle_frames.png)\n\n![per-frame MSE](frame_mse.png)\n\n"
        text += "## How this was made\n\n\(s.ranks) rank(s), the initialisations shared out over them; the configuration is `config.json` beside this file. Stage times:\n\n"
        text += EvaluationReport.table(header: ["stage", "seconds"], rows: state.completed.map { [$0, String(format: "%.1f", state.seconds[$0] ?? .nan)] })
        return text
    }

    /// Cir_traj: per model, the path z1 against z0 of the encoded test latents (dots) and of the
    /// rollout (line) — a loop traversed evenly when the latents follow the circle — and below it
    /// both against the test frame.
    static func latentFigure(_ runs: [(model: ModelVariant, result: CircleExperiment.Result)]) -> Figure {
        var figure = Figure(width: 520 * runs.count, height: 900, rows: 2, columns: runs.count,
                            title: "circle: test latents (dots) and latent-ODE rollout (line) of each model")
        var paths: [Chart] = [], series: [Chart] = []
        for (model, r) in runs {
            let z = r.test_latents, rollout = r.rollout_latents ?? []
            var path = Chart(title: "\(model.title): jump ratio \(String(format: "%.2f", r.jump_ratio_test))", x: Axis("z0"), y: Axis("z1"))
            var time = Chart(title: "\(model.title): latents against time", x: Axis("test frame"), y: Axis("latent"))
            if z.first.map({ $0.count >= 2 }) ?? false {
                path.add(Series(name: "encoded", x: z.map { $0[0] }, y: z.map { $0[1] }, color: PlotColor.palette[0], connected: false, marker: .circle, markerSize: 4))
                if !rollout.isEmpty {
                    path.add(Series(name: "rollout", x: rollout.map { $0[0] }, y: rollout.map { $0[1] }, color: PlotColor.palette[1], lineWidth: 1.6))
                }
            }
            let frames = z.indices.map(Double.init)
            for k in 0..<(z.first?.count ?? 0) {
                time.addLine("z\(k) encoded", x: frames, y: z.map { $0[k] }, color: PlotColor.palette[2 * k % PlotColor.palette.count])
                if !rollout.isEmpty {
                    time.addLine("z\(k) rollout", x: rollout.indices.map(Double.init), y: rollout.map { $0[k] },
                                 color: PlotColor.palette[(2 * k + 1) % PlotColor.palette.count], dash: .dashed)
                }
            }
            paths.append(path); series.append(time)
        }
        for chart in paths + series { figure.add(chart) }
        return figure
    }

    /// The true test frames every `frameStride` frames, and each model's decoded rollout there.
    static func frameFigure(_ runs: [(model: ModelVariant, result: CircleExperiment.Result)], configuration c: Configuration) throws -> Figure {
        let size = 48
        let truth = try CircleExperiment.frames(count: c.circle.trainFrames + c.circle.testFrames, size: size)
        let per = size * size
        let times = Array(stride(from: 0, to: c.circle.testFrames, by: CircleExperiment.Result.frameStride))
        let trueRow = ImageStrip.Row(label: "true", frames: times.map { t in
            let offset = (c.circle.trainFrames + t) * per
            return PixelImage(width: size, height: size, channels: 1, pixels: (0..<per).map { EvaluationPlots.byte(truth.data[offset + $0]) })
        })
        let rows = runs.compactMap { run -> ImageStrip.Row? in
            guard let frames = run.result.rollout_frames, frames.count == times.count else { return nil }
            return ImageStrip.Row(label: run.model.title, frames: frames.map { PixelImage(width: size, height: size, channels: 1, pixels: $0) })
        }
        let cell = 96
        var figure = Figure(width: max(640, 160 + times.count * (cell + 8)), height: (rows.count + 1) * (cell + 8) + 110,
                            title: "circle: true test frames and each model's decoded latent-ODE rollout")
        figure.add(ImageStrip(title: "", rows: [trueRow] + rows, captions: times.map { "t = \($0)" }))
        return figure
    }

    /// The comparison in a few lines for the terminal, from summary.json.
    public static func headline(_ s: Summary) -> String {
        func pad(_ t: String) -> String { t.count >= 12 ? t : t + String(repeating: " ", count: 12 - t.count) }
        var text = "model        VPT ε=0.01  VPT ε=0.005  jump ratio  test MSE\n"
        for m in s.models {
            text += pad(m.title) + String(format: " %9.1f%%  %10.1f%%  %10.2f  %8.2e\n", m.vpt["0.01"] ?? .nan, m.vpt["0.005"] ?? .nan, m.jumpRatio, m.testMSE)
        }
        return text
    }
}
