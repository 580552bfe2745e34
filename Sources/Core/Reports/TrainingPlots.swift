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
}
