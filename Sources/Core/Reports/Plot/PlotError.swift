/// A figure that cannot be drawn as asked (empty series, a non-positive value on a log axis, more
/// panels than grid cells…). The message names the panel, the series and the offending value.
public struct PlotError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
