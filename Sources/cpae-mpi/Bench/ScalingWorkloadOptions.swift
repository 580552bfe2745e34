import ArgumentParser
import Bench
import Core

/// Which training step `bench scaling` times, shared by the command and the workers it launches.
struct ScalingWorkloadOptions: ParsableArguments {
    enum Phase: String, ExpressibleByArgument, CaseIterable {
        case ae, ode
        /// `bench scaling` only: ae, then ode (each worker runs one).
        case both

        /// The phases this choice measures, one worker launch each.
        var phases: [Phase] { self == .both ? [.ae, .ode] : [self] }

        /// The batch when none is given: a small image batch for phase 1; for phase 2 the reference's
        /// 20,000 latent pairs (docs/method.md §Latent dynamics), where a step lasts long enough that
        /// splitting it over ranks is worthwhile.
        var defaultBatch: Int { self == .ae ? 16 : 20_000 }
    }

    @Option(help: "Training step to time: ae (phase 1: autoencoder, SyncBN), ode (phase 2: latent Neural ODE, MLP d→256→256→d, midpoint × 2, h = 0.01) or both.")
    var phase: Phase = .ae

    @Option(help: "Latent dimension d of the ode phase's synthetic latents.")
    var dimension = 8

    @OptionGroup var model: ModelOptions

    /// These options with one phase chosen (`both` is split into its two).
    func only(_ p: Phase) -> ScalingWorkloadOptions {
        var copy = self
        copy.phase = p
        return copy
    }

    /// The same options as command-line arguments (to hand them to the launched workers).
    var arguments: [String] {
        ["--phase", phase.rawValue, "--dimension", "\(dimension)"] + (phase == .ae ? model.arguments : [])
    }

    func workload() throws -> ScalingWorker.Workload {
        switch phase {
        case .ae:
            return .autoencoder(try model.config(), model.convAlgorithm)
        case .both:
            throw ValidationError("--phase both: choose ae or ode for one worker (bench scaling runs each in turn)")
        case .ode:
            guard dimension >= 1 else { throw ValidationError("--dimension must be ≥ 1 (got \(dimension))") }
            return .latentODE(LatentModelConfig(kind: .mlp, dimension: dimension))
        }
    }
}
