import Foundation

public enum AxisScale: Sendable, Equatable { case linear, log }

/// One axis of a chart: its label, scale, and optionally fixed limits (else fitted to the data).
public struct Axis: Sendable {
    public var label: String
    public var scale: AxisScale
    public var limits: ClosedRange<Double>?
    /// Tick positions to use instead of the automatic ones (e.g. rank counts 1, 2, 4, 8 on a log axis).
    public var ticks: [Double]?
    /// Labels for `ticks`, one each (category names under grouped bars); nil: the values in `%g` style.
    public var tickLabels: [String]?

    public init(_ label: String = "", scale: AxisScale = .linear, limits: ClosedRange<Double>? = nil, ticks: [Double]? = nil,
                tickLabels: [String]? = nil) {
        self.label = label; self.scale = scale; self.limits = limits; self.ticks = ticks; self.tickLabels = tickLabels
    }

    /// The visible range: the limits if given, else the data's range padded by 4% of its span
    /// (in log10 units on a log axis) so no point sits on the frame.
    func range(of values: [Double], context: String) throws -> (lo: Double, hi: Double) {
        if let limits {
            guard limits.lowerBound < limits.upperBound, limits.lowerBound.isFinite, limits.upperBound.isFinite else {
                throw PlotError("\(context): axis '\(label)' limits \(limits) are empty or not finite")
            }
            if scale == .log && limits.lowerBound <= 0 {
                throw PlotError("\(context): log axis '\(label)' needs positive limits, got \(limits)")
            }
            return (limits.lowerBound, limits.upperBound)
        }
        guard let low = values.min(), let high = values.max() else { return scale == .log ? (1, 10) : (0, 1) }
        switch scale {
        case .linear:
            if low == high {
                let half = low == 0 ? 1 : abs(low) * 0.1
                return (low - half, high + half)
            }
            let pad = (high - low) * 0.04
            return (low - pad, high + pad)
        case .log:
            let a = log10(low), b = log10(high)
            if a == b { return (low / 2, high * 2) }
            let pad = (b - a) * 0.04
            return (pow(10, a - pad), pow(10, b + pad))
        }
    }
}

/// Maps data values of one axis to pixel coordinates.
struct AxisMap {
    let lo: Double, hi: Double, scale: AxisScale
    let pixelLo: Double, pixelHi: Double   // where lo and hi land (pixelHi < pixelLo for y)

    func callAsFunction(_ value: Double) -> Double {
        let t = scale == .log ? (log10(value) - log10(lo)) / (log10(hi) - log10(lo)) : (value - lo) / (hi - lo)
        return pixelLo + t * (pixelHi - pixelLo)
    }
}
