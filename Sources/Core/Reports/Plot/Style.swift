/// An sRGB colour with components in 0…1.
public struct PlotColor: Sendable, Equatable {
    public var red: Double, green: Double, blue: Double

    public init(red: Double, green: Double, blue: Double) {
        self.red = red; self.green = green; self.blue = blue
    }

    /// `0xRRGGBB`.
    public init(hex: UInt32) {
        self.init(red: Double(hex >> 16 & 0xFF) / 255, green: Double(hex >> 8 & 0xFF) / 255, blue: Double(hex & 0xFF) / 255)
    }

    public static let black = PlotColor(hex: 0x000000)
    public static let grey = PlotColor(hex: 0x7F7F7F)
    /// Text and axis frame: near-black reads softer than pure black next to anti-aliased lines.
    static let ink = PlotColor(hex: 0x222222)

    /// Matplotlib's "tab10" cycle: distinguishable, and familiar to readers of scientific plots.
    public static let palette: [PlotColor] = [0x1F77B4, 0xFF7F0E, 0x2CA02C, 0xD62728, 0x9467BD,
                                             0x8C564B, 0xE377C2, 0x7F7F7F, 0xBCBD22, 0x17BECF].map(PlotColor.init(hex:))
}

/// How a line is stroked.
public enum Dash: Sendable, Equatable {
    case solid, dashed, dotted, dashDot

    /// On/off lengths in pixels (dots rely on round caps).
    var pattern: [Double] {
        switch self {
        case .solid: return []
        case .dashed: return [7, 4]
        case .dotted: return [0.1, 3.5]
        case .dashDot: return [7, 3, 0.1, 3]
        }
    }
}

/// A symbol drawn at every point of a series.
public enum Marker: Sendable, Equatable {
    case none, circle, square, triangle, cross
}
