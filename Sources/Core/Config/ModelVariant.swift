/// The autoencoders a pipeline compares, by the names the paper uses. Each becomes a subdirectory
/// of the run (`RUN/cpae`, `RUN/ae`, …) with its own latents, latent model and evaluation.
public enum ModelVariant: String, CaseIterable, Sendable, Codable {
    /// The CpAE: large kernels kept smooth by the continuity penalty J.
    case cpae
    /// The standard autoencoder baseline: 4×4 kernels, no penalty.
    case ae
    /// The ablation: the CpAE's large kernels with a plain L2 penalty instead of J.
    case l2

    /// train-ae's flags that make this variant (the rest comes from the `train` section).
    public var arguments: [String] {
        switch self {
        case .cpae: return ["--arch", "cpae", "--penalty", "continuity"]
        case .ae: return ["--arch", "ae", "--penalty", "none"]
        case .l2: return ["--arch", "cpae", "--penalty", "l2"]
        }
    }

    /// How reports name it.
    public var title: String {
        switch self {
        case .cpae: return "CpAE"
        case .ae: return "AE"
        case .l2: return "L2 ablation"
        }
    }
}
