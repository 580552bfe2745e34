import XCTest
import Foundation
@testable import Core

/// The evaluation figures and report.md on synthetic data: valid PNGs of the expected size with
/// the drawing where the axes say, and a report naming every threshold and run.
/// With CPAE_PLOT_SAMPLES=<dir> the sample figures are kept there to be looked at.
final class EvaluationPlotsTests: XCTestCase {
    private var directory: String!

    override func setUpWithError() throws {
        directory = ProcessInfo.processInfo.environment["CPAE_PLOT_SAMPLES"]
            ?? NSTemporaryDirectory() + "cpae-eval-plot-tests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if ProcessInfo.processInfo.environment["CPAE_PLOT_SAMPLES"] == nil { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// A run whose per-frame MSE grows exponentially from `start`, crossing the thresholds in turn.
    private func run(_ name: String, start: Double, trajectories: Int = 4) -> EvaluationMetrics {
        var scores: [TrajectoryScore] = []
        for i in 0..<trajectories {
            let growth: [Double] = (0..<60).map { t in start * exp(0.08 * Double(t)) }
            let spread = 1 + 0.1 * Double(i)
            scores.append(TrajectoryScore(id: i, frameMSE: growth.map { $0 * spread }, normalizedMSE: growth.map { 10 * $0 }))
        }
        let path: [[Double]] = (0..<59).map { t in [sin(0.1 * Double(t)), cos(0.1 * Double(t))] }
        let paths = [[[Double]]](repeating: path, count: trajectories)
        return EvaluationMetrics(model: name, autoencoder: "ae", latentModel: "node", dataset: "pendulum", split: "test",
                                 scores: scores, latentPaths: paths, reconstructionMSE: start, interpolation: .scored(mse: 2 * start, fractions: [0.25, 0.5, 0.75]),
                                 stateR2: ["theta": 0.95, "theta_dot": 0.8], latentStability: 1e-4)
    }

    func testLatentFigureHasBothPanels() throws {
        let latents: [[Double]] = (0..<59).map { t in
            (0..<4).map { (i: Int) -> Double in sin(0.12 * Double(t) + Double(i)) * Double(i + 1) }
        }
        let states: [[Double]] = (0..<60).map { t in
            let phase = 0.2 * Double(t)
            return [0.8 * cos(phase), -0.16 * sin(phase)]
        }
        let figure = try EvaluationPlots.latentFigure(latents: latents, states: states, stateNames: ["theta", "theta_dot"],
                                                     title: "pendulum trajectory 7")
        try figure.write(to: directory + "/latents.png")
        let image = try PNGCodec.read(directory + "/latents.png")
        XCTAssertEqual([image.width, image.height, image.channels], [1400, 520, 3])
        let areas = try figure.plotAreas().compactMap { $0 }
        XCTAssertEqual(areas.count, 2)
        XCTAssertLessThan(areas[0].maxX, areas[1].x, "latents left of the states")
    }

    func testFrameStripShowsTruthPredictionAndDifference() throws {
        let h = 24, w = 24, c = 3
        // Truth: a bright square moving right; prediction: the same square one frame late.
        func frame(_ t: Int) -> [Float] {
            var f = [Float](repeating: 0.1, count: h * w * c)
            for y in 8..<16 { for x in (t % 16)..<(t % 16 + 8) { for k in 0..<c { f[(y * w + x) * c + k] = k == 2 ? 0.9 : 0.6 } } }
            return f
        }
        let truth = (0..<20).map(frame), predicted = (0..<20).map { frame(max($0 - 1, 0)) }
        let figure = try EvaluationPlots.frameStripFigure(truth: truth, predicted: predicted, times: [2, 6, 10, 14],
                                                         height: h, width: w, channels: c, title: "frames")
        try figure.write(to: directory + "/frames.png")
        let image = try PNGCodec.read(directory + "/frames.png")
        XCTAssertEqual([image.width, image.height], [figure.width, figure.height])
        // The difference of the shifted squares is 0.5 (the red/green channels' 0.6 − 0.1, and 0.8
        // in blue: mean 0.6) in a 1-px column at each edge: 153 grey somewhere in the image.
        let grey153 = (0..<image.height).contains { y in (0..<image.width).contains { x in
            (0..<3).allSatisfy { abs(Int(image[y, x, $0]) - 153) <= 1 } } }
        XCTAssertTrue(grey153, "the |difference| row shows the moved edge")
        XCTAssertThrowsError(try EvaluationPlots.frameStripFigure(truth: truth, predicted: predicted, times: [25],
                                                                  height: h, width: w, channels: c, title: "bad"))
    }

    func testFrameStripOfRealPendulumFramesAt128Pixels() throws {
        // True frames of a simulated pendulum against the frames half a step later (a stand-in for
        // a prediction that runs ahead): RGB tiles at the datasets' own size.
        let generator = try PhysicalSystem.pendulum.generator(trajectories: 1, frames: 12, size: 128, seed: 3)
        let sequence = try generator.trajectory(0)
        let truth = FrameError.unitFrames(sequence)
        let ground = try FractionalGroundTruth.make(for: generator.description).get()
        let ahead = (0..<12).map { ground.unitFrames(of: sequence, at: $0, fractions: [0.5])[0] }
        let figure = try EvaluationPlots.frameStripFigure(truth: truth, predicted: ahead, times: [1, 4, 7, 10],
                                                         height: 128, width: 128, channels: 3, title: "pendulum, half a frame ahead")
        try figure.write(to: directory + "/frames_pendulum.png")
        let image = try PNGCodec.read(directory + "/frames_pendulum.png")
        XCTAssertEqual([image.width, image.height], [figure.width, figure.height])
        XCTAssertGreaterThanOrEqual(figure.width, 4 * 128, "four 128-px tiles side by side at scale ≥ 1")
    }

    func testFrameErrorFigureDrawsTheThresholdLines() throws {
        let r = run("CpAE", start: 5e-4)
        let figure = try EvaluationPlots.frameErrorFigure(curves: [("mean", r.frameMSEMean), ("median", r.frameMSEMedian)],
                                                         thresholds: r.thresholds, title: "per-frame MSE")
        try figure.write(to: directory + "/frame_mse.png")
        let image = try PNGCodec.read(directory + "/frame_mse.png")
        XCTAssertEqual([image.width, image.height], [900, 520])
        guard case .chart(let chart) = figure.panels[0] else { return XCTFail("a chart") }
        XCTAssertEqual(chart.referenceLines.map(\.name), ["ε = 0.0025", "ε = 0.005", "ε = 0.01"])
        XCTAssertTrue(chart.referenceLines.allSatisfy { $0.dash != .solid })
    }

    func testVPTBarsAreAsTallAsTheVPT() throws {
        let runs = [run("CpAE + NODE", start: 5e-4), run("AE + NODE", start: 2e-3)]
        let figure = try EvaluationPlots.vptBarsFigure(runs, title: "VPT")
        try figure.write(to: directory + "/vpt.png")
        let image = try PNGCodec.read(directory + "/vpt.png")
        XCTAssertEqual([image.width, image.height], [figure.width, figure.height])
        let area = try XCTUnwrap(figure.plotAreas().first ?? nil)
        // x limits −0.5 … 2.5, y 0 … 130; model m's bar of group g is centred at g + (m − 0.5)·0.4.
        let blue = PlotColor.palette[0], orange = PlotColor.palette[1]
        for (m, (r, colour)) in zip(runs, [blue, orange]).enumerated() {
            for (g, eps) in r.thresholds.enumerated() {
                let v = r.vpt[ValidPredictionTime.key(eps)]!
                let x = area.x + (Double(g) + (Double(m) - 0.5) * 0.4 + 0.5) / 3 * area.width
                func at(_ y: Double) -> Bool {
                    let py = Int(area.maxY - y / 130 * area.height), px = Int(x)
                    let want = [colour.red, colour.green, colour.blue].map { Int($0 * 255) }
                    return (0..<3).allSatisfy { abs(Int(image[py, px, $0]) - want[$0]) <= 8 }
                }
                XCTAssertTrue(at(v * 0.5), "\(r.model) ε \(eps): bar inside at half its height \(v)")
                XCTAssertFalse(at(v + 6), "\(r.model) ε \(eps): nothing above the bar top \(v)")
            }
        }
    }

    func testReportTablesEveryRunAndThreshold() throws {
        let runs = [run("CpAE + NODE", start: 5e-4), run("AE + NODE", start: 2e-3)]
        try EvaluationReport.write(runs, toDirectory: directory)
        let text = try String(contentsOfFile: directory + "/report.md", encoding: .utf8)
        for needle in ["| ε (raw MSE) | CpAE + NODE | AE + NODE |", "| 0.0025 |", "| 0.005 |", "| 0.01 |",
                       "threshold 0.025", "state R² (cubic), theta_dot", "interpolation MSE", "horizon T (frames)"] {
            XCTAssertTrue(text.contains(needle), "report.md lacks '\(needle)':\n\(text)")
        }
        let vpt = String(format: "%.1f", runs[0].vpt["0.01"]!)
        XCTAssertTrue(text.contains("| 0.01 | \(vpt) ± "), "the mean VPT of the first run at ε = 0.01")
    }
}
