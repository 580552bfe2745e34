import Foundation

/// PNG figures of a run directory, made from its metrics log.
public enum TrainingPlots {
    /// loss.png: the total loss and every non-zero term against the step, log scale.
    public static func writeLossCurves(metrics path: String, to output: String, title: String) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var columns: [String: [(x: Double, y: Double)]] = [:]
        let names = ["loss", "reconstruction", "latent", "prediction", "penalty"]
        for line in text.split(separator: "\n") {
            guard case .object(let members)? = try? JSONValue.parse(String(line)) else { continue }
            func number(_ key: String) -> Double? {
                switch members.first(where: { $0.key == key })?.value {
                case .number(let v)?: return v
                case .int(let v)?: return Double(v)
                default: return nil
                }
            }
            guard let step = number("step") else { continue }
            for n in names { if let v = number(n) { columns[n, default: []].append((step, v)) } }
        }
        var plot = LinePlot(title: title, xLabel: "step", yLabel: "loss", logY: true)
        for n in names { if let points = columns[n], points.contains(where: { $0.y > 0 }) { plot.add(n, points) } }
        try plot.write(to: output)
    }
}
