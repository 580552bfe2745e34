import Foundation

/// PNG figures of a run directory, made from its metrics log.
public enum TrainingPlots {
    /// loss.png: the total loss and every non-zero term against the step, log scale.
    public static func writeLossCurves(metrics path: String, to output: String, title: String) throws {
        var columns: [String: [(x: Double, y: Double)]] = [:]
        var names: [String] = []
        for record in try JSONLines.read(MetricsRecord.self, from: path) {
            for (n, v) in record.namedLosses {
                if columns[n] == nil { names.append(n) }
                columns[n, default: []].append((Double(record.step), v))
            }
        }
        var plot = LinePlot(title: title, xLabel: "step", yLabel: "loss", logY: true)
        for n in names { if let points = columns[n], points.contains(where: { $0.y > 0 }) { plot.add(n, points) } }
        try plot.write(to: output)
    }
}
