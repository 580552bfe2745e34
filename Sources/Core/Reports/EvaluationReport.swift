import Foundation

/// report.md of an evaluation: the numbers of one or more `EvaluationMetrics` (several for
/// `--compare`, one column per run) as Markdown tables, every threshold stated.
public enum EvaluationReport {
    public static let fileName = "report.md"

    public static func markdown(_ runs: [EvaluationMetrics], title: String = "Evaluation") -> String {
        precondition(!runs.isEmpty, "EvaluationReport: no runs")
        var out = "# \(title)\n\n"
        out += table(header: ["run", "autoencoder", "latent model", "dataset", "split", "trajectories", "horizon T (frames)"],
                     rows: runs.map { [$0.model, $0.autoencoder, $0.latentModel, $0.dataset, $0.split, "\($0.trajectories)", "\($0.horizonFrames)"] })

        let keys = runs[0].thresholds.map(ValidPredictionTime.key)
        out += "\n## Valid prediction time (% of the horizon)\n\n"
        out += "VPT = k / T, k the first frame whose per-frame pixel MSE exceeds ε (T if none); mean ± std (median) over test trajectories.\n\n"
        out += table(header: ["ε (raw MSE)"] + runs.map(\.model), rows: keys.map { k in
            [k] + runs.map { r in "\(fixed(r.vpt[k])) ± \(fixed(r.vptStd[k])) (\(fixed(r.vptMedian[k])))" }
        })
        out += "\nNormalised error (MSE / mean squared true pixel, Botev et al. 2021), threshold \(runs[0].normalizedThreshold): median (mean) over trajectories.\n\n"
        out += table(header: ["ε (normalised)"] + runs.map(\.model),
                     rows: [["\(runs[0].normalizedThreshold)"] + runs.map { "\(fixed($0.vptNormalized)) (\(fixed($0.vptNormalizedMean)))" }])
        if runs.contains(where: { $0.vptReverse != nil }) {
            out += "\nReverse-time rollouts (from the last pair, backwards): mean ± std.\n\n"
            out += table(header: ["ε (raw MSE)"] + runs.map(\.model), rows: keys.map { k in
                [k] + runs.map { r in r.vptReverse.map { "\(fixed($0[k])) ± \(fixed(r.vptReverseStd?[k]))" } ?? "—" }
            })
        }

        out += "\n## Other metrics\n\n"
        var rows: [[String]] = [
            ["latent jump ratio, median (max/median ‖Δz‖)"] + runs.map { fixed($0.jumpRatioMedian, digits: 2) },
            ["latent roughness, median (mean‖Δ²z‖/mean‖Δz‖)"] + runs.map { fixed($0.roughnessMedian, digits: 3) },
            ["reconstruction MSE"] + runs.map { scientific($0.reconMSE) },
            ["interpolation MSE"] + runs.map { r in r.interpolationMSE.map { "\(scientific($0)) (f = \((r.interpolationFractions ?? []).map { "\($0)" }.joined(separator: ", ")))" } ?? "—" },
            ["latent stability (MSE of z vs E(D(z)))"] + runs.map { scientific($0.latentStability) },
        ]
        // Every state any run has, alphabetically (the state_r2 dictionary keeps no order), so
        // the same datasets always give the same rows.
        for name in Set(runs.flatMap { ($0.stateR2 ?? [:]).keys }).sorted() {
            rows.append(["state R² (cubic), \(name)"] + runs.map { fixed($0.stateR2?[name], digits: 3) })
        }
        out += table(header: ["metric"] + runs.map(\.model), rows: rows)
        let notes = runs.compactMap { r in r.interpolationUnavailable.map { "- \(r.model): interpolation not scored — \($0)" } }
        if !notes.isEmpty { out += "\n" + notes.joined(separator: "\n") + "\n" }
        return out
    }

    /// Writes `directory/report.md` atomically.
    public static func write(_ runs: [EvaluationMetrics], toDirectory directory: String, title: String = "Evaluation") throws {
        try AtomicFile.write(Array(markdown(runs, title: title).utf8), to: directory + "/" + fileName)
    }

    static func table(header: [String], rows: [[String]]) -> String {
        ([row(header), row(header.map { _ in "---" })] + rows.map(row)).joined(separator: "\n") + "\n"
    }

    static func row(_ cells: [String]) -> String { "| " + cells.joined(separator: " | ") + " |" }

    /// "—" for a value not measured, "NaN" for one that is not a number.
    static func fixed(_ v: Double?, digits: Int = 1) -> String {
        guard let v else { return "—" }
        return v.isFinite ? String(format: "%.*f", digits, v) : "NaN"
    }

    static func scientific(_ v: Double?) -> String {
        guard let v else { return "—" }
        return v.isFinite ? String(format: "%.3e", v) : "NaN"
    }
}
