/// One trajectory in latent space: the encoder's outputs for the overlapping frame pairs
/// (firstFrame + k, firstFrame + k + 1), k = 0…count−1 (docs/cpae-method.md §4.1: 59 latents for 60
/// frames), with the ground-truth state of each latent's first frame when the dataset has states.
public struct LatentTrajectory: Sendable, Equatable {
    public var id: Int
    /// nil when the dataset splits by frame ranges instead of by trajectory (circle).
    public var split: SplitName?
    /// Latents in this trajectory (T − 1 for T frames).
    public var count: Int
    /// Latent dimension d.
    public var dimension: Int
    /// count × d, row-major: latent k is `latents[k*d ..< (k+1)*d]`.
    public var latents: [Float]
    /// The frame latent 0 starts at; latent k encodes frames firstFrame + k and firstFrame + k + 1.
    public var firstFrame: Int
    /// Seconds between consecutive latents (the dataset's frame interval).
    public var dt: Double
    /// count × S, the state at each latent's first frame; empty when the dataset has no states.
    public var states: [Double]
    public var stateDimension: Int

    public init(id: Int, split: SplitName?, count: Int, dimension: Int, latents: [Float], firstFrame: Int = 0,
                dt: Double, stateDimension: Int = 0, states: [Double] = []) {
        precondition(latents.count == count * dimension, "latent buffer holds \(latents.count) values, expected \(count)×\(dimension)")
        precondition(states.count == count * stateDimension, "state buffer holds \(states.count) values, expected \(count)×\(stateDimension)")
        self.id = id; self.split = split; self.count = count; self.dimension = dimension; self.latents = latents
        self.firstFrame = firstFrame; self.dt = dt; self.stateDimension = stateDimension; self.states = states
    }

    /// Latent k (d values).
    public func latent(_ k: Int) -> ArraySlice<Float> { latents[(k * dimension)..<((k + 1) * dimension)] }

    /// The frame latent k starts at.
    public func frame(ofLatent k: Int) -> Int { firstFrame + k }

    /// Time of latent k in seconds from the trajectory's frame 0.
    public func time(ofLatent k: Int) -> Double { Double(firstFrame + k) * dt }
}
