/// Numbers for "do the latents move continuously?" (docs/method.md §Evaluation): a trajectory of latents
/// z_0 … z_{T−1} (rows of a T×d array).
public enum Continuity {
    /// max_t ‖z_{t+1} − z_t‖ / median_t ‖z_{t+1} − z_t‖: about 1–2 for a smooth path, large when the
    /// latent jumps somewhere along it.
    public static func jumpRatio(_ z: [[Double]]) -> Double {
        let steps = stepLengths(z)
        guard let max = steps.max() else { return .nan }
        return max / median(steps)
    }

    /// mean ‖z_{t+1} − 2z_t + z_{t−1}‖ / mean ‖z_{t+1} − z_t‖: small for a path that also turns smoothly.
    public static func roughness(_ z: [[Double]]) -> Double {
        guard z.count >= 3 else { return .nan }
        var second = 0.0
        for t in 1..<(z.count - 1) {
            second += norm(zip(zip(z[t + 1], z[t]), z[t - 1]).map { $0.0 - 2 * $0.1 + $1 })
        }
        let steps = stepLengths(z)
        return (second / Double(z.count - 2)) / (steps.reduce(0, +) / Double(steps.count))
    }

    static func stepLengths(_ z: [[Double]]) -> [Double] {
        guard z.count >= 2 else { return [] }
        return (0..<(z.count - 1)).map { t in norm(zip(z[t + 1], z[t]).map { $0 - $1 }) }
    }

    static func norm(_ v: [Double]) -> Double { v.reduce(0) { $0 + $1 * $1 }.squareRoot() }

    /// Rows of an N×d tensor as Double arrays.
    public static func rows(_ t: Tensor) -> [[Double]] {
        let d = t.count / t.shape[0]
        return (0..<t.shape[0]).map { i in (0..<d).map { Double(t.data[i * d + $0]) } }
    }
}
