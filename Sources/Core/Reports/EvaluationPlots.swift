import Foundation

/// The evaluation figures (docs/method.md §Evaluation), each as a `Figure` to write as PNG or SVG.
/// Frames are the evaluation's Float frames in [0, 1], H×W×C flat, left halves already cut.
public enum EvaluationPlots {
    /// latents.png: the latent components z_i(t) of one trajectory (left) beside its true state
    /// variables (right), both against the frame index, so a reader can see whether the latents
    /// move as smoothly as the physics does. `states` may be empty (real video): then only the
    /// latent panel is drawn.
    public static func latentFigure(latents: [[Double]], states: [[Double]], stateNames: [String],
                                    title: String) throws -> Figure {
        guard let d = latents.first?.count, d > 0 else { throw PlotError("latent figure: no latents") }
        var left = Chart(title: "latent components", x: Axis("frame t"), y: Axis("z_i"))
        for i in 0..<d { left.addLine("z\(i + 1)", x: latents.indices.map(Double.init), y: latents.map { $0[i] }) }
        guard !states.isEmpty, !stateNames.isEmpty else {
            var figure = Figure(width: 900, height: 520, title: title)
            figure.add(left)
            return figure
        }
        var right = Chart(title: "true state", x: Axis("frame t"), y: Axis("state value (rad, rad/s, m, m/s)"))
        for (s, name) in stateNames.enumerated() {
            right.addLine(name, x: states.indices.map(Double.init), y: states.map { $0[s] })
        }
        var figure = Figure(width: 1400, height: 520, rows: 1, columns: 2, title: title)
        figure.add(left); figure.add(right)
        return figure
    }

    /// frames.png: rows "true", "predicted" and "|difference|" (mean over channels of |p − t|,
    /// black = equal, white = off by the full range) at the frame indices `times`.
    public static func frameStripFigure(truth: [[Float]], predicted: [[Float]], times: [Int],
                                        height: Int, width: Int, channels: Int, title: String) throws -> Figure {
        guard !times.isEmpty else { throw PlotError("frame strip: no time points") }
        for t in times where !(truth.indices.contains(t) && predicted.indices.contains(t)) {
            throw PlotError("frame strip: time \(t) outside the \(truth.count) true and \(predicted.count) predicted frames")
        }
        let n = height * width
        func image(_ f: [Float]) throws -> PixelImage {
            guard f.count == n * channels else { throw PlotError("frame strip: frame of \(f.count) values, expected \(height)×\(width)×\(channels)") }
            return PixelImage(width: width, height: height, channels: channels, pixels: f.map(byte))
        }
        func difference(_ p: [Float], _ q: [Float]) -> PixelImage {
            let grey = (0..<n).map { i in
                byte((0..<channels).map { c in abs(p[i * channels + c] - q[i * channels + c]) }.reduce(0, +) / Float(channels))
            }
            return PixelImage(width: width, height: height, channels: 1, pixels: grey).converted(toChannels: channels)
        }
        let strip = ImageStrip(title: "", rows: [
            ImageStrip.Row(label: "true", frames: try times.map { try image(truth[$0]) }),
            ImageStrip.Row(label: "predicted", frames: try times.map { try image(predicted[$0]) }),
            ImageStrip.Row(label: "|difference|", frames: times.map { difference(predicted[$0], truth[$0]) }),
        ], captions: times.map { "t = \($0)" })
        // Frames enlarged to a whole factor when small (a 48-px circle frame to 96 px).
        let cell = max(width, 96)
        let figureWidth = max(640, 130 + times.count * (cell + 8))
        var figure = Figure(width: figureWidth, height: 3 * (cell + 8) + 110, title: title)
        figure.add(strip)
        return figure
    }

    /// frame_mse.png: per-frame pixel MSE against the frame index on a log axis, one curve per
    /// entry of `curves` (e.g. the mean and median over test trajectories, or several models),
    /// with every VPT threshold ε as a labelled dashed line. Non-positive values cannot be shown
    /// on the log axis and are left out.
    public static func frameErrorFigure(curves: [(name: String, mse: [Double])], thresholds: [Double],
                                        title: String) throws -> Figure {
        var chart = Chart(title: title, x: Axis("frame t"), y: Axis("per-frame pixel MSE", scale: .log))
        for (name, mse) in curves {
            let kept = mse.indices.filter { mse[$0] > 0 && mse[$0].isFinite }
            guard !kept.isEmpty else { continue }
            chart.addLine(name, x: kept.map(Double.init), y: kept.map { mse[$0] })
        }
        guard !chart.series.isEmpty else { throw PlotError("\(title): no positive per-frame MSE to plot") }
        let greys = [0x555555, 0x888888, 0xAAAAAA].map(PlotColor.init(hex:))
        let dashes: [Dash] = [.dashed, .dashDot, .dotted]
        for (i, eps) in thresholds.enumerated() {
            chart.referenceLines.append(ReferenceLine(name: "ε = \(ValidPredictionTime.key(eps))", y: eps,
                                                      color: greys[i % greys.count], dash: dashes[i % dashes.count]))
        }
        return Figure(chart, width: 900, height: 520)
    }

    /// vpt.png (for `--compare`): mean VPT per model as grouped bars, one group per ε, one bar (and
    /// legend entry) per model.
    public static func vptBarsFigure(_ runs: [EvaluationMetrics], title: String) throws -> Figure {
        guard let first = runs.first else { throw PlotError("VPT bars: no runs") }
        let thresholds = first.thresholds
        for r in runs where r.thresholds != thresholds {
            throw PlotError("VPT bars: '\(r.model)' uses thresholds \(r.thresholds), '\(first.model)' \(thresholds)")
        }
        let groupWidth = 0.8, barWidth = groupWidth / Double(runs.count)
        var chart = Chart(title: title,
                          x: Axis("VPT threshold (per-frame pixel MSE)", limits: -0.5...(Double(thresholds.count) - 0.5),
                                  ticks: thresholds.indices.map(Double.init), tickLabels: thresholds.map { "ε = \(ValidPredictionTime.key($0))" }),
                          // Room above 100 % for the legend.
                          y: Axis("VPT (% of horizon, mean over test trajectories)", limits: 0...130, ticks: [0, 20, 40, 60, 80, 100]))
        for (m, run) in runs.enumerated() {
            let offset = (Double(m) - Double(runs.count - 1) / 2) * barWidth
            let values = thresholds.map { run.vpt[ValidPredictionTime.key($0)] ?? .nan }
            guard values.allSatisfy(\.isFinite) else { throw PlotError("VPT bars: '\(run.model)' has no finite VPT for every ε") }
            chart.add(.bars(run.model, x: thresholds.indices.map { Double($0) + offset }, y: values, width: barWidth * 0.92))
        }
        chart.legend = .topRight
        return Figure(chart, width: max(700, 240 + 90 * runs.count * thresholds.count), height: 520)
    }

    /// [0, 1] → 0…255, rounded and clamped (a decoder can overshoot the range slightly).
    static func byte(_ v: Float) -> UInt8 { UInt8(max(0, min(255, (255 * v).rounded()))) }
}
