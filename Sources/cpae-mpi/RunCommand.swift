import ArgumentParser
import Core
import Distributed
import Foundation

/// The whole job in one command: data, every model's phase 1, latents, phase 2 and evaluation, and
/// the report over all of them. Each stage is the stage's own command run in this process on the
/// same ranks (so its checks, progress lines and failure handling are the ones a user gets when
/// running it alone), with arguments made from the configuration's section for it.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "The whole pipeline: simulate the data if needed, train the CpAE and the AE baseline, encode, train the latent models, evaluate, report.",
        discussion: """
            With no arguments (`cpae-mpi` alone is `cpae-mpi run`) it runs the built-in default: a small damped-pendulum \
            dataset, CpAE against AE, a Neural ODE on each one's latents, written to runs/default. The same command \
            runs on one rank or under mpirun/srun. Every stage's results sit in RUN/<model>/ (train-ae's run directory, \
            with latents/, ode/<model>/ and its evaluation/); the top level holds config.json (the configuration run), \
            pipeline.json (the stages done), report.md, summary.json, vpt.png and frame_mse.png.

            Run it again after an interruption: finished stages are skipped and the interrupted one resumes from its \
            last checkpoint. A configuration other than the one the directory was started with is an error.

              cpae-mpi                                        # the default, runs/default
              mpirun --oversubscribe -np 2 cpae-mpi run --preset small --system pendulum --out runs/small
              cpae-mpi config --preset small > my.json && cpae-mpi run --config my.json --out runs/mine
            """)

    @OptionGroup var options: PipelineOptions
    @Option(help: "Run directory (default: runs/<preset>, or runs/<preset>-<system> for another system).")
    var out: String?

    func run() throws {
        let c = try options.resolvedConfiguration()
        let runner = PipelineRunner(configuration: c, directory: out ?? options.defaultDirectory(), dataFromFlag: options.data != nil)
        Communicator.runOrAbort { comm in try runner.run(comm) }
    }
}
