/// The two continuity numbers of `Continuity` (jump ratio, roughness) for every test trajectory's
/// latent path, summarised over the trajectories.
public struct LatentContinuity: Codable, Equatable, Sendable {
    public var jumpRatio: Summary
    public var roughness: Summary

    enum CodingKeys: String, CodingKey { case jumpRatio = "jump_ratio", roughness }

    /// `paths[i]` is trajectory i's latents z_0 … z_{T−1} (T × d), e.g. the encodings of its
    /// overlapping pairs.
    public init(paths: [[[Double]]]) {
        jumpRatio = Summary(paths.map(Continuity.jumpRatio))
        roughness = Summary(paths.map(Continuity.roughness))
    }
}
