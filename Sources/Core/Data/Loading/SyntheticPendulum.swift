import Foundation

/// A small pendulum-like scene for benchmarks and tests of the data path: an anti-aliased dark rod
/// from the image centre to a red disk, on the (215, 205, 192) background of the paper's renders.
/// Not the real renderer (that lives with the simulators) — only realistic enough that compression
/// ratio and decode speed resemble real pendulum frames.
public enum SyntheticPendulum {
    public static let background: (Float, Float, Float) = (215, 205, 192)

    /// A trajectory of `frames` frames of size×size×3 uint8 (HWC), a damped swing with
    /// per-trajectory initial angle from `seed`. States: (θ, ω).
    public static func trajectory(id: Int, frames: Int, size: Int, seed: UInt64) -> FrameSequence {
        var rng = RNG.derived(seed, UInt64(id))
        let theta0 = rng.uniform(-2.5, 2.5), omega0 = rng.uniform(-1, 1)
        var pixels = [UInt8](repeating: 0, count: frames * size * size * 3)
        var states: [Double] = []
        var theta = theta0, omega = omega0
        let dt = 0.05, steps = 10
        for f in 0..<frames {
            states += [theta, omega]
            draw(theta: theta, size: size, into: &pixels, offset: f * size * size * 3)
            for _ in 0..<steps {   // damped pendulum, semi-implicit Euler
                omega += (dt / Double(steps)) * (-9.81 * sin(theta) - 0.1 * omega)
                theta += (dt / Double(steps)) * omega
            }
        }
        return FrameSequence(id: id, frameCount: frames, height: size, width: size, channels: 3, frames: pixels,
                             stateDimension: 2, states: states)
    }

    static func draw(theta: Double, size: Int, into pixels: inout [UInt8], offset: Int) {
        let s = Float(size)
        let cx = s / 2, cy = s / 2
        let length = 0.36 * s, radius = 0.07 * s, halfWidth = 0.012 * s + 0.5
        let bx = cx + length * Float(sin(theta)), by = cy + length * Float(cos(theta))
        let (r0, g0, b0) = background
        for row in 0..<size {
            for col in 0..<size {
                let px = Float(col) + 0.5, py = Float(row) + 0.5
                // Coverage by distance with a one-pixel linear ramp: cheap anti-aliasing.
                let dx = bx - cx, dy = by - cy
                let u = max(0, min(1, ((px - cx) * dx + (py - cy) * dy) / (dx * dx + dy * dy)))
                let ex = px - (cx + u * dx), ey = py - (cy + u * dy)
                let rod = max(0, min(1, halfWidth - (ex * ex + ey * ey).squareRoot() + 0.5))
                let disk = max(0, min(1, radius - ((px - bx) * (px - bx) + (py - by) * (py - by)).squareRoot() + 0.5))
                var r = r0 + rod * (40 - r0), g = g0 + rod * (40 - g0), b = b0 + rod * (40 - b0)
                r += disk * (200 - r); g += disk * (30 - g); b += disk * (30 - b)
                let o = offset + (row * size + col) * 3
                pixels[o] = UInt8(r.rounded()); pixels[o + 1] = UInt8(g.rounded()); pixels[o + 2] = UInt8(b.rounded())
            }
        }
    }

    /// Writes a dataset of `count` trajectories (ids 0..<count) with an 80/10/10 split.
    @discardableResult
    public static func writeDataset(directory: String, count: Int, frames: Int, size: Int, seed: UInt64 = 0,
                                    trajectoriesPerShard: Int = 8, compressionLevel: Int32 = 3) throws -> DatasetDescription {
        let description = DatasetDescription(system: "pendulum", frameCount: frames, height: size, width: size,
                                             channels: 3, dt: 0.05, stateNames: ["theta", "omega"])
        let writer = try DatasetWriter(directory: directory, description: description,
                                       trajectoriesPerShard: trajectoriesPerShard, compressionLevel: compressionLevel)
        for id in 0..<count { try writer.append(trajectory(id: id, frames: frames, size: size, seed: seed)) }
        let nTrain = max(1, count * 8 / 10), nVal = (count - nTrain) / 2
        try writer.finish(splits: DatasetSplits(train: Array(0..<nTrain), validation: Array(nTrain..<(nTrain + nVal)),
                                                test: Array((nTrain + nVal)..<count)))
        return description
    }
}
