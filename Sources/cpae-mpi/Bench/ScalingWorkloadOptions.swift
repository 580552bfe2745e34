import ArgumentParser
import Bench
import Core

/// Which training step `bench scaling` times, shared by the command and the workers it launches.
struct ScalingWorkloadOptions: ParsableArguments {
    enum Phase: String, ExpressibleByArgument, CaseIterable {
        case ae, ode

        /// The batch when none is given: a small image batch for phase 1; for phase 2 the reference's
        /// 20,000 latent pairs (docs/method.md §Latent dynamics), where a step lasts long enough that
        /// splitting it over ranks is worthwhile.
        var defaultBatch: Int { self == .ae ? 16 : 20_000 }
    }

    @Option(help: "Training step to time: ae (phase 1: autoencoder, SyncBN) or ode (phase 2: latent Neural ODE, MLP d→256→256→d, midpoint × 2, h = 0.01).")
    var phase: Phase = .ae

    @Option(help: "Latent dimension d of the ode phase's synthetic latents.")
    var dimension = 8

    @OptionGroup var model: ModelOptions

    /// The same options as command-line arguments (to hand them to the launched workers).
    var arguments: [String] {
        ["--phase", phase.rawValue, "--dimension", "\(dimension)"] + (phase == .ae ? model.arguments : [])
    }

    func workload() throws -> ScalingWorker.Workload {
        switch phase {
        case .ae:
            return .autoencoder(try model.config(), model.convAlgorithm)
        case .ode:
            guard dimension >= 1 else { throw ValidationError("--dimension must be ≥ 1 (got \(dimension))") }
            return .latentODE(LatentModelConfig(kind: .mlp, dimension: dimension))
        }
    }
}
