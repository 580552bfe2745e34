import ArgumentParser
import Core

extension ModelConfig.Preset: ExpressibleByArgument {}
extension Architecture: ExpressibleByArgument {}
extension WeightPenalty: ExpressibleByArgument {}
extension Objective: ExpressibleByArgument {}
extension ConvAlgorithm: ExpressibleByArgument {}

/// Options that fix a model, shared by every command that builds one.
struct ModelOptions: ParsableArguments {
    @Option(help: "Model preset: paper (3×128×256, K=12), small (1×32×64, K=8; docs/method.md §Architectures), circle (1×48×48).")
    var preset: ModelConfig.Preset = .paper

    @Option(help: "Architecture: cpae (large regularized kernels) or ae (standard 4×4 baseline).")
    var arch: Architecture = .cpae

    @Option(help: "Latent dimension d (even when the reference objective's VPNet is used). Default: 8 (paper), 2 (small, circle).")
    var latent: Int?

    @Option(help: "Objective: reference (recon + 2·latent + prediction via VPNet) or reconstruction.")
    var objective: Objective?

    @Option(help: "Penalty on the large kernels: continuity (J), l2 (mean W²) or none.")
    var penalty: WeightPenalty?

    @Option(name: .customLong("penalty-weight"), help: "Weight λ_J of the penalty (default 1; 10 for circle, as the reference).")
    var penaltyWeight: Float?

    @Option(help: "Image channels (1 or 3), overriding the preset.")
    var channels: Int?

    @Option(help: "Frame size H (a sample is C×H×2H), overriding the preset.")
    var size: Int?

    @Option(help: "Large-kernel size K (even), overriding the preset.")
    var kernel: Int?

    @Option(help: "Comma-separated output channels of encoder stacks 1–3, overriding the preset.")
    var widths: String?

    @Option(name: .customLong("conv-algorithm"),
            help: "Convolution algorithm: auto (per layer, from measurements), direct (lowered GEMMs), winograd or shifted (each where the layer allows; docs/method.md §Fast convolutions).")
    var convAlgorithm: ConvAlgorithm = .auto

    /// The same options as command-line arguments (to hand them to a launched process).
    var arguments: [String] {
        var a = ["--preset", preset.rawValue, "--arch", arch.rawValue]
        if let latent { a += ["--latent", "\(latent)"] }
        if let objective { a += ["--objective", objective.rawValue] }
        if let penalty { a += ["--penalty", penalty.rawValue] }
        if let penaltyWeight { a += ["--penalty-weight", "\(penaltyWeight)"] }
        if let channels { a += ["--channels", "\(channels)"] }
        if let size { a += ["--size", "\(size)"] }
        if let kernel { a += ["--kernel", "\(kernel)"] }
        if let widths { a += ["--widths", widths] }
        a += ["--conv-algorithm", convAlgorithm.rawValue]
        return a
    }

    func config() throws -> ModelConfig {
        var c = ModelConfig.preset(preset, architecture: preset == .circle ? .circle : arch, latent: latent)
        if let objective { c.objective = objective }
        if let penalty { c.penalty = penalty }
        if let penaltyWeight { c.penaltyWeight = penaltyWeight }
        if let channels { c.channels = channels }
        if let size {
            c.height = size
            if c.architecture == .circle { c.kernel = size }
        }
        if let kernel { c.kernel = kernel }
        if let widths {
            let parts = widths.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.allSatisfy({ $0 != nil }) else { throw ValidationError("--widths must be comma-separated integers, got '\(widths)'") }
            c.widths = parts.map { $0! }
        }
        do { try c.validate() } catch let e as ModelConfigError { throw ValidationError(e.description) }
        return c
    }
}

import Foundation
