import Foundation

/// What `cpae-mpi sweep` writes at the top of its directory once every point's pipeline is done:
/// sweep.md (one row per point and model), sweep.json (the same numbers for scripts) and sweep.png
/// (reconstruction MSE, jump ratio and VPT against the knob, and the trade-off of the first two).
public enum SweepReport {
    public static let summaryFileName = "sweep.json"
    public static let figureFileName = "sweep.png"

    public struct Point: Codable, Sendable, Equatable {
        /// The knob's value as given on the command line.
        public var value: String
        public var directory: String
        public var models: [PipelineReport.ModelSummary]
        public var seconds: Double
        public init(value: String, directory: String, models: [PipelineReport.ModelSummary], seconds: Double) {
            self.value = value; self.directory = directory; self.models = models; self.seconds = seconds
        }
    }

    public struct Summary: Codable, Sendable, Equatable {
        public var formatVersion = 1
        public var key: String
        public var ranks: Int
        public var groups: Int
        public var points: [Point]
        enum CodingKeys: String, CodingKey { case formatVersion = "format_version", key, ranks, groups, points }
        public init(key: String, ranks: Int, groups: Int, points: [Point]) {
            self.key = key; self.ranks = ranks; self.groups = groups; self.points = points
        }
    }

    public static func write(directory: String, _ summary: Summary) throws {
        precondition(!summary.points.isEmpty, "SweepReport: no points")
        try AtomicFile.write(JSONCoding.encode(summary, pretty: true) + Array("\n".utf8), to: directory + "/" + summaryFileName)
        try figure(summary).write(to: directory + "/" + figureFileName)
        try AtomicFile.write(Array(markdown(summary).utf8), to: directory + "/" + EvaluationReport.fileName)
    }

    /// The models of the sweep, in the order the points name them.
    static func modelNames(_ s: Summary) -> [(name: String, title: String)] {
        var seen: [String] = [], out: [(String, String)] = []
        for p in s.points { for m in p.models where !seen.contains(m.name) { seen.append(m.name); out.append((m.name, m.title)) } }
        return out
    }

    public static func markdown(_ s: Summary) -> String {
        var text = "# cpae-mpi sweep over `\(s.key)`\n\n"
        text += "\(s.points.count) points, each a whole `cpae-mpi run` in its own directory, on \(s.ranks) rank(s) in \(s.groups) group(s). "
        text += "VPT(ε): % of the test horizon before the per-frame MSE first exceeds ε (mean over test trajectories); "
        text += "jump ratio: median over test trajectories of max/median latent step.\n\n"
        text += EvaluationReport.table(
            header: [s.key, "model", "recon MSE", "jump ratio", "roughness", "VPT ε=0.01", "VPT ε=0.005", "interpolation MSE", "run"],
            rows: s.points.flatMap { p in p.models.map { m in
                [p.value, m.title, EvaluationReport.scientific(m.reconMSE), EvaluationReport.fixed(m.jumpRatioMedian, digits: 2),
                 EvaluationReport.fixed(m.roughnessMedian, digits: 2), EvaluationReport.fixed(m.vpt["0.01"]) + "%",
                 EvaluationReport.fixed(m.vpt["0.005"]) + "%", EvaluationReport.scientific(m.interpolationMSE), p.directory]
            } })
        if let means = seedMeans(s) { text += "\n" + means }
        text += "\n![sweep](\(figureFileName))\n"
        return text
    }

    /// A sweep over a seed repeats one configuration, so the result to quote is each model's mean ±
    /// sample standard deviation over the points, not any one seed's numbers; nil for other keys
    /// (a mean over values of λ or of a kernel size means nothing) and for a single point.
    static func seedMeans(_ s: Summary) -> String? {
        guard s.key.split(separator: ".").last == "seed", s.points.count > 1 else { return nil }
        func cell(_ values: [Double?], _ format: (Double?) -> String) -> String {
            let summary = Core.Summary(values.map { $0 ?? .nan })
            guard summary.count > 0 else { return "—" }
            let missing = summary.nonFinite > 0 ? " (\(summary.count) of \(values.count))" : ""
            return format(summary.mean) + " ± " + format(summary.std) + missing
        }
        let rows = modelNames(s).map { model -> [String] in
            let ms = s.points.compactMap { p in p.models.first { $0.name == model.name } }
            return [model.title, "\(ms.count)",
                    cell(ms.map(\.reconMSE), EvaluationReport.scientific),
                    cell(ms.map { $0.jumpRatioMedian }) { EvaluationReport.fixed($0, digits: 2) },
                    cell(ms.map { $0.roughnessMedian }) { EvaluationReport.fixed($0, digits: 2) },
                    cell(ms.map { $0.vpt["0.01"] }) { EvaluationReport.fixed($0) + "%" },
                    cell(ms.map { $0.vpt["0.005"] }) { EvaluationReport.fixed($0) + "%" }]
        }
        return "Mean ± sample standard deviation over the \(s.points.count) values of `\(s.key)` (each value one repeat of the same configuration):\n\n"
            + EvaluationReport.table(header: ["model", "seeds", "recon MSE", "jump ratio", "roughness", "VPT ε=0.01", "VPT ε=0.005"], rows: rows)
    }

    /// Four panels: reconstruction MSE (log), jump ratio and VPT(0.01) against the knob's values
    /// (evenly spaced, labelled as given: the values need not be numbers, and 0 sits beside 0.01),
    /// and the trade-off — jump ratio against reconstruction MSE, the points joined in the knob's order.
    static func figure(_ s: Summary) throws -> Figure {
        let labels = s.points.map(\.value)
        let x = labels.indices.map(Double.init)
        func axis() -> Axis { Axis(s.key, limits: -0.5...(Double(labels.count) - 0.5), ticks: x, tickLabels: labels) }
        var recon = Chart(title: "reconstruction MSE", x: axis(), y: Axis("test MSE", scale: .log))
        var jump = Chart(title: "latent jump ratio (≈1–2: continuous)", x: axis(), y: Axis("max/median step"))
        var vpt = Chart(title: "VPT, ε = 0.01", x: axis(), y: Axis("% of horizon", limits: 0...105))
        var tradeoff = Chart(title: "trade-off (points in the order of \(s.key))", x: Axis("reconstruction MSE", scale: .log), y: Axis("jump ratio"))
        for (i, model) in modelNames(s).enumerated() {
            let color = PlotColor.palette[i % PlotColor.palette.count]
            func values(_ f: (PipelineReport.ModelSummary) -> Double?) -> (x: [Double], y: [Double]) {
                var xs: [Double] = [], ys: [Double] = []
                for (k, p) in s.points.enumerated() {
                    if let m = p.models.first(where: { $0.name == model.name }), let v = f(m), v.isFinite { xs.append(x[k]); ys.append(v) }
                }
                return (xs, ys)
            }
            let r = values { $0.reconMSE.flatMap { $0 > 0 ? $0 : nil } }, j = values { $0.jumpRatioMedian }, v = values { $0.vpt["0.01"] }
            recon.add(Series(name: model.title, x: r.x, y: r.y, color: color, marker: .circle))
            jump.add(Series(name: model.title, x: j.x, y: j.y, color: color, marker: .circle))
            vpt.add(Series(name: model.title, x: v.x, y: v.y, color: color, marker: .circle))
            let pairs = s.points.compactMap { p -> (Double, Double)? in
                guard let m = p.models.first(where: { $0.name == model.name }), let e = m.reconMSE, e > 0, m.jumpRatioMedian.isFinite else { return nil }
                return (e, m.jumpRatioMedian)
            }
            tradeoff.add(Series(name: model.title, x: pairs.map(\.0), y: pairs.map(\.1), color: color, marker: .square))
        }
        var figure = Figure(width: 1400, height: 1000, rows: 2, columns: 2, title: "sweep over \(s.key)")
        for chart in [recon, jump, vpt, tradeoff] { figure.add(chart) }
        return figure
    }
}
