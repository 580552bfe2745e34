/// Separable, anti-aliased resampling of 8-bit HWC images.
///
/// Shrinking uses exact area averaging (each output pixel is the coverage-weighted mean of the
/// input pixels under it — OpenCV's INTER_AREA, what Chen et al. used on their videos), so no
/// detail aliases. Enlarging uses a plain interpolation kernel (bicubic with a = −0.5 as Pillow, or
/// bilinear). Each axis is handled independently, so a 1600→128 by 900→128 resize shrinks both
/// ways, and a mixed shrink/enlarge picks per axis. Weights of every output pixel sum to 1, so a
/// constant image stays exactly constant. At the borders, kernel taps outside the image are dropped
/// and the rest renormalized (Pillow's convention; checked against torch's antialiased bicubic).
public enum ResizeFilter: String, Sendable, CaseIterable {
    /// Area when shrinking, bicubic when enlarging (the default).
    case automatic
    /// Area when shrinking, bilinear when enlarging.
    case areaBilinear = "area-bilinear"
    /// Pillow-style bicubic everywhere, its support widened by the scale when shrinking
    /// (what the reference's `Image.resize((128, 128))` does).
    case bicubic
}

public enum ImageResizer {
    public static func resize(_ image: PixelImage, width: Int, height: Int,
                              filter: ResizeFilter = .automatic) -> PixelImage {
        precondition(width > 0 && height > 0, "target size must be positive")
        if width == image.width && height == image.height { return image }
        let columns = weights(from: image.width, to: width, filter: filter)
        let rows = weights(from: image.height, to: height, filter: filter)
        let c = image.channels
        // Horizontal pass into Float rows (image.height × width × c), then vertical pass.
        var horizontal = [Float](repeating: 0, count: image.height * width * c)
        image.pixels.withUnsafeBufferPointer { src in
            horizontal.withUnsafeMutableBufferPointer { dst in
                for y in 0..<image.height {
                    let inRow = y * image.width * c, outRow = y * width * c
                    for x in 0..<width {
                        let span = columns.spans[x]
                        for ch in 0..<c {
                            var sum: Float = 0
                            for k in 0..<span.count {
                                sum += columns.values[span.weightOffset + k] * Float(src[inRow + (span.first + k) * c + ch])
                            }
                            dst[outRow + x * c + ch] = sum
                        }
                    }
                }
            }
        }
        var out = [UInt8](repeating: 0, count: height * width * c)
        let rowLength = width * c
        horizontal.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                var accumulator = [Float](repeating: 0, count: rowLength)
                for y in 0..<height {
                    let span = rows.spans[y]
                    for i in 0..<rowLength { accumulator[i] = 0 }
                    for k in 0..<span.count {
                        let w = rows.values[span.weightOffset + k]
                        let base = (span.first + k) * rowLength
                        for i in 0..<rowLength { accumulator[i] += w * src[base + i] }
                    }
                    for i in 0..<rowLength { dst[y * rowLength + i] = quantize(accumulator[i]) }
                }
            }
        }
        return PixelImage(width: width, height: height, channels: c, pixels: out)
    }

    @inline(__always)
    static func quantize(_ v: Float) -> UInt8 {
        UInt8(min(max(v.rounded(.toNearestOrAwayFromZero), 0), 255))
    }

    struct Span { var first: Int; var count: Int; var weightOffset: Int }
    struct WeightTable { var spans: [Span]; var values: [Float] }

    /// Per output index: the contiguous input range it reads and the normalized weights.
    static func weights(from inSize: Int, to outSize: Int, filter: ResizeFilter) -> WeightTable {
        let scale = Double(inSize) / Double(outSize)
        var spans: [Span] = []
        var values: [Float] = []
        spans.reserveCapacity(outSize)
        for o in 0..<outSize {
            var taps: [(Int, Double)] = []
            if scale > 1 && filter != .bicubic {
                // Exact area coverage of [o·s, (o+1)·s) by input pixel [i, i+1).
                let lo = Double(o) * scale, hi = Double(o + 1) * scale
                var i = Int(lo.rounded(.down))
                while Double(i) < hi && i < inSize {
                    let overlap = min(hi, Double(i + 1)) - max(lo, Double(i))
                    if overlap > 1e-12 { taps.append((i, overlap)) }
                    i += 1
                }
            } else {
                // Kernel interpolation at the output pixel centre mapped to input coordinates;
                // the support widens with the scale when shrinking (Pillow's bicubic antialias).
                let kernel: (Double) -> Double
                let support: Double
                if filter == .areaBilinear {
                    kernel = { x in max(0, 1 - abs(x)) }; support = 1
                } else {
                    kernel = cubic; support = 2
                }
                let stretch = max(scale, 1)
                let centre = (Double(o) + 0.5) * scale
                let first = Int((centre - support * stretch).rounded(.down))
                let last = Int((centre + support * stretch).rounded(.up))
                // Taps outside the image are dropped and the rest renormalized, as Pillow does.
                for i in max(first, 0)...min(last, inSize - 1) {
                    let w = kernel((Double(i) + 0.5 - centre) / stretch)
                    if w != 0 { taps.append((i, w)) }
                }
            }
            var merged: [Int: Double] = [:]
            for (i, w) in taps { merged[i, default: 0] += w }
            let first = merged.keys.min()!, last = merged.keys.max()!
            let total = merged.values.reduce(0, +)
            spans.append(Span(first: first, count: last - first + 1, weightOffset: values.count))
            for i in first...last { values.append(Float((merged[i] ?? 0) / total)) }
        }
        return WeightTable(spans: spans, values: values)
    }

    /// Keys' cubic convolution kernel with a = −0.5 (Pillow's BICUBIC).
    static func cubic(_ x: Double) -> Double {
        let a = -0.5, t = abs(x)
        if t < 1 { return ((a + 2) * t - (a + 3)) * t * t + 1 }
        if t < 2 { return (((t - 5) * t + 8) * t - 4) * a }
        return 0
    }
}
