/// Every image failure names the file (or "<memory>" / "<stdin frame k>") and says what to do.
public struct ImageCodecError: Error, CustomStringConvertible, Equatable {
    public var source: String
    public var reason: String

    public init(source: String, reason: String) { self.source = source; self.reason = reason }

    public var description: String { "\(source): \(reason)" }
}
