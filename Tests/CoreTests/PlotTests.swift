import XCTest
import Foundation
@testable import Core

/// The cairo plotting layer: files decode at the requested size, data land where the axes say,
/// ticks are the expected decades, and bad input is refused with a message naming it.
/// With CPAE_PLOT_SAMPLES=<dir> the sample figures are kept there to be looked at.
final class PlotTests: XCTestCase {
    private var directory: String!

    override func setUpWithError() throws {
        directory = ProcessInfo.processInfo.environment["CPAE_PLOT_SAMPLES"]
            ?? NSTemporaryDirectory() + "cpae-plot-tests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if ProcessInfo.processInfo.environment["CPAE_PLOT_SAMPLES"] == nil { try? FileManager.default.removeItem(atPath: directory) }
    }

    private let red = PlotColor(red: 1, green: 0, blue: 0), blue = PlotColor(red: 0, green: 0, blue: 1)

    private func isColour(_ image: PixelImage, _ x: Double, _ y: Double, _ c: PlotColor, tolerance: Int = 40) -> Bool {
        let px = Int(x), py = Int(y)
        let want = [c.red, c.green, c.blue].map { Int($0 * 255) }
        return (0..<3).allSatisfy { abs(Int(image[py, px, $0]) - want[$0]) <= tolerance }
    }

    /// Pixels that are neither white nor near-white, as a fraction.
    private func inkFraction(_ image: PixelImage) -> Double {
        var inked = 0
        for y in 0..<image.height { for x in 0..<image.width where (0..<3).contains(where: { image[y, x, $0] < 230 }) { inked += 1 } }
        return Double(inked) / Double(image.width * image.height)
    }

    // MARK: ticks

    func testLogTicksAreTheDecadesInsideTheRangeLabelledCompactly() {
        let ticks = Ticks.log(from: 3e-4, to: 0.2)
        XCTAssertEqual(ticks.filter(\.isMajor).map(\.value), [1e-3, 1e-2, 1e-1])
        XCTAssertEqual(ticks.filter(\.isMajor).map(\.label), ["1e-3", "1e-2", "1e-1"])
        // Minor ticks at 2…9 × 10^k, only inside the range: 3e-4…9e-4, then 8 per decade, then 2e-1.
        let minors = ticks.filter { !$0.isMajor }.map(\.value)
        XCTAssertEqual(minors.count, 7 + 8 + 8 + 1)
        XCTAssertTrue(minors.allSatisfy { $0 >= 3e-4 && $0 <= 0.2 })
        XCTAssertEqual(Ticks.log(from: 0.5, to: 2000).filter(\.isMajor).map(\.label), ["1", "10", "100", "1000"])
        // Many decades: every 2nd is labelled, at even exponents, and no minor ticks clutter it.
        let wide = Ticks.log(from: 1e-12, to: 1e3)
        XCTAssertEqual(wide.map(\.label), ["1e-12", "1e-10", "1e-8", "1e-6", "1e-4", "1e-2", "1", "100"])
        // Less than two decades in view: 1, 2, 5 × 10^k.
        XCTAssertEqual(Ticks.log(from: 1.5e-3, to: 3e-2).map(\.label), ["2e-3", "5e-3", "1e-2", "2e-2"])
        // Narrower still: linear steps, labelled in the same style.
        XCTAssertEqual(Ticks.log(from: 5.25e-3, to: 5.65e-3).map(\.label), ["5.3e-3", "5.4e-3", "5.5e-3", "5.6e-3"])
    }

    func testLinearTicksUseOneTwoFiveStepsWithMatchingDecimals() {
        XCTAssertEqual(Ticks.linear(from: -2.4, to: 62.4, count: 6).map(\.label), ["0", "10", "20", "30", "40", "50", "60"])
        XCTAssertEqual(Ticks.linear(from: -0.93, to: 1.07, count: 5).map(\.label), ["-0.5", "0.0", "0.5", "1.0"])
        XCTAssertEqual(Ticks.linear(from: 0.101, to: 0.139, count: 4).map(\.label), ["0.11", "0.12", "0.13"])
        XCTAssertEqual(Ticks.linear(from: 0, to: 3e5, count: 3).map(\.label), ["0", "1e5", "2e5", "3e5"])
        XCTAssertEqual(Ticks.fixed([16, 1, 2, 4, 8, 64, 2.5e-5], from: 1e-5, to: 20).map(\.label), ["2.5e-5", "1", "2", "4", "8", "16"])
    }

    // MARK: rendering

    func testPNGHasTheRequestedSizeAndALineLandsWhereTheAxesSay() throws {
        var chart = Chart(title: "placement", x: Axis("x", limits: 0...10), y: Axis("y", limits: 0...10), legend: .none)
        chart.add(Series(name: "rising", x: [0, 10], y: [2, 8], color: red, lineWidth: 3))
        chart.add(Series(name: "vertical", x: [7, 7], y: [0, 10], color: blue, lineWidth: 3))
        let figure = Figure(chart, width: 640, height: 400)
        let path = directory + "/placement.png"
        try figure.write(to: path)
        let image = try PNGCodec.read(path)
        XCTAssertEqual([image.width, image.height, image.channels], [640, 400, 3])

        let area = try XCTUnwrap(figure.plotAreas().first ?? nil)
        func px(_ x: Double) -> Double { area.x + x / 10 * area.width }
        func py(_ y: Double) -> Double { area.maxY - y / 10 * area.height }
        // y = 2 + 0.6 x: on the line at x = 2.5 and 5, not where a flipped y axis would put it.
        XCTAssertTrue(isColour(image, px(2.5), py(3.5), red))
        XCTAssertTrue(isColour(image, px(5), py(5), red))
        XCTAssertFalse(isColour(image, px(2.5), py(6.5), red))
        XCTAssertFalse(isColour(image, px(2.5), py(3.5) - 8, red))
        XCTAssertTrue(isColour(image, px(7), py(1), blue))
        XCTAssertTrue(isColour(image, px(7), py(9), blue))
        XCTAssertFalse(isColour(image, px(7) + 8, py(9), blue))
        // Clipped to the plot area: nothing red outside it.
        XCTAssertFalse((0..<image.height).contains { y in isColour(image, area.x - 12, Double(y), red) })
    }

    func testLogAxisPlacesDecadesEvenly() throws {
        var chart = Chart(x: Axis(limits: 0...1), y: Axis(scale: .log, limits: 1e-3...1e-1), legend: .none)
        chart.add(Series(name: "1e-2", x: [0, 1], y: [1e-2, 1e-2], color: red, lineWidth: 3))
        let figure = Figure(chart, width: 400, height: 300)
        let image = try PNGCodec.decode(figure.pngData())
        let area = try XCTUnwrap(figure.plotAreas().first ?? nil)
        // 1e-2 is the geometric middle of 1e-3…1e-1: half-way up the plot area.
        XCTAssertTrue(isColour(image, area.x + area.width / 2, area.y + area.height / 2, red))
        XCTAssertFalse(isColour(image, area.x + area.width / 2, area.y + area.height * 0.4, red))
    }

    func testTextIsDejaVuSansAndAntiAliased() throws {
        XCTAssertEqual(CairoCanvas.resolvedFontFamily(), "DejaVu Sans")
        var chart = Chart(title: "ε threshold ± λ: lower case", x: Axis("step"), y: Axis("loss"))
        chart.addLine("mse", x: [0, 1, 2], y: [3, 1, 2])
        let image = try PNGCodec.decode(Figure(chart, width: 500, height: 300).pngData())
        // The title band: a bitmap font would give only ink and paper, anti-aliased text greys between.
        var greys = Set<UInt8>()
        for y in 0..<30 { for x in 0..<image.width { greys.insert(image[y, x, 0]) } }
        XCTAssertGreaterThan(greys.filter { (40...215).contains($0) }.count, 20)
        XCTAssertGreaterThan(inkFraction(image), 0.005)
        XCTAssertLessThan(inkFraction(image), 0.5)
    }

    func testSVGIsAnSVGDocumentOfTheRequestedSize() throws {
        var chart = Chart(title: "svg", x: Axis("x"), y: Axis("y", scale: .log))
        chart.addLine("a", x: [1, 2, 3], y: [1, 10, 100])
        let path = directory + "/chart.svg"
        try Figure(chart, width: 600, height: 400).write(to: path)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertTrue(text.contains("<svg"))
        XCTAssertTrue(text.contains("width=\"600pt\"") && text.contains("height=\"400pt\""), String(text.prefix(300)))
        XCTAssertTrue(text.contains("<path"))
    }

    func testImageStripShowsTheFramesPixelForPixel() throws {
        let frames = (0..<4).map { SyntheticPendulum.trajectory(id: 0, frames: 8, size: 32, seed: 1).frameImage($0 * 2) }
        let strip = ImageStrip(title: "frames", rows: [.init(label: "true", frames: frames),
                                                       .init(label: "grey", frames: frames.map { $0.converted(toChannels: 1) })],
                               captions: ["t = 0", "t = 2", "t = 4", "t = 6"])
        var figure = Figure(width: 700, height: 420)
        figure.add(strip)
        let path = directory + "/strip.png"
        try figure.write(to: path)
        let image = try PNGCodec.read(path)
        XCTAssertEqual([image.width, image.height], [700, 420])
        // The strip's background colour (215, 205, 192) is on the canvas, and the grey row's
        // luminance of it too: both rows were painted.
        var colours = 0, greys = 0
        for y in 0..<image.height {
            for x in 0..<image.width {
                let (r, g, b) = (Int(image[y, x, 0]), Int(image[y, x, 1]), Int(image[y, x, 2]))
                if abs(r - 215) <= 1 && abs(g - 205) <= 1 && abs(b - 192) <= 1 { colours += 1 }
                if r == g && g == b && (200...212).contains(r) { greys += 1 }
            }
        }
        XCTAssertGreaterThan(colours, 4 * 32 * 32 * 2)   // enlarged at least 2× in area
        XCTAssertGreaterThan(greys, 4 * 32 * 32 * 2)
    }

    func testMultiPanelFigure() throws {
        var figure = Figure(width: 1100, height: 760, rows: 2, columns: 2, title: "plotting layer: four panels")
        var errors = Chart(title: "prediction error", x: Axis("horizon (steps)"), y: Axis("MSE", scale: .log))
        let horizon = (1...40).map(Double.init)
        errors.addLine("CpAE", x: horizon, y: horizon.map { 2e-4 * exp($0 / 9) }, marker: .circle)
        errors.addLine("AE", x: horizon, y: horizon.map { 6e-4 * exp($0 / 7) }, dash: .dashed, marker: .square)
        errors.addReference("ε = 1e-3", y: 1e-3, color: PlotColor.palette[3])
        errors.addReference("ε = 1e-2", y: 1e-2, color: PlotColor.palette[3], dash: .dotted)
        figure.add(errors)

        var scaling = Chart(title: "scaling", x: Axis("ranks", scale: .log, ticks: [1, 2, 4, 8, 16]), y: Axis("samples/s", scale: .log))
        let ranks = [1.0, 2, 4, 8, 16]
        scaling.add(.scatter("measured", x: ranks, y: [460, 880, 1650, 3000, 5200]))
        scaling.addLine("ideal", x: ranks, y: ranks.map { 460 * $0 }, color: .grey, dash: .dashed)
        figure.add(scaling)

        var latents = Chart(title: "latents against time", x: Axis("t"), y: Axis("z"))
        let t = (0..<150).map { Double($0) / 10 }
        latents.addLine("z0", x: t, y: t.map { cos($0) })
        latents.addLine("z1", x: t, y: t.map { sin($0) }, dash: .dashDot)
        figure.add(latents)

        let frames = (0..<6).map { SyntheticPendulum.trajectory(id: 3, frames: 12, size: 32, seed: 0).frameImage($0 * 2) }
        let shifted = (0..<6).map { SyntheticPendulum.trajectory(id: 3, frames: 13, size: 32, seed: 0).frameImage($0 * 2 + 1) }
        figure.add(ImageStrip(title: "true vs predicted", rows: [.init(label: "true", frames: frames), .init(label: "pred.", frames: shifted)],
                              captions: (0..<6).map { "t+\($0 * 2)" }))
        try figure.write(to: directory + "/panels.png")
        try figure.write(to: directory + "/panels.svg")
        let image = try PNGCodec.read(directory + "/panels.png")
        XCTAssertEqual([image.width, image.height], [1100, 760])
        let areas = try figure.plotAreas()
        XCTAssertEqual(areas.compactMap { $0 }.count, 3)
        XCTAssertNil(areas[3])
        // Panels of one grid do not overlap.
        let a = try XCTUnwrap(areas[0]), b = try XCTUnwrap(areas[1]), c = try XCTUnwrap(areas[2])
        XCTAssertLessThan(a.maxX, b.x)
        XCTAssertLessThan(a.maxY, c.y)
    }

    func testLossFigureFromAMetricsLog() throws {
        let metrics = directory + "/metrics.jsonl"
        var lines: [String] = []
        for step in 1...50 {
            let r = 0.13 * pow(0.96, Double(step))
            lines.append(#"{"step":\#(step),"loss":\#(3 * r),"reconstruction":\#(r),"latent":\#(r / 3),"prediction":\#(r * 1.01),"penalty":0,"epoch":0,"lr":0.001,"samples_per_second":100,"step_seconds":0.1,"allreduce_seconds":0,"skipped":false}"#)
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: metrics, atomically: true, encoding: .utf8)
        let figure = try TrainingPlots.lossFigure(metrics: metrics, title: "loss")
        guard case .chart(let chart) = figure.panels[0] else { return XCTFail("loss figure is not a chart") }
        // The penalty is 0 throughout: no curve a log axis cannot show.
        XCTAssertEqual(chart.series.map(\.name), ["loss", "reconstruction", "latent", "prediction"])
        XCTAssertEqual(chart.y.scale, .log)
        try TrainingPlots.writeLossCurves(metrics: metrics, to: directory + "/loss.png", title: "loss")
        let image = try PNGCodec.read(directory + "/loss.png")
        XCTAssertEqual([image.width, image.height], [figure.width, figure.height])
        XCTAssertGreaterThan(inkFraction(image), 0.01)
    }

    // MARK: bad input

    func testBadInputIsRefusedWithAMessageAndNoFile() throws {
        func message(_ figure: Figure) -> String {
            do { _ = try figure.pngData(); return "no error" } catch { return "\(error)" }
        }
        var empty = Chart(title: "empty")
        empty.addLine("nothing", x: [], y: [])
        XCTAssertEqual(message(Figure(empty)), "chart 'empty': series 'nothing' has no points")

        var log = Chart(title: "loss", y: Axis(scale: .log))
        log.addLine("mse", x: [0, 1, 2], y: [0.1, 0, 0.3])
        XCTAssertTrue(message(Figure(log)).contains("series 'mse' point 1 has y = 0.0, which a log y axis cannot show"), message(Figure(log)))

        var nan = Chart(title: "nan")
        nan.addLine("mse", x: [0, 1], y: [1, .nan])
        XCTAssertEqual(message(Figure(nan)), "chart 'nan': series 'mse' point 1 has y = nan")

        var lengths = Chart()
        lengths.addLine("ragged", x: [0, 1, 2], y: [1, 2])
        XCTAssertEqual(message(Figure(lengths)), "chart: series 'ragged' has 3 x values but 2 y values")

        var reference = Chart(y: Axis(scale: .log))
        reference.addLine("a", x: [0, 1], y: [1, 2])
        reference.addReference("zero", y: 0)
        XCTAssertTrue(message(Figure(reference)).contains("reference line 'zero' at y = 0.0"))

        var crowded = Figure(rows: 1, columns: 1)
        crowded.add(Chart()); crowded.add(Chart())
        XCTAssertEqual(message(crowded), "figure '' has 2 panels for a 1×1 grid")

        let small = PixelImage(width: 8, height: 8, channels: 1, fill: [0]), large = PixelImage(width: 9, height: 8, channels: 1, fill: [0])
        var strip = Figure()
        strip.add(ImageStrip(title: "frames", frames: [small, large]))
        XCTAssertEqual(message(strip), "image strip 'frames': row 0 frame 1 is 9×8, the first frame is 8×8; all frames must be the same size")

        let path = directory + "/refused.png"
        XCTAssertThrowsError(try Figure(empty).write(to: path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: AtomicFile.temporaryPath(for: path)))
        var fine = Chart(); fine.addLine("a", x: [0, 1], y: [0, 1])
        XCTAssertThrowsError(try Figure(fine).write(to: directory + "/figure.gif")) { error in
            XCTAssertTrue("\(error)".contains("figures are written as .png or .svg"))
        }
    }
}
