/// Which network family a model belongs to (docs/method.md §Architectures).
public enum Architecture: String, Codable, Sendable, CaseIterable {
    /// Large K×K stride-2 kernels in the first three encoder stacks, regularized by J.
    case cpae
    /// Chen et al.'s standard autoencoder: 4×4 stride-2 kernels there, no regularizer.
    case ae
    /// The circular-motion model: one 48×48 conv, sigmoid, dense latent, mirrored decoder.
    case circle
}

/// What the autoencoder is trained to minimise.
public enum Objective: String, Codable, Sendable, CaseIterable {
    /// docs/method.md §Objectives: recon + λ·(2·latent + predicted pair) through the VPNet helper, plus the penalty.
    case reference
    /// One encoder and one decoder pass: MSE(D(E(X)), X) plus the penalty.
    case reconstruction
}

public struct ModelConfigError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Everything that fixes a model's shape and its penalty. One parameterised builder serves every
/// dataset: presets are just values of this struct.
public struct ModelConfig: Codable, Sendable, Equatable {
    public var architecture: Architecture
    /// Image channels C (1 or 3).
    public var channels: Int
    /// Frame height H; a sample is two frames side by side, C×H×2H (circle: one H×H frame).
    public var height: Int
    /// Latent dimension d.
    public var latent: Int
    /// Large-kernel size K of stacks 1–3 (cpae: even, stride 2, padding K/2−1; circle: the full frame).
    public var kernel: Int
    /// Output channels of encoder stacks 1, 2, 3; the tail stacks keep the third.
    public var widths: [Int]
    /// Output channels of decoder stages 2 and 3 (the reference keeps the CpAE's 16/32 for the AE too).
    public var decoderWidths: [Int]
    public var penalty: WeightPenalty
    /// Weight of the penalty; the circle preset's ×10 of the reference is folded in here.
    public var penaltyWeight: Float
    public var objective: Objective
    /// Weight λ of the latent terms in the reference objective.
    public var latentWeight: Float

    public init(architecture: Architecture, channels: Int, height: Int, latent: Int, kernel: Int, widths: [Int],
                decoderWidths: [Int], penalty: WeightPenalty, penaltyWeight: Float, objective: Objective, latentWeight: Float = 1) {
        self.architecture = architecture; self.channels = channels; self.height = height; self.latent = latent
        self.kernel = kernel; self.widths = widths; self.decoderWidths = decoderWidths; self.penalty = penalty; self.penaltyWeight = penaltyWeight
        self.objective = objective; self.latentWeight = latentWeight
    }

    /// Frame-pair width 2H (circle: H).
    public var width: Int { architecture == .circle ? height : 2 * height }
    public var inputShape: [Int] { [channels, height, width] }
    /// Stride-2 4×4 stacks after stack 3, down to height 1.
    public var tailStacks: Int {
        var n = 0, h = height / 8
        while h > 1 { h /= 2; n += 1 }
        return n
    }
    /// Whether the VPNet helper is part of the model (it is exactly when the reference objective is used).
    public var usesVPNet: Bool { objective == .reference }

    public func validate() throws {
        guard channels == 1 || channels == 3 else { throw ModelConfigError("channels must be 1 or 3, got \(channels)") }
        guard latent >= 1 else { throw ModelConfigError("latent dimension must be ≥ 1, got \(latent)") }
        if usesVPNet && latent % 2 != 0 {
            throw ModelConfigError("latent dimension must be even for the VPNet helper of the reference objective (got \(latent)); use an even --latent or --objective reconstruction")
        }
        switch architecture {
        case .circle:
            guard height >= 2, kernel == height else {
                throw ModelConfigError("the circle model's kernel must equal the image size (kernel \(kernel), size \(height))")
            }
            guard widths.count == 1, widths[0] >= 1 else { throw ModelConfigError("the circle model takes one width (hidden units), got \(widths)") }
            guard objective == .reconstruction else { throw ModelConfigError("the circle model trains on the reconstruction objective only") }
        case .cpae, .ae:
            guard height >= 16, height & (height - 1) == 0 else {
                throw ModelConfigError("height must be a power of two ≥ 16, got \(height)")
            }
            guard widths.count == 3, widths.allSatisfy({ $0 >= 1 }) else {
                throw ModelConfigError("widths must list 3 positive channel counts (stacks 1–3), got \(widths)")
            }
            guard decoderWidths.count == 2, decoderWidths.allSatisfy({ $0 >= 1 }) else {
                throw ModelConfigError("decoder widths must list 2 positive channel counts (stages 2 and 3), got \(decoderWidths)")
            }
            if architecture == .cpae {
                guard kernel >= 4, kernel % 2 == 0, kernel <= height else {
                    throw ModelConfigError("large kernel must be even, ≥ 4 and ≤ height (got \(kernel))")
                }
            }
        }
    }

    // MARK: Presets

    public enum Preset: String, CaseIterable, Sendable {
        /// The paper's full size: 3×128×256, K = 12, widths 16/32/64 (AE: 4×4, 32/32/64).
        case paper
        /// docs/method.md §Architectures (presets): 1×32×64, K = 8, widths 8/16/32 (AE: 4×4, 16/16/32). Fits a CPU.
        case small
        /// The circular-motion ablation (docs/method.md §Architectures): 1×48×48, one 48×48 conv, 32 hidden, d = 2.
        case circle
    }

    public static func preset(_ preset: Preset, architecture: Architecture = .cpae, latent: Int? = nil) -> ModelConfig {
        switch preset {
        case .paper:
            return ModelConfig(architecture: architecture, channels: 3, height: 128, latent: latent ?? 8,
                               kernel: architecture == .ae ? 4 : 12,
                               widths: architecture == .ae ? [32, 32, 64] : [16, 32, 64], decoderWidths: [16, 32],
                               penalty: architecture == .ae ? .none : .continuity, penaltyWeight: 1,
                               objective: .reference)
        case .small:
            return ModelConfig(architecture: architecture, channels: 1, height: 32, latent: latent ?? 2,
                               kernel: architecture == .ae ? 4 : 8,
                               widths: architecture == .ae ? [16, 16, 32] : [8, 16, 32], decoderWidths: [8, 16],
                               penalty: architecture == .ae ? .none : .continuity, penaltyWeight: 1,
                               objective: .reference)
        case .circle:
            // The reference multiplies J by an extra 10 for this experiment (Test.py).
            return ModelConfig(architecture: .circle, channels: 1, height: 48, latent: latent ?? 2, kernel: 48,
                               widths: [32], decoderWidths: [], penalty: .continuity, penaltyWeight: 10, objective: .reconstruction)
        }
    }
}
