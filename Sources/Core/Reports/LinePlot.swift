import Foundation

/// A line chart rendered straight to a PNG (no plotting library): a few named series against a
/// shared x axis, optional log-scale y, a legend and tick labels in a built-in bitmap font.
public struct LinePlot: Sendable {
    public struct Series: Sendable {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public var color: (UInt8, UInt8, UInt8)
        public init(name: String, points: [(x: Double, y: Double)], color: (UInt8, UInt8, UInt8)) {
            self.name = name; self.points = points; self.color = color
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var logY: Bool
    public var series: [Series] = []
    public var width = 900
    public var height = 560

    public static let palette: [(UInt8, UInt8, UInt8)] = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189),
                                                         (255, 127, 14), (23, 190, 207), (127, 127, 127)]

    public init(title: String, xLabel: String, yLabel: String, logY: Bool = false) {
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel; self.logY = logY
    }

    public mutating func add(_ name: String, _ points: [(x: Double, y: Double)]) {
        series.append(Series(name: name, points: points, color: Self.palette[series.count % Self.palette.count]))
    }

    public func write(to path: String) throws {
        try AtomicFile.write(try PNGCodec.encode(render(), source: path), to: path)
    }

    public func render() -> PixelImage {
        var canvas = Canvas(width: width, height: height)
        let left = 90, right = width - 20, top = 40, bottom = height - 60
        let usable = series.map { s in s.points.filter { $0.x.isFinite && $0.y.isFinite && (!logY || $0.y > 0) } }
        let xs = usable.flatMap { $0.map(\.x) }, ys = usable.flatMap { $0.map { logY ? log10($0.y) : $0.y } }
        var (x0, x1) = (xs.min() ?? 0, xs.max() ?? 1), (y0, y1) = (ys.min() ?? 0, ys.max() ?? 1)
        if x1 <= x0 { x1 = x0 + 1 }
        if y1 <= y0 { y0 -= 0.5; y1 += 0.5 }
        let pad = (y1 - y0) * 0.05
        y0 -= pad; y1 += pad
        func px(_ x: Double) -> Int { left + Int(((x - x0) / (x1 - x0) * Double(right - left)).rounded()) }
        func py(_ y: Double) -> Int { bottom - Int((((logY ? log10(y) : y) - y0) / (y1 - y0) * Double(bottom - top)).rounded()) }

        // Grid, ticks and labels.
        for i in 0...5 {
            let fy = y0 + (y1 - y0) * Double(i) / 5, yy = bottom - (bottom - top) * i / 5
            canvas.line(left, yy, right, yy, (225, 225, 225))
            canvas.text(Self.format(logY ? pow(10, fy) : fy), x: 4, y: yy - 3, (60, 60, 60))
            let fx = x0 + (x1 - x0) * Double(i) / 5, xx = left + (right - left) * i / 5
            canvas.line(xx, top, xx, bottom, (225, 225, 225))
            let label = Self.format(fx)
            canvas.text(label, x: xx - label.count * 3, y: bottom + 8, (60, 60, 60))
        }
        canvas.line(left, bottom, right, bottom, (0, 0, 0)); canvas.line(left, top, left, bottom, (0, 0, 0))
        canvas.text(title, x: left, y: 12, (0, 0, 0), scale: 2)
        canvas.text(xLabel, x: (left + right) / 2 - xLabel.count * 3, y: height - 24, (0, 0, 0))
        canvas.text(yLabel + (logY ? " (LOG)" : ""), x: 4, y: top - 16, (0, 0, 0))

        for (s, points) in zip(series, usable) where !points.isEmpty {
            var previous = (px(points[0].x), py(points[0].y))
            for p in points.dropFirst() {
                let next = (px(p.x), py(p.y))
                canvas.line(previous.0, previous.1, next.0, next.1, s.color, thick: true)
                previous = next
            }
        }
        for (i, s) in series.enumerated() {
            let y = top + 8 + i * 14, x = right - 170
            canvas.rect(x, y, 14, 6, s.color)
            canvas.text(s.name, x: x + 20, y: y - 1, (0, 0, 0))
        }
        return PixelImage(width: width, height: height, channels: 3, pixels: canvas.pixels)
    }

    static func format(_ v: Double) -> String {
        if v == 0 { return "0" }
        let a = abs(v)
        if a >= 1e4 || a < 1e-2 { return String(format: "%.1e", v) }
        if a >= 100 { return String(format: "%.0f", v) }
        return String(format: a >= 10 ? "%.1f" : "%.3g", v)
    }
}

/// An RGB raster with the few drawing operations plots need.
struct Canvas {
    let width: Int, height: Int
    var pixels: [UInt8]

    init(width: Int, height: Int) {
        self.width = width; self.height = height
        pixels = [UInt8](repeating: 255, count: width * height * 3)
    }

    mutating func set(_ x: Int, _ y: Int, _ c: (UInt8, UInt8, UInt8)) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let i = (y * width + x) * 3
        pixels[i] = c.0; pixels[i + 1] = c.1; pixels[i + 2] = c.2
    }

    mutating func rect(_ x: Int, _ y: Int, _ w: Int, _ h: Int, _ c: (UInt8, UInt8, UInt8)) {
        for yy in y..<(y + h) { for xx in x..<(x + w) { set(xx, yy, c) } }
    }

    /// Bresenham's line.
    mutating func line(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ c: (UInt8, UInt8, UInt8), thick: Bool = false) {
        var x = x0, y = y0
        let dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1
        var err = dx + dy
        while true {
            set(x, y, c)
            if thick { set(x + 1, y, c); set(x, y + 1, c) }
            if x == x1 && y == y1 { break }
            let e2 = 2 * err
            if e2 >= dy { err += dy; x += sx }
            if e2 <= dx { err += dx; y += sy }
        }
    }

    mutating func text(_ s: String, x: Int, y: Int, _ c: (UInt8, UInt8, UInt8), scale: Int = 1) {
        var cx = x
        for ch in s {
            let g = BitmapFont.glyph(ch)
            for (row, bits) in g.enumerated() {
                for col in 0..<BitmapFont.width where bits & (0x10 >> UInt8(col)) != 0 {
                    rect(cx + col * scale, y + row * scale, scale, scale, c)
                }
            }
            cx += (BitmapFont.width + 1) * scale
        }
    }
}
