import CCairo
import Foundation

/// A figure: an optional title over a grid of panels (charts or image strips), filled row by row,
/// written as PNG (image surface, 1 unit = 1 pixel) or SVG (1 unit = 1 pt) through cairo.
///
///     var chart = Chart(title: "loss", x: Axis("step"), y: Axis("MSE", scale: .log))
///     chart.addLine("reconstruction", x: steps, y: mse)
///     chart.addReference("ε", y: 1e-3)
///     try Figure(chart).write(to: "loss.png")
public struct Figure: Sendable {
    public enum Panel: Sendable {
        case chart(Chart)
        case images(ImageStrip)
    }

    public var width: Int
    public var height: Int
    public var rows: Int
    public var columns: Int
    public var title: String
    public var panels: [Panel] = []

    static let titleSize = 16.0

    public init(width: Int = 900, height: Int = 560, rows: Int = 1, columns: Int = 1, title: String = "") {
        self.width = width; self.height = height; self.rows = rows; self.columns = columns; self.title = title
    }

    /// A figure of one chart.
    public init(_ chart: Chart, width: Int = 900, height: Int = 560) {
        self.init(width: width, height: height)
        panels = [.chart(chart)]
    }

    public mutating func add(_ chart: Chart) { panels.append(.chart(chart)) }
    public mutating func add(_ strip: ImageStrip) { panels.append(.images(strip)) }

    /// Writes `path` atomically (temporary file, fsync, rename); the format follows the extension.
    /// Nothing is written when the figure cannot be drawn.
    public func write(to path: String) throws {
        let bytes: [UInt8]
        switch (path as NSString).pathExtension.lowercased() {
        case "png": bytes = try pngData()
        case "svg": bytes = try svgData()
        default: throw PlotError("\(path): figures are written as .png or .svg, not '.\((path as NSString).pathExtension)'")
        }
        try AtomicFile.write(bytes, to: path)
    }

    public func pngData() throws -> [UInt8] {
        try checkSize()
        guard let surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(width), Int32(height)) else {
            throw PlotError("cairo could not create a \(width)×\(height) image")
        }
        defer { cairo_surface_destroy(surface) }
        try draw(on: surface)
        let sink = ByteSink()
        let status = cairo_surface_write_to_png_stream(surface, ByteSink.append, Unmanaged.passUnretained(sink).toOpaque())
        guard status == CAIRO_STATUS_SUCCESS else { throw PlotError("cairo PNG encoding failed: \(String(cString: cairo_status_to_string(status)))") }
        return sink.bytes
    }

    public func svgData() throws -> [UInt8] {
        try checkSize()
        let sink = ByteSink()
        guard let surface = cairo_svg_surface_create_for_stream(ByteSink.append, Unmanaged.passUnretained(sink).toOpaque(),
                                                                Double(width), Double(height)) else {
            throw PlotError("cairo could not create an SVG surface")
        }
        do {
            try draw(on: surface)
        } catch {
            cairo_surface_destroy(surface)
            throw error
        }
        cairo_surface_finish(surface)   // flushes the document into `sink`
        let status = cairo_surface_status(surface)
        cairo_surface_destroy(surface)
        guard status == CAIRO_STATUS_SUCCESS else { throw PlotError("cairo SVG output failed: \(String(cString: cairo_status_to_string(status)))") }
        return sink.bytes
    }

    private func checkSize() throws {
        guard (64...16384).contains(width), (64...16384).contains(height) else {
            throw PlotError("figure of \(width)×\(height) px: each side must be 64…16384")
        }
        guard rows >= 1, columns >= 1 else { throw PlotError("figure grid \(rows)×\(columns) must have at least one cell") }
        guard !panels.isEmpty else { throw PlotError("figure '\(title)' has no panels") }
        guard panels.count <= rows * columns else {
            throw PlotError("figure '\(title)' has \(panels.count) panels for a \(rows)×\(columns) grid")
        }
        if let problem = CairoCanvas.fontProblem { throw PlotError(problem) }
    }

    /// The grid cell of each panel (below the figure title).
    func cells(canvas: CairoCanvas) -> [PlotRect] {
        let top = title.isEmpty ? 0 : canvas.lineHeight(size: Self.titleSize, bold: true) + 12
        let cellWidth = Double(width) / Double(columns), cellHeight = (Double(height) - top) / Double(rows)
        return panels.indices.map { i in
            PlotRect(x: Double(i % columns) * cellWidth, y: top + Double(i / columns) * cellHeight, width: cellWidth, height: cellHeight)
        }
    }

    private func draw(on surface: OpaquePointer) throws {
        let canvas = CairoCanvas(surface: surface)
        canvas.fill(PlotRect(x: 0, y: 0, width: Double(width), height: Double(height)), PlotColor(hex: 0xFFFFFF))
        canvas.text(title, x: Double(width) / 2, y: 8, size: Self.titleSize, bold: true, h: .center, v: .top)
        for (panel, cell) in zip(panels, cells(canvas: canvas)) {
            switch panel {
            case .chart(let chart): try ChartRenderer(chart: chart).draw(in: cell, canvas: canvas)
            case .images(let strip): try ImageStripRenderer(strip: strip).draw(in: cell, canvas: canvas)
            }
        }
        if let problem = canvas.status { throw PlotError("cairo drawing failed: \(problem)") }
    }

    /// The plot area of every chart panel (nil for image strips), as laid out in the PNG: lets tests
    /// check that data land where the axes say.
    func plotAreas() throws -> [PlotRect?] {
        guard let surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(width), Int32(height)) else { return [] }
        defer { cairo_surface_destroy(surface) }
        let canvas = CairoCanvas(surface: surface)
        return try zip(panels, cells(canvas: canvas)).map { panel, cell in
            guard case .chart(let chart) = panel else { return nil }
            return try ChartRenderer(chart: chart).layout(in: cell, canvas: canvas).plot
        }
    }
}

/// Collects what cairo's stream writers emit.
private final class ByteSink {
    var bytes: [UInt8] = []

    static let append: cairo_write_func_t = { closure, data, length in
        let sink = Unmanaged<ByteSink>.fromOpaque(closure!).takeUnretainedValue()
        if let data { sink.bytes.append(contentsOf: UnsafeBufferPointer(start: data, count: Int(length))) }
        return CAIRO_STATUS_SUCCESS
    }
}
