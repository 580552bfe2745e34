import ArgumentParser
import Core
import Distributed
import Foundation

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
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            // ArgumentParser's own report writes a message in pieces; under mpirun every rank reports
            // the same input error before MPI starts, and the pieces of two ranks interleaved mid-
            // character. One write(2) per message keeps each rank's message whole.
            let code = exitCode(for: error), text = fullMessage(for: error)
            if code == .success {
                if !text.isEmpty { print(text) }
            } else if !text.isEmpty {
                Communicator.writeToStderr(text + "\n")
            }
            Foundation.exit(code.rawValue)
        }
    }
}

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Throughput benchmarks, with GFLOP/s next to this machine's measured sgemm peak.",
        subcommands: [BenchLayersCommand.self, BenchTrainCommand.self, BenchDataCommand.self, BenchScalingCommand.self, BenchScalingWorkerCommand.self, BenchODECommand.self])
}
