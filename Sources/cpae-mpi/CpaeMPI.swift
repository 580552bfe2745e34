import ArgumentParser
import Core

@main
struct CpaeMPI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cpae-mpi",
        abstract: "Continuity-preserving autoencoders and latent Neural ODEs, data-parallel over MPI.",
        subcommands: [
            RunCommand.self, SweepCommand.self, ConfigCommand.self, ModelCommand.self, TrainAECommand.self, ReconstructCommand.self, EncodeCommand.self, TrainODECommand.self, EvaluateCommand.self,
            GenerateCommand.self, InspectCommand.self, IngestCommand.self,
            BenchCommand.self, MPISelfTestCommand.self,
        ],
        // `cpae-mpi` alone runs the whole pipeline on the built-in default.
        defaultSubcommand: RunCommand.self)

    static func main() {
        MemoryTuning.keepLargeAllocationsInHeap()
        main(nil)
    }
}

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Throughput benchmarks, with GFLOP/s next to this machine's measured sgemm peak.",
        subcommands: [BenchLayersCommand.self, BenchTrainCommand.self, BenchDataCommand.self, BenchScalingCommand.self, BenchScalingWorkerCommand.self, BenchODECommand.self])
}
