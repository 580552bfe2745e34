/// The autoencoders a pipeline compares, by the names the paper uses. Each becomes a subdirectory
/// of the run (`RUN/cpae`, `RUN/ae`, …) with its own latents, latent model and evaluation.
public enum ModelVariant: String, CaseIterable, Sendable, Codable {
    /// The CpAE: large kernels kept smooth by the continuity penalty J.
    case cpae
    /// The standard autoencoder baseline: 4×4 kernels, no penalty.
    case ae
    /// The ablation: the CpAE's large kernels with a plain L2 penalty instead of J.
    case l2
    /// The other ablation: the CpAE's large kernels with no penalty at all (J's weight 0), to tell
    /// what the kernels do from what J does.
    case largeAE = "large-ae"

    /// The penalty on the large-kernel weights (for the circle ablation, the only difference
    /// between its models).
    public var penalty: WeightPenalty {
        switch self {
        case .cpae: return .continuity
        case .ae, .largeAE: return .none
        case .l2: return .l2
        }
    }

    /// train-ae's flags that make this variant (the rest comes from the `train` section).
    public var arguments: [String] {
        switch self {
        case .cpae, .l2, .largeAE: return ["--arch", "cpae", "--penalty", penalty.rawValue]
        case .ae: return ["--arch", "ae", "--penalty", penalty.rawValue]
        }
    }

    /// How reports name it.
    public var title: String {
        switch self {
        case .cpae: return "CpAE"
        case .ae: return "AE"
        case .l2: return "L2 ablation"
        case .largeAE: return "AE, large kernels"
        }
    }
}
