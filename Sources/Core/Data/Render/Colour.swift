/// An 8-bit sRGB colour, averaged in sRGB space like Pillow's resampling, so anti-aliased edges
/// match what the reference pipeline produced.
public struct RGBColour: Sendable, Equatable, Hashable {
    public var r: UInt8
    public var g: UInt8
    public var b: UInt8

    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { self.r = r; self.g = g; self.b = b }

    /// The background every Chen et al. / CpAE dataset uses (equalized in the real videos too).
    public static let datasetBackground = RGBColour(215, 205, 192)
    public static let black = RGBColour(0, 0, 0)

    var vector: SIMD4<Float> { SIMD4(Float(r), Float(g), Float(b), 0) }
}
