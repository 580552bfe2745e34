/// Anti-aliased rasterization of a `Scene` by supersampling: each pixel is the mean colour of an
/// n×n grid of point samples, each sample taking the colour of the topmost shape containing it.
/// Per-sample visibility (instead of blending per-shape coverage) keeps shared edges exact, e.g.
/// where one rod occludes another.
///
/// Speed comes from the exact signed distances: a pixel whose centre is farther than half a pixel
/// diagonal from every shape boundary is uniformly covered, so it is coloured from one evaluation;
/// only edge pixels are supersampled, and pixels outside every shape's bounds are background.
public enum SceneRasterizer {
    public static let defaultSamplesPerAxis = 8

    public static func render(_ scene: Scene, width: Int, height: Int, channels: Int,
                              samplesPerAxis: Int = defaultSamplesPerAxis) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: width * height * channels)
        out.withUnsafeMutableBufferPointer {
            render(scene, width: width, height: height, channels: channels, samplesPerAxis: samplesPerAxis, into: $0)
        }
        return out
    }

    /// Renders into `buffer` (height × width × channels, uint8). Channels 1 gives Pillow's luma of
    /// the RGB rendering.
    public static func render(_ scene: Scene, width: Int, height: Int, channels: Int, samplesPerAxis: Int,
                              into buffer: UnsafeMutableBufferPointer<UInt8>) {
        precondition(channels == 1 || channels == 3, "channels must be 1 or 3")
        precondition(width > 0 && height > 0 && samplesPerAxis > 0)
        precondition(buffer.count == width * height * channels, "render buffer size mismatch")
        let background = scene.background.vector
        for i in 0..<(width * height) { store(background, at: i, channels: channels, buffer) }
        let shapes = scene.shapes
        if shapes.isEmpty { return }

        let pixel = SIMD2(1.0 / Double(width), 1.0 / Double(height))
        let halfDiagonal = 0.5 * (pixel * pixel).sum().squareRoot()
        // Pixel-index bounds per shape, widened by one pixel for safety.
        var columnRange: [(Int, Int)] = [], rowRange: [(Int, Int)] = []
        var minColumn = width, maxColumn = -1, minRow = height, maxRow = -1
        for s in shapes {
            let (lo, hi) = s.shape.bounds
            let c0 = max(0, Int((lo.x / pixel.x).rounded(.down)) - 1), c1 = min(width - 1, Int((hi.x / pixel.x).rounded(.up)) + 1)
            let r0 = max(0, Int((lo.y / pixel.y).rounded(.down)) - 1), r1 = min(height - 1, Int((hi.y / pixel.y).rounded(.up)) + 1)
            columnRange.append((c0, c1)); rowRange.append((r0, r1))
            if c0 <= c1 && r0 <= r1 {
                minColumn = min(minColumn, c0); maxColumn = max(maxColumn, c1)
                minRow = min(minRow, r0); maxRow = max(maxRow, r1)
            }
        }
        if minColumn > maxColumn || minRow > maxRow { return }

        let colours = shapes.map { $0.colour.vector }
        let n = samplesPerAxis
        let sampleWeight = Float(1) / Float(n * n)
        var distances = [Double](repeating: 0, count: shapes.count)
        var candidates = [Bool](repeating: false, count: shapes.count)
        for row in minRow...maxRow {
            for column in minColumn...maxColumn {
                let centre = SIMD2((Double(column) + 0.5) * pixel.x, (Double(row) + 0.5) * pixel.y)
                var anyEdge = false, anyCandidate = false
                var top = -1
                for k in 0..<shapes.count {
                    candidates[k] = column >= columnRange[k].0 && column <= columnRange[k].1
                        && row >= rowRange[k].0 && row <= rowRange[k].1
                    guard candidates[k] else { continue }
                    anyCandidate = true
                    let d = shapes[k].shape.signedDistance(centre)
                    distances[k] = d
                    if abs(d) < halfDiagonal { anyEdge = true }
                    if d < 0 { top = k }
                }
                guard anyCandidate else { continue }
                let index = row * width + column
                if !anyEdge {
                    if top >= 0 { store(colours[top], at: index, channels: channels, buffer) }
                    continue
                }
                var sum = SIMD4<Float>(repeating: 0)
                for sy in 0..<n {
                    let y = (Double(row) + (Double(sy) + 0.5) / Double(n)) * pixel.y
                    for sx in 0..<n {
                        let p = SIMD2((Double(column) + (Double(sx) + 0.5) / Double(n)) * pixel.x, y)
                        var colour = background
                        var k = shapes.count - 1
                        while k >= 0 {
                            if candidates[k] {
                                // Shapes whose centre distance exceeds the half diagonal cover the
                                // whole pixel or none of it; only the others need the sample.
                                let d = distances[k]
                                let inside = abs(d) >= halfDiagonal ? d < 0 : shapes[k].shape.signedDistance(p) < 0
                                if inside { colour = colours[k]; break }
                            }
                            k -= 1
                        }
                        sum += colour
                    }
                }
                store(sum * sampleWeight, at: index, channels: channels, buffer)
            }
        }
    }

    @inline(__always)
    static func store(_ colour: SIMD4<Float>, at index: Int, channels: Int, _ buffer: UnsafeMutableBufferPointer<UInt8>) {
        if channels == 3 {
            buffer[3 * index] = quantize(colour.x)
            buffer[3 * index + 1] = quantize(colour.y)
            buffer[3 * index + 2] = quantize(colour.z)
        } else {
            buffer[index] = quantize(0.299 * colour.x + 0.587 * colour.y + 0.114 * colour.z)
        }
    }

    @inline(__always)
    static func quantize(_ v: Float) -> UInt8 { UInt8(min(max(v.rounded(.toNearestOrAwayFromZero), 0), 255)) }
}
