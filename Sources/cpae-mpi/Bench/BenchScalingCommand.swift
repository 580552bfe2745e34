import ArgumentParser
import Bench
import Core
import Distributed
import Foundation

struct BenchScalingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scaling",
        abstract: "Strong and weak scaling of the training step over MPI ranks (launches mpirun itself).",
        discussion: """
            For each rank count, runs the real training step on synthetic in-memory data with 1 BLAS thread \
            per rank: with --phase ae (the default) phase 1's (synchronized BatchNorm, one allreduce of the \
            flat gradient, Adam; the model options choose the autoencoder), with --phase ode phase 2's \
            (the latent Neural ODE's loss backpropagated through the midpoint solver, one allreduce of the \
            flat gradient, Adam; the model options do not apply). Strong scaling keeps the global batch \
            (--global-batch) fixed; weak scaling keeps the per-rank batch (--batch-per-rank) fixed; a run \
            that both modes contain is launched once. Efficiency: strong t(1)/(N·t(N)); weak \
            samples/s(N)/(N·samples/s(1)), relative to the first rank count. The allreduce share is the \
            gradient allreduce's time; the wait share is time spent in a barrier before it, waiting for the \
            slowest rank. Each figure is the median over --steps steps of the slowest rank. The machine may \
            be shared: each run starts when other processes leave the cores idle (up to --quiet-wait \
            seconds), and a step during which some rank lost more than 5% of its core to another process \
            is left out of the medians (the undisturbed count says how many steps are in them).
            """)

    @OptionGroup var workload: ScalingWorkloadOptions
    @Option(help: "Comma-separated rank counts.") var ranks = "1,2"
    @Option(name: .customLong("global-batch"), help: "Global batch of the strong-scaling runs (default: 16 for ae, 20000 for ode).")
    var globalBatch: Int?
    @Option(name: .customLong("batch-per-rank"), help: "Per-rank batch of the weak-scaling runs (default: 16 for ae, 20000 for ode).")
    var batchPerRank: Int?
    @Option(help: "Timed steps per run.") var steps = 4
    @Option(help: "Untimed warm-up steps per run.") var warmup = 1
    @Option(help: "Extra arguments for mpirun, space-separated (with the = form when they start with a dash: --mpirun-args='--oversubscribe --bind-to none').") var mpirunArgs = "--oversubscribe"
    @Option(help: "Longest wait for a quiet machine before each run, seconds (0: don't wait; disturbed steps are still left out).")
    var quietWait = 10.0
    @Flag(help: "Print one JSON object ({\"runs\": [...]}).") var json = false

    struct Run: Codable {
        var phase: String
        var mode: String
        var ranks: Int
        var samples_per_second: Double
        var efficiency: Double
        var allreduce_share: Double
        var wait_share: Double
        var step_seconds: Double
        var allreduce_seconds: Double
        var global_batch: Int
        var local_batch: Int
        var steps: Int
        var undisturbed_steps: Int
    }

    /// A launched run is fixed by its rank count and per-rank batch.
    private struct RunKey: Hashable { var ranks: Int; var localBatch: Int }

    func run() throws {
        let counts = try ranks.split(separator: ",").map { s -> Int in
            guard let n = Int(s), n >= 1 else { throw ValidationError("--ranks: '\(s)' is not a positive integer") }
            return n
        }
        guard let first = counts.first else { throw ValidationError("--ranks: give at least one rank count") }
        let work = try workload.workload()
        let globalBatch = self.globalBatch ?? workload.phase.defaultBatch
        let batchPerRank = self.batchPerRank ?? workload.phase.defaultBatch
        guard globalBatch >= 1, batchPerRank >= 1, steps >= 1, warmup >= 0 else {
            throw ValidationError("--global-batch, --batch-per-rank and --steps must be ≥ 1, --warmup ≥ 0")
        }
        for n in counts where globalBatch % n != 0 {
            throw UserError("--global-batch \(globalBatch) does not divide over \(n) ranks")
        }
        var measured: [RunKey: ScalingWorker.Result] = [:]
        func result(ranks n: Int, localBatch: Int) throws -> ScalingWorker.Result {
            let key = RunKey(ranks: n, localBatch: localBatch)
            if let r = measured[key] { return r }
            let r = try launch(ranks: n, localBatch: localBatch)
            measured[key] = r
            return r
        }
        var runs: [Run] = []
        for mode in ["strong", "weak"] {
            func local(_ n: Int) -> Int { mode == "strong" ? globalBatch / n : batchPerRank }
            let base = try result(ranks: first, localBatch: local(first))
            for n in counts {
                let r = try result(ranks: n, localBatch: local(n))
                let efficiency = mode == "strong"
                    ? base.step_seconds * Double(base.ranks) / (Double(n) * r.step_seconds)
                    : r.samples_per_second * Double(base.ranks) / (Double(n) * base.samples_per_second)
                runs.append(Run(phase: r.phase, mode: mode, ranks: n, samples_per_second: r.samples_per_second,
                                efficiency: efficiency, allreduce_share: r.allreduce_share, wait_share: r.wait_share,
                                step_seconds: r.step_seconds, allreduce_seconds: r.allreduce_seconds,
                                global_batch: r.global_batch, local_batch: r.local_batch,
                                steps: r.steps, undisturbed_steps: r.undisturbed_steps))
                if !json {
                    print(String(format: "%@  np %2d  batch %3d (%3d/rank)  %7.2f samples/s  efficiency %5.1f%%  allreduce %5.2f%% (%.2f ms)  waiting %5.2f%%  undisturbed %d/%d steps",
                                 mode as NSString, n, r.global_batch, r.local_batch, r.samples_per_second, efficiency * 100,
                                 r.allreduce_share * 100, r.allreduce_seconds * 1000, r.wait_share * 100,
                                 r.undisturbed_steps, r.steps))
                }
            }
        }
        if json {
            /// The model is the autoencoder's configuration (ae) or the latent model's (ode).
            struct Report: Codable { var model: ModelConfig?; var latent_model: LatentModelConfig?; var runs: [Run] }
            var report = Report(model: nil, latent_model: nil, runs: runs)
            switch work {
            case .autoencoder(let config, _): report.model = config
            case .latentODE(let config): report.latent_model = config
            }
            let e = JSONEncoder(); e.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try e.encode(report), as: UTF8.self))
        }
    }

    private func launch(ranks n: Int, localBatch: Int) throws -> ScalingWorker.Result {
        var timer = GuardedTimer()
        timer.maxQuietWait = quietWait
        timer.waitForQuiet()
        let exe = ChildMeasurement.executable
        var args = ["mpirun"] + mpirunArgs.split(separator: " ").map(String.init) + ["-np", "\(n)", exe, "bench", "scaling-worker",
                    "--local-batch", "\(localBatch)", "--steps", "\(steps)", "--warmup", "\(warmup)"]
        args += workload.arguments
        var env = ProcessInfo.processInfo.environment
        env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"; env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        return try ChildMeasurement.run(ScalingWorker.Result.self, executable: "/usr/bin/env", arguments: args, environment: env,
                                        what: "the \(n)-rank run")
    }
}

/// The per-rank half of `bench scaling`, launched by it under mpirun.
struct BenchScalingWorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "scaling-worker", abstract: "(internal)", shouldDisplay: false)

    @OptionGroup var workload: ScalingWorkloadOptions
    @Option(name: .customLong("local-batch")) var localBatch: Int
    @Option var steps: Int
    @Option var warmup: Int

    func run() throws {
        let work = try workload.workload()
        Communicator.runOrAbort { comm in
            if let r = try ScalingWorker(workload: work, localBatch: localBatch, steps: steps, warmup: warmup).run(comm) {
                print(String(decoding: try JSONEncoder().encode(r), as: UTF8.self))
            }
        }
    }
}
