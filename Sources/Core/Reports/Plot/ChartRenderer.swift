import Foundation

/// Lays out and draws one `Chart` into a cell of a figure.
struct ChartRenderer {
    let chart: Chart
    /// Colours for series without their own, by series index.
    var colors: [PlotColor] {
        chart.series.enumerated().map { i, s in s.color ?? PlotColor.palette[i % PlotColor.palette.count] }
    }

    static let tickSize = 12.0, labelSize = 13.0, titleSize = 14.0, legendSize = 12.0
    static let tickLength = 5.0, minorTickLength = 3.0, pad = 8.0

    /// Where things go: the plot area and the maps from data to pixels, with the ticks chosen.
    struct Layout {
        var plot: PlotRect
        var x: AxisMap, y: AxisMap
        var xTicks: [Tick], yTicks: [Tick]
    }

    func layout(in cell: PlotRect, canvas: CairoCanvas) throws -> Layout {
        try chart.validate()
        // Bars reach from 0 and are as wide as they say: both ends and 0 must be on the axes.
        let barEnds = chart.series.flatMap { s in s.barWidth.map { w in s.x.flatMap { [$0 - w / 2, $0 + w / 2] } } ?? [] }
        let barBase: [Double] = chart.series.contains { $0.barWidth != nil } ? [0] : []
        let xRange = try chart.x.range(of: chart.series.flatMap(\.x) + barEnds, context: chart.context)
        let yRange = try chart.y.range(of: chart.series.flatMap(\.y) + chart.referenceLines.map(\.y) + barBase, context: chart.context)
        let tickHeight = canvas.lineHeight(size: Self.tickSize), labelHeight = canvas.lineHeight(size: Self.labelSize)

        let top = cell.y + Self.pad + (chart.title.isEmpty ? 4 : canvas.lineHeight(size: Self.titleSize, bold: true) + 6)
        let bottom = cell.maxY - Self.pad - Self.tickLength - 3 - tickHeight - (chart.x.label.isEmpty ? 0 : labelHeight + 4)
        guard bottom - top > 40 else { throw PlotError("\(chart.context): cell of \(Int(cell.height)) px is too short for a chart") }
        let yTicks = thinned(ticks(chart.y, yRange, length: bottom - top, spacing: 42), length: bottom - top, range: yRange, axis: chart.y) {
            _ in tickHeight
        }
        let widest = yTicks.map { canvas.textWidth($0.label, size: Self.tickSize) }.max() ?? 0
        let left = cell.x + Self.pad + (chart.y.label.isEmpty ? 0 : labelHeight + 6) + widest + Self.tickLength + 4
        var right = cell.maxX - 16
        guard right - left > 40 else { throw PlotError("\(chart.context): cell of \(Int(cell.width)) px is too narrow for a chart") }
        let xTicks = thinned(ticks(chart.x, xRange, length: right - left, spacing: 90), length: right - left, range: xRange, axis: chart.x) {
            canvas.textWidth($0, size: Self.tickSize)
        }
        // The last x label is centred on its tick: keep it inside the cell.
        if let last = xTicks.last(where: \.isMajor) {
            let map = AxisMap(lo: xRange.lo, hi: xRange.hi, scale: chart.x.scale, pixelLo: left, pixelHi: right)
            let overhang = map(last.value) + canvas.textWidth(last.label, size: Self.tickSize) / 2 - (cell.maxX - 4)
            if overhang > 0 { right -= overhang }
        }
        return Layout(plot: PlotRect(x: left, y: top, width: right - left, height: bottom - top),
                      x: AxisMap(lo: xRange.lo, hi: xRange.hi, scale: chart.x.scale, pixelLo: left, pixelHi: right),
                      y: AxisMap(lo: yRange.lo, hi: yRange.hi, scale: chart.y.scale, pixelLo: bottom, pixelHi: top),
                      xTicks: xTicks, yTicks: yTicks)
    }

    private func ticks(_ axis: Axis, _ range: (lo: Double, hi: Double), length: Double, spacing: Double) -> [Tick] {
        if let values = axis.ticks {
            guard let labels = axis.tickLabels else { return Ticks.fixed(values, from: range.lo, to: range.hi) }
            return zip(values, labels).filter { $0.0 >= range.lo && $0.0 <= range.hi }.map { Tick(value: $0.0, label: $0.1) }
        }
        return axis.scale == .log ? Ticks.log(from: range.lo, to: range.hi)
            : Ticks.linear(from: range.lo, to: range.hi, count: max(2, min(8, Int(length / spacing))))
    }

    /// Drops every 2nd, 3rd… label (keeping the tick) until neighbouring labels no longer touch.
    private func thinned(_ ticks: [Tick], length: Double, range: (lo: Double, hi: Double), axis: Axis,
                         extent: (String) -> Double) -> [Tick] {
        let map = AxisMap(lo: range.lo, hi: range.hi, scale: axis.scale, pixelLo: 0, pixelHi: length)
        let majors = ticks.filter(\.isMajor)
        for every in 1...max(1, majors.count) {
            let kept = majors.enumerated().filter { $0.offset % every == 0 }.map(\.element)
            let fits = zip(kept, kept.dropFirst()).allSatisfy { a, b in
                abs(map(b.value) - map(a.value)) >= (extent(a.label) + extent(b.label)) / 2 + 10
            }
            if fits {
                let keep = Set(kept.map(\.value))
                return ticks.map { keep.contains($0.value) || !$0.isMajor ? $0 : Tick(value: $0.value, label: "") }
            }
        }
        return ticks
    }

    func draw(in cell: PlotRect, canvas: CairoCanvas) throws {
        let l = try layout(in: cell, canvas: canvas)
        let plot = l.plot
        let grid = PlotColor(hex: 0xE3E3E3), minorGrid = PlotColor(hex: 0xF2F2F2)

        for t in l.yTicks { canvas.hairline(x0: plot.x, y0: l.y(t.value), x1: plot.maxX, y1: l.y(t.value), color: t.isMajor ? grid : minorGrid) }
        for t in l.xTicks { canvas.hairline(x0: l.x(t.value), y0: plot.y, x1: l.x(t.value), y1: plot.maxY, color: t.isMajor ? grid : minorGrid) }

        let colors = self.colors
        canvas.clip(plot) {
            for r in chart.referenceLines {
                canvas.polyline([(plot.x, l.y(r.y)), (plot.maxX, l.y(r.y))], color: r.color, width: 1.5, dash: r.dash)
            }
            for (s, color) in zip(chart.series, colors) {
                if let w = s.barWidth {
                    for (x, y) in zip(s.x, s.y) {
                        let left = l.x(x - w / 2), right = l.x(x + w / 2), top = l.y(max(y, 0)), base = l.y(min(y, 0))
                        canvas.fill(PlotRect(x: left, y: top, width: right - left, height: base - top), color)
                    }
                }
                let points = zip(s.x, s.y).map { (l.x($0), l.y($1)) }
                if s.connected { canvas.polyline(points, color: color, width: s.lineWidth, dash: s.dash) }
                for p in points { canvas.marker(s.marker, x: p.0, y: p.1, size: s.markerSize, color: color) }
            }
        }
        canvas.outline(plot, PlotColor(hex: 0x444444))

        for t in l.yTicks {
            let y = l.y(t.value)
            canvas.hairline(x0: plot.x - (t.isMajor ? Self.tickLength : Self.minorTickLength), y0: y, x1: plot.x, y1: y, color: .ink)
            canvas.text(t.label, x: plot.x - Self.tickLength - 4, y: y, size: Self.tickSize, h: .right, v: .middle)
        }
        for t in l.xTicks {
            let x = l.x(t.value)
            canvas.hairline(x0: x, y0: plot.maxY, x1: x, y1: plot.maxY + (t.isMajor ? Self.tickLength : Self.minorTickLength), color: .ink)
            canvas.text(t.label, x: x, y: plot.maxY + Self.tickLength + 3, size: Self.tickSize, h: .center, v: .top)
        }
        canvas.text(chart.x.label, x: plot.x + plot.width / 2, y: cell.maxY - Self.pad, size: Self.labelSize, h: .center, v: .bottom)
        canvas.text(chart.y.label, x: cell.x + Self.pad, y: plot.y + plot.height / 2, size: Self.labelSize,
                    h: .center, v: .top, rotated: true)
        canvas.text(chart.title, x: plot.x + plot.width / 2, y: cell.y + Self.pad, size: Self.titleSize, bold: true, h: .center, v: .top)
        drawLegend(l, colors: colors, canvas: canvas)
    }

    private func drawLegend(_ l: Layout, colors: [PlotColor], canvas: CairoCanvas) {
        enum Sample { case series(Series, PlotColor), reference(ReferenceLine) }
        var entries: [(String, Sample)] = zip(chart.series, colors).filter { !$0.0.name.isEmpty }.map { ($0.0.name, .series($0.0, $0.1)) }
        entries += chart.referenceLines.filter { !$0.name.isEmpty }.map { ($0.name, .reference($0)) }
        guard chart.legend != .none, !entries.isEmpty else { return }

        let size = Self.legendSize, row = canvas.lineHeight(size: size) + 3, sample = 26.0, inner = 7.0
        let width = inner + sample + 6 + (entries.map { canvas.textWidth($0.0, size: size) }.max() ?? 0) + inner
        let height = inner * 2 + row * Double(entries.count) - 3
        let plot = l.plot, inset = 8.0
        func box(_ p: Chart.LegendPlacement) -> PlotRect {
            let left = p == .topLeft || p == .bottomLeft, top = p == .topLeft || p == .topRight
            return PlotRect(x: left ? plot.x + inset : plot.maxX - inset - width,
                            y: top ? plot.y + inset : plot.maxY - inset - height, width: width, height: height)
        }
        var placement = chart.legend
        if placement == .auto {
            // Sample every segment so sparse series count where their lines run, not only at their points.
            var points: [(Double, Double)] = []
            for s in chart.series {
                let p = zip(s.x, s.y).map { (l.x($0), l.y($1)) }
                points += p
                if let w = s.barWidth {   // a bar's whole area counts, not only its top
                    for (x, y) in zip(s.x, s.y) {
                        for i in 0...4 { for j in 0...8 { points.append((l.x(x - w / 2 + w * Double(i) / 4), l.y(y * Double(j) / 8))) } }
                    }
                }
                if s.connected { for (a, b) in zip(p, p.dropFirst()) { for k in 1..<8 { let t = Double(k) / 8; points.append((a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t)) } } }
            }
            for r in chart.referenceLines { for k in 0...40 { points.append((plot.x + plot.width * Double(k) / 40, l.y(r.y))) } }
            let corners: [Chart.LegendPlacement] = [.topRight, .topLeft, .bottomRight, .bottomLeft]
            placement = corners.min { a, b in
                let (ra, rb) = (box(a), box(b))
                return points.filter { ra.contains($0.0, $0.1) }.count < points.filter { rb.contains($0.0, $0.1) }.count
            } ?? .topRight
        }
        let frame = box(placement)
        canvas.fill(frame, PlotColor(hex: 0xFFFFFF), alpha: 0.88)
        canvas.outline(frame, PlotColor(hex: 0xCCCCCC))
        for (i, (name, kind)) in entries.enumerated() {
            let y = frame.y + inner + row * (Double(i) + 0.5) - 1.5, x = frame.x + inner
            switch kind {
            case .series(let s, let color):
                if s.barWidth != nil { canvas.fill(PlotRect(x: x + sample / 2 - 6, y: y - 6, width: 12, height: 12), color) }
                if s.connected { canvas.polyline([(x, y), (x + sample, y)], color: color, width: s.lineWidth, dash: s.dash) }
                canvas.marker(s.marker, x: x + sample / 2, y: y, size: s.markerSize, color: color)
            case .reference(let r):
                canvas.polyline([(x, y), (x + sample, y)], color: r.color, width: 1.5, dash: r.dash)
            }
            canvas.text(name, x: x + sample + 6, y: y, size: size, v: .middle)
        }
    }
}
