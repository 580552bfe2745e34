/// An 8-bit image in row-major height × width × channels order (the shard layout), with 1 (grey)
/// or 3 (RGB) channels. Decoders drop alpha the way the reference loader (Pillow's
/// `Image.convert('RGB')` on a pasted sprite) does: the colour values are kept as stored.
public struct PixelImage: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var channels: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0, "image must be non-empty")
        precondition(channels == 1 || channels == 3, "channels must be 1 or 3")
        precondition(pixels.count == width * height * channels, "pixel buffer size mismatch")
        self.width = width; self.height = height; self.channels = channels; self.pixels = pixels
    }

    /// A constant image.
    public init(width: Int, height: Int, channels: Int, fill: [UInt8]) {
        precondition(fill.count == channels, "fill needs one value per channel")
        var pixels = [UInt8](repeating: 0, count: width * height * channels)
        for i in 0..<(width * height) { for c in 0..<channels { pixels[i * channels + c] = fill[c] } }
        self.init(width: width, height: height, channels: channels, pixels: pixels)
    }

    public subscript(row: Int, column: Int, channel: Int) -> UInt8 {
        get { pixels[(row * width + column) * channels + channel] }
        set { pixels[(row * width + column) * channels + channel] = newValue }
    }

    /// The same picture with `channels` channels. RGB → grey uses ITU-R 601 luma with the
    /// integer weights Pillow's `convert('L')` uses, so grey datasets match the reference tooling.
    public func converted(toChannels target: Int) -> PixelImage {
        precondition(target == 1 || target == 3, "channels must be 1 or 3")
        if target == channels { return self }
        let n = width * height
        var out = [UInt8](repeating: 0, count: n * target)
        if target == 1 {
            for i in 0..<n { out[i] = PixelImage.luma(pixels[3 * i], pixels[3 * i + 1], pixels[3 * i + 2]) }
        } else {
            for i in 0..<n { let v = pixels[i]; out[3 * i] = v; out[3 * i + 1] = v; out[3 * i + 2] = v }
        }
        return PixelImage(width: width, height: height, channels: target, pixels: out)
    }

    /// L = (299 R + 587 G + 114 B) / 1000, rounded (Pillow's RGB→L).
    @inline(__always)
    public static func luma(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> UInt8 {
        let weighted: Int = 299 * Int(r) + 587 * Int(g) + 114 * Int(b)
        return UInt8((weighted + 500) / 1000)
    }
}
