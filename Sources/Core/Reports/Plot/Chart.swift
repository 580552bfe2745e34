/// A panel with axes: line and scatter series, horizontal reference lines and a legend.
public struct Chart: Sendable {
    public enum LegendPlacement: Sendable, Equatable {
        case none, topRight, topLeft, bottomRight, bottomLeft
        /// The corner whose box covers the fewest data points.
        case auto
    }

    public var title: String
    public var x: Axis
    public var y: Axis
    public var series: [Series] = []
    public var referenceLines: [ReferenceLine] = []
    public var legend: LegendPlacement = .auto

    public init(title: String = "", x: Axis = Axis(), y: Axis = Axis(), legend: LegendPlacement = .auto) {
        self.title = title; self.x = x; self.y = y; self.legend = legend
    }

    public mutating func add(_ series: Series) { self.series.append(series) }

    public mutating func addLine(_ name: String, x: [Double], y: [Double], color: PlotColor? = nil,
                                 dash: Dash = .solid, marker: Marker = .none) {
        series.append(.line(name, x: x, y: y, color: color, dash: dash, marker: marker))
    }

    public mutating func addReference(_ name: String, y: Double, color: PlotColor = .grey, dash: Dash = .dashed) {
        referenceLines.append(ReferenceLine(name: name, y: y, color: color, dash: dash))
    }

    /// The name used in error messages.
    var context: String { title.isEmpty ? "chart" : "chart '\(title)'" }

    /// Every value must be drawable: equal lengths, finite, positive on a log axis.
    func validate() throws {
        for s in series {
            guard !s.x.isEmpty else { throw PlotError("\(context): series '\(s.name)' has no points") }
            guard s.x.count == s.y.count else {
                throw PlotError("\(context): series '\(s.name)' has \(s.x.count) x values but \(s.y.count) y values")
            }
            for (axis, values, letter) in [(x, s.x, "x"), (y, s.y, "y")] {
                for (i, v) in values.enumerated() {
                    guard v.isFinite else { throw PlotError("\(context): series '\(s.name)' point \(i) has \(letter) = \(v)") }
                    if axis.scale == .log && v <= 0 {
                        throw PlotError("\(context): series '\(s.name)' point \(i) has \(letter) = \(v), which a log \(letter) axis cannot show (values must be > 0)")
                    }
                }
            }
        }
        for s in series {
            if let w = s.barWidth {
                guard w > 0, w.isFinite else { throw PlotError("\(context): bar series '\(s.name)' has width \(w)") }
                guard y.scale == .linear else { throw PlotError("\(context): bar series '\(s.name)' needs a linear y axis") }
            }
        }
        if let ticks = x.ticks, let labels = x.tickLabels, ticks.count != labels.count {
            throw PlotError("\(context): \(labels.count) x tick labels for \(ticks.count) ticks")
        }
        if let ticks = y.ticks, let labels = y.tickLabels, ticks.count != labels.count {
            throw PlotError("\(context): \(labels.count) y tick labels for \(ticks.count) ticks")
        }
        for r in referenceLines {
            guard r.y.isFinite, y.scale == .linear || r.y > 0 else {
                throw PlotError("\(context): reference line '\(r.name)' at y = \(r.y) cannot be shown on a \(y.scale) axis")
            }
        }
    }
}
