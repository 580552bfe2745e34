import Core

extension InMemoryLatentPairs {
    /// `count` latent pairs (z, z + h·ε), z and ε standard normal: a frame's worth of motion, as in
    /// encoded trajectories — the benchmarks' stand-in for a latent dataset.
    static func synthetic(count: Int, dimension d: Int, frameStep h: Float, rng: inout RNG) -> InMemoryLatentPairs {
        let paths: [[[Float]]] = (0..<count).map { _ in
            let z = (0..<d).map { _ in rng.normal() }
            return [z.map { Float($0) }, z.map { Float($0 + Double(h) * rng.normal()) }]
        }
        return InMemoryLatentPairs(paths: paths)
    }
}
