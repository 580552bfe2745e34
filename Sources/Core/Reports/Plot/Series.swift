/// One data series of a chart: a polyline, a scatter of markers, or both.
public struct Series: Sendable {
    public var name: String          // shown in the legend; empty: not listed
    public var x: [Double]
    public var y: [Double]
    public var color: PlotColor?     // nil: the next colour of `PlotColor.palette`
    public var connected: Bool       // draw the polyline through the points
    public var dash: Dash
    public var marker: Marker
    public var lineWidth: Double
    public var markerSize: Double
    /// When set, each point is drawn as a filled bar this wide (in x data units) centred on x,
    /// from y = 0 up (or down) to y; the y axis then always shows 0. Linear y axes only.
    public var barWidth: Double?

    public init(name: String, x: [Double], y: [Double], color: PlotColor? = nil, connected: Bool = true,
                dash: Dash = .solid, marker: Marker = .none, lineWidth: Double = 1.8, markerSize: Double = 6,
                barWidth: Double? = nil) {
        self.name = name; self.x = x; self.y = y; self.color = color; self.connected = connected
        self.dash = dash; self.marker = marker; self.lineWidth = lineWidth; self.markerSize = markerSize
        self.barWidth = barWidth
    }

    /// A polyline through (x[i], y[i]).
    public static func line(_ name: String, x: [Double], y: [Double], color: PlotColor? = nil,
                            dash: Dash = .solid, marker: Marker = .none) -> Series {
        Series(name: name, x: x, y: y, color: color, dash: dash, marker: marker)
    }

    /// Bars of width `width` (x units) centred on x[i], rising from 0 to y[i] (grouped bars: one
    /// series per group member, each shifted by its offset within the group).
    public static func bars(_ name: String, x: [Double], y: [Double], width: Double, color: PlotColor? = nil) -> Series {
        Series(name: name, x: x, y: y, color: color, connected: false, barWidth: width)
    }

    /// Unconnected markers at (x[i], y[i]).
    public static func scatter(_ name: String, x: [Double], y: [Double], color: PlotColor? = nil,
                               marker: Marker = .circle, size: Double = 6) -> Series {
        Series(name: name, x: x, y: y, color: color, connected: false, marker: marker, markerSize: size)
    }
}

/// A horizontal line across the whole chart at a fixed y (a threshold such as ε, a baseline such
/// as the mean-image MSE); listed in the legend when named.
public struct ReferenceLine: Sendable {
    public var name: String
    public var y: Double
    public var color: PlotColor
    public var dash: Dash

    public init(name: String, y: Double, color: PlotColor = .grey, dash: Dash = .dashed) {
        self.name = name; self.y = y; self.color = color; self.dash = dash
    }
}
