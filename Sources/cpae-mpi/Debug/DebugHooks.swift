import ArgumentParser
import Core
import Distributed

/// Every `--debug-*` option in one place: hidden from `--help`, never needed by users. The fault
/// injections let the distributed tests make one rank fail or produce NaN at a chosen step (the job
/// must end with that rank's message, never hang); the batch recorder lets tools/compare_training.py
/// replay this run's exact batches in PyTorch.
struct DebugHooks: ParsableArguments {
    @Option(name: .customLong("debug-fail-rank"), help: .hidden) var failRank: Int?
    @Option(name: .customLong("debug-nan-rank"), help: .hidden) var nanRank: Int?
    @Option(name: .customLong("debug-at-step"), help: .hidden) var atStep = 1
    @Option(name: .customLong("debug-record-batches"), help: .hidden) var recordBatches: String?

    func validate() throws {
        if let failRank, let nanRank, failRank == nanRank {
            throw ValidationError("--debug-fail-rank and --debug-nan-rank must name different ranks")
        }
        guard atStep >= 1 else { throw ValidationError("--debug-at-step must be ≥ 1") }
    }

    /// `source`, or a recorder around it when --debug-record-batches is given (one file per rank).
    func batchSource(_ source: BatchSource, rank: Int, ranks: Int) throws -> BatchSource {
        guard let path = recordBatches else { return source }
        return try BatchRecorder(wrapping: source, path: ranks > 1 ? "\(path).rank\(rank)" : path)
    }

    /// The fault injections (nil if none) to run after each step's backward pass, for either phase's
    /// run (`TrainingRun.afterBackward`, `ODETrainingRun.afterBackward`).
    func faults(rank: Int, store: ParameterStore) -> ((_ step: Int) throws -> Void)? {
        guard failRank != nil || nanRank != nil else { return nil }
        return { [failRank, nanRank, atStep] step in
            guard step == atStep else { return }
            if failRank == rank {
                throw DistributedError("injected failure on rank \(rank) at step \(step) (--debug-fail-rank)")
            }
            if nanRank == rank { store.gradients[0] = .nan }
        }
    }
}
