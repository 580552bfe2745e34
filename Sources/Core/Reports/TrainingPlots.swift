import Foundation

/// Figures of a run directory, made from its metrics log.
public enum TrainingPlots {
    /// The loss terms of a metrics line, in legend order.
    static let terms = ["loss", "reconstruction", "latent", "prediction", "penalty"]

    /// loss.png: the total loss and every loss term against the step, on a log y axis. Points a
    /// log axis cannot show (a term that is exactly 0 at some step) are left out; a term that is
    /// never positive (e.g. no penalty) has no curve.
    public static func writeLossCurves(metrics path: String, to output: String, title: String) throws {
        try lossFigure(metrics: path, title: title).write(to: output)
    }

    static func lossFigure(metrics path: String, title: String) throws -> Figure {
        var columns: [String: (x: [Double], y: [Double])] = [:]
        for record in try JSONLines.read(MetricsRecord.self, from: path) {
            for (term, v) in record.namedLosses where v > 0 && v.isFinite {
                columns[term, default: ([], [])].x.append(Double(record.step))
                columns[term]!.y.append(v)
            }
        }
        var chart = Chart(title: title, x: Axis("step"), y: Axis("loss term", scale: .log))
        for term in terms {
            guard let c = columns[term] else { continue }
            // The total is drawn thicker so the terms it sums read as its parts; prediction is dashed
            // because it runs on top of reconstruction for most of a run.
            chart.add(Series(name: term, x: c.x, y: c.y, dash: term == "prediction" ? .dashed : .solid,
                             lineWidth: term == "loss" ? 2.4 : 1.6))
        }
        guard !chart.series.isEmpty else {
            throw PlotError("\(path): no metrics line with a step and a positive loss term (\(terms.joined(separator: ", ")))")
        }
        return Figure(chart)
    }

    /// ode/<model>/loss.png: the training-batch loss of every step and the validation loss at its
    /// evaluation points, on a log y axis.
    public static func writeODELossCurves(metrics path: String, to output: String, title: String) throws {
        let records = try JSONLines.read(ODEMetricsRecord.self, from: path)
        let train = records.filter { $0.loss > 0 && $0.loss.isFinite }
        let validation = records.compactMap { r in r.validationLoss.flatMap { $0 > 0 && $0.isFinite ? (r.step, $0) : nil } }
        guard !train.isEmpty else { throw PlotError("\(path): no metrics line with a positive, finite loss") }
        var chart = Chart(title: title, x: Axis("iteration"), y: Axis("loss (MSE / h²)", scale: .log))
        chart.add(Series(name: "training batch", x: train.map { Double($0.step) }, y: train.map(\.loss), lineWidth: 1.4))
        if !validation.isEmpty {
            chart.add(Series(name: "validation", x: validation.map { Double($0.0) }, y: validation.map(\.1), lineWidth: 2.2))
        }
        try Figure(chart).write(to: output)
    }
}
