import Core
import Foundation
import TestLauncher
import XCTest

/// `train-ae` under mpirun: rank equivalence, bit-exact repeat and resume, and every failure ending
/// the whole job with its message instead of a hang.
final class TrainingAcrossRanksTests: XCTestCase {
    /// A tiny pendulum dataset (32 trajectories × 20 frames, 1×32×32), generated once per process: its
    /// training split has more than 20 global batches, so 20 steps never reach an epoch's padded tail.
    private static let dataset: String = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cpae-mpi-train-\(getpid())").path
        try? FileManager.default.removeItem(atPath: dir)
        let r = try! MPILauncher.runSingleton(["generate", "--system", "pendulum", "--trajectories", "32", "--frames", "20",
                                               "--size", "32", "--channels", "1", "--seed", "3", "--out", dir + "/data", "--quiet"])
        precondition(r.exitCode == 0, r.summary)
        return dir
    }()

    private var data: String { Self.dataset + "/data" }

    private func runDirectory(_ name: String) -> String {
        let path = Self.dataset + "/runs/\(name)-\(UUID().uuidString.prefix(8))"
        return path
    }

    /// The small preset at a learning rate where 20 Adam steps stay in the float-rounding regime
    /// (see testAdamAmplifiesRoundingAtTheReferenceRate for why the rate matters). The reference
    /// schedule (no latent warm-up), so every term of the objective takes part from the first step,
    /// as in the in-process runs' `TrainerSettings`. BatchNorm's moving averages are kept
    /// (`--bn-recalibration 0`): these tests compare the trained state step for step, the in-process
    /// replicas (a bare `AutoencoderTrainer`) do not re-estimate, and the batches a re-estimate would
    /// read run into the epoch's padded last batch, which differs between rank counts by design
    /// (BatchNormRecalibrationTests covers the re-estimate).
    private func trainArguments(out: String, steps: Int = 20, lr: String = "1e-5", extra: [String] = []) -> [String] {
        ["train-ae", "--data", data, "--preset", "small", "--global-batch", "16", "--steps", "\(steps)", "--seed", "7",
         "--out", out, "--lr-schedule", "constant:\(lr)", "--progress-seconds", "1000",
         "--latent-hold", "0", "--latent-warmup", "0", "--bn-recalibration", "0"] + extra
    }

    private func train(ranks: Int, out: String, steps: Int = 20, lr: String = "1e-5", extra: [String] = [],
                       file: StaticString = #filePath, line: UInt = #line) throws -> [MetricsRecord] {
        let r = try MPILauncher.runUnderMPI(ranks: ranks, trainArguments(out: out, steps: steps, lr: lr, extra: extra), timeout: 120)
        XCTAssertEqual(r.exitCode, 0, r.summary, file: file, line: line)
        return try metrics(out)
    }

    private func metrics(_ out: String) throws -> [MetricsRecord] {
        try JSONLines.read(MetricsRecord.self, from: out + "/metrics.jsonl")
    }

    /// All parameter and buffer values of a run's checkpoint, in a fixed order.
    private func parameters(_ out: String, includeOptimizer: Bool = false) throws -> [Float] {
        try parameters(file: out + "/checkpoint.safetensors", includeOptimizer: includeOptimizer)
    }

    private func parameters(file path: String, includeOptimizer: Bool = false) throws -> [Float] {
        let file = try SafeTensorsFile.read(path)
        return try file.names.sorted().filter { includeOptimizer || !$0.hasPrefix("optimizer.") }
            .filter { file.entry(named: $0)?.dtype == .f32 }.flatMap { try file.floats($0) }
    }

    private func relativeDifference(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count)
        var d = 0.0, n = 0.0
        for i in 0..<a.count { d += Double(a[i] - b[i]) * Double(a[i] - b[i]); n += Double(a[i]) * Double(a[i]) }
        return (d / n).squareRoot()
    }

    /// Same seed and global batch at np = 1, 2, 4 and 8 (oversubscribed): the same loss at every step and
    /// the same final parameters, to 1e-4 relative. The learning rate is small enough (1e-6) that 20
    /// Adam steps stay in the float-rounding regime (see testAdamAmplifiesRoundingAtTheReferenceRate),
    /// so the parameters also agree relative to how far they moved (1%), not only relative to their
    /// size. The per-step loss is the sensitive check: per-rank BatchNorm (the negative control) or a
    /// different sample split changes it by more than 1e-3 from the first step on.
    ///
    /// The in-process replica group (`ReplicatedTraining`, k threads) is held to the same tolerances
    /// against the mpirun run of the same k, for k = 1, 2, 4.
    func testRankCountsGiveTheSameTraining() throws {
        let lr = "1e-6"
        let initial = Self.dataset + "/init-\(UUID().uuidString.prefix(8)).safetensors"
        let saved = try MPILauncher.runSingleton(["model", "--preset", "small", "--seed", "7", "--save-init", initial])
        XCTAssertEqual(saved.exitCode, 0, saved.summary)
        let one = runDirectory("np1")
        let reference = try train(ranks: 1, out: one, lr: lr)
        XCTAssertEqual(reference.count, 20)
        let p1 = try parameters(one)
        let start = try parameters(file: initial)
        let moved = relativeDifference(p1, start) * norm(p1)
        XCTAssertGreaterThan(moved, 0, "training moved the parameters")
        func compare(_ m: [MetricsRecord], _ p: [Float], to reference: [MetricsRecord], _ p1: [Float])
            -> (loss: Double, relative: Double, ofMovement: Double) {
            XCTAssertEqual(m.count, 20)
            var worst = 0.0
            for (a, b) in zip(reference, m) {
                let la = a.loss, lb = b.loss
                worst = max(worst, abs(la - lb) / la)
            }
            let rel = relativeDifference(p1, p)
            return (worst, rel, rel * norm(p1) / moved)
        }
        var runs: [Int: (metrics: [MetricsRecord], parameters: [Float])] = [1: (reference, p1)]
        func compare(_ ranks: Int, extra: [String] = []) throws -> (loss: Double, relative: Double, ofMovement: Double) {
            let out = runDirectory("np\(ranks)")
            let m = try train(ranks: ranks, out: out, lr: lr, extra: extra)
            let p = try parameters(out)
            if extra.isEmpty { runs[ranks] = (m, p) }
            return compare(m, p, to: reference, p1)
        }
        for ranks in [2, 4, 8] {
            let r = try compare(ranks)
            XCTAssertLessThan(r.loss, 1e-4, "np=\(ranks): per-step loss differs from np=1 by up to \(r.loss) (relative)")
            XCTAssertLessThan(r.relative, 1e-4, "np=\(ranks): final parameters differ by \(r.relative) (relative L2)")
            XCTAssertLessThan(r.ofMovement, 0.01, "np=\(ranks): final parameters differ by \(r.ofMovement) of the distance they moved")
        }
        // Negative control: per-rank BatchNorm is a different computation, and the same comparison sees it.
        let control = try compare(2, extra: ["--per-rank-batchnorm"])
        XCTAssertGreaterThan(control.loss, 1e-3, "per-rank BatchNorm should not match the global batch")

        for k in [1, 2, 4] {
            let (m, p) = try inProcess(replicas: k, lr: lr)
            let r = compare(m, p, to: runs[k]!.metrics, runs[k]!.parameters)
            XCTAssertLessThan(r.loss, 1e-4, "\(k) in-process replicas: per-step loss differs from np=\(k) by up to \(r.loss)")
            XCTAssertLessThan(r.relative, 1e-4, "\(k) in-process replicas: final parameters differ from np=\(k) by \(r.relative)")
            XCTAssertLessThan(r.ofMovement, 0.01, "\(k) in-process replicas: \(r.ofMovement) of the distance moved")
        }
    }

    /// `train-ae`'s configuration of `trainArguments` on k in-process replicas, each reading its
    /// shard of the dataset through its own BatchLoader: the metrics lines' losses and the
    /// checkpoint's parameters, in the forms `train` and `parameters` return.
    private func inProcess(replicas k: Int, lr: String) throws -> ([MetricsRecord], [Float]) {
        let settings = TrainerSettings(globalBatch: 16, steps: 20, schedule: "constant:\(lr)", seed: 7)
        let training = ReplicatedTraining(config: ModelConfig.preset(.small), seed: 7, settings: settings)
        let loaders = LoaderList()
        defer { loaders.closeAll() }
        let data = self.data
        let results = training.run(replicas: k) { rank, k in
            let loader = try BatchLoader(reader: try DatasetReader(directory: data), split: .train, rank: rank, worldSize: k,
                                         localBatch: 16 / k, seed: 7, cacheCapacity: .trajectories(128))
            loaders.add(loader)
            return loader
        }
        let root = try results[0].get()
        for r in results { _ = try r.get() }
        let file = Self.dataset + "/in-process-\(k)-\(UUID().uuidString.prefix(8)).safetensors"
        try root.model.save(to: file, optimizer: root.optimizer)
        return (root.reports.map { MetricsRecord($0) }, try parameters(file: file))
    }

    private func norm(_ a: [Float]) -> Double { (a.reduce(0.0) { $0 + Double($1) * Double($1) }).squareRoot() }

    func testSameRankCountTwiceIsBitIdentical() throws {
        let a = runDirectory("twice-a"), b = runDirectory("twice-b")
        let ma = try train(ranks: 2, out: a, steps: 10, lr: "1e-3")
        let mb = try train(ranks: 2, out: b, steps: 10, lr: "1e-3")
        XCTAssertEqual(ma.map { $0.loss }, mb.map { $0.loss })
        let fa = try Data(contentsOf: URL(fileURLWithPath: a + "/checkpoint.safetensors"))
        let fb = try Data(contentsOf: URL(fileURLWithPath: b + "/checkpoint.safetensors"))
        XCTAssertEqual(fa, fb, "same seed and rank count must give byte-identical checkpoints")
    }

    /// Documents the limit of cross-rank-count equivalence: Adam divides each coordinate by its own
    /// gradient scale, so coordinates whose gradient is near zero (BatchNorm's shift-invariant
    /// directions) turn float-rounding differences of the reduction order into lr-sized steps. At the
    /// reference rate 1e-3 the runs drift apart within ~10 steps, while staying statistically alike.
    func testAdamAmplifiesRoundingAtTheReferenceRate() throws {
        let a = runDirectory("lr-np1"), b = runDirectory("lr-np2")
        let ma = try train(ranks: 1, out: a, lr: "1e-3"), mb = try train(ranks: 2, out: b, lr: "1e-3")
        let l0a = ma[0].loss, l0b = mb[0].loss
        XCTAssertEqual(l0a, l0b, accuracy: 1e-5 * l0a, "the first step sees identical parameters")
        XCTAssertLessThan(ma.last!.loss, 0.8 * l0a, "training makes progress")
        // Alike in the reconstruction term; the latent term (a small difference of two latents that
        // move with every update) diverges fastest and is not compared.
        let lastA = ma.last!.terms.reconstruction, lastB = mb.last!.terms.reconstruction
        XCTAssertEqual(lastA, lastB, accuracy: 0.1 * lastA, "both runs train alike")
    }

    func testResumeContinuesBitForBit() throws {
        let whole = runDirectory("whole"), split = runDirectory("split")
        let m40 = try train(ranks: 2, out: whole, steps: 40, lr: "1e-3")
        _ = try train(ranks: 2, out: split, steps: 20, lr: "1e-3")
        let r = try MPILauncher.runUnderMPI(ranks: 2, trainArguments(out: split, steps: 40, lr: "1e-3", extra: ["--resume"]), timeout: 120)
        XCTAssertEqual(r.exitCode, 0, r.summary)
        XCTAssertTrue(r.stderr.contains("resuming at step 20"), r.summary)
        let resumed = try metrics(split)
        XCTAssertEqual(resumed.map { $0.step }, Array(1...40), "the log reads as one run")
        XCTAssertEqual(resumed.map { $0.loss }, m40.map { $0.loss })
        XCTAssertEqual(try parameters(whole, includeOptimizer: true), try parameters(split, includeOptimizer: true),
                       "40 steps in one go equal 20 + 20 resumed, parameters and optimizer state alike")
    }

    func testResumeWithOtherFlagsIsRefused() throws {
        let out = runDirectory("refuse")
        _ = try train(ranks: 1, out: out, steps: 2)
        var args = trainArguments(out: out, steps: 4, extra: ["--resume"])
        args[args.firstIndex(of: "--seed")! + 1] = "8"
        let r = try MPILauncher.runUnderMPI(ranks: 1, args, timeout: 60)
        XCTAssertNotEqual(r.exitCode, 0, r.summary)
        XCTAssertTrue(r.stderr.contains("--seed 7 → 8"), r.summary)
        let config = try JSONDecoder().decode(RunConfiguration.self, from: Data(contentsOf: URL(fileURLWithPath: out + "/config.json")))
        XCTAssertEqual(config.trainer.seed, 7, "a refused resume leaves the run directory as it was")
        XCTAssertEqual(config.trainer.steps, 2)
    }

    /// Resuming with fewer steps than the checkpoint holds is an error naming both numbers (it once
    /// exited 0 having done nothing); with exactly as many it says there is nothing to train.
    func testResumeBeyondTheRequestedStepsIsAnError() throws {
        let out = runDirectory("short")
        let before = try train(ranks: 2, out: out, steps: 4)
        let short = try MPILauncher.runUnderMPI(ranks: 2, trainArguments(out: out, steps: 2, extra: ["--resume"]), timeout: 60)
        XCTAssertNotEqual(short.exitCode, 0, short.summary)
        XCTAssertTrue(short.stderr.contains("is at step 4, beyond this run's 2 steps"), short.summary)
        let same = try MPILauncher.runUnderMPI(ranks: 2, trainArguments(out: out, steps: 4, extra: ["--resume"]), timeout: 60)
        XCTAssertEqual(same.exitCode, 0, same.summary)
        XCTAssertTrue(same.stderr.contains("already at step 4 of 4: nothing to train"), same.summary)
        XCTAssertEqual(try metrics(out).map { $0.loss }, before.map { $0.loss }, "the log is untouched")
    }

    func testFailingRankEndsTheJobQuickly() throws {
        let out = runDirectory("fail")
        let r = try MPILauncher.runUnderMPI(ranks: 4, trainArguments(out: out, steps: 50, extra: ["--debug-fail-rank", "2", "--debug-at-step", "3"]),
                                            timeout: 60)
        XCTAssertFalse(r.timedOut, r.summary)
        XCTAssertNotEqual(r.exitCode, 0, r.summary)
        XCTAssertLessThan(r.seconds, 10, "the job must end within 10 s of the failure\n" + r.summary)
        XCTAssertTrue(r.stderr.contains("rank 2") && r.stderr.contains("injected failure"), r.summary)
    }

    func testNonFiniteGradientStopsEveryRankWithTheStep() throws {
        let out = runDirectory("nan")
        let r = try MPILauncher.runUnderMPI(ranks: 4, trainArguments(out: out, steps: 10, extra: ["--debug-nan-rank", "1", "--debug-at-step", "4"]),
                                            timeout: 60)
        XCTAssertNotEqual(r.exitCode, 0, r.summary)
        for rank in 0..<4 {
            XCTAssertTrue(r.stderr.contains("rank \(rank): step 4: non-finite gradient (on rank 1)"), r.summary)
        }
        XCTAssertLessThan(r.seconds, 10, r.summary)
        // No checkpoint of the poisoned model was written.
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/checkpoint.safetensors"))

        let skip = runDirectory("nan-skip")
        let m = try train(ranks: 4, out: skip, steps: 6, extra: ["--debug-nan-rank", "1", "--debug-at-step", "4", "--on-nan", "skip"])
        XCTAssertEqual(m.map { $0.skipped }, [false, false, false, true, false, false])
        XCTAssertTrue(try parameters(skip).allSatisfy { $0.isFinite })
    }

    func testMismatchedFlagsAcrossRanksAreAClearError() throws {
        let out = runDirectory("mismatch")
        let exe = try MPILauncher.executable(), mpirun = try MPILauncher.mpirun()
        var other = trainArguments(out: out)
        other[other.firstIndex(of: "--seed")! + 1] = "99"
        let argv = [mpirun, "--oversubscribe", "--allow-run-as-root", "-np", "1", exe] + trainArguments(out: out)
            + [":", "-np", "1", exe] + other
        let r = try MPILauncher.run(argv, timeout: 60)
        XCTAssertNotEqual(r.exitCode, 0, r.summary)
        XCTAssertFalse(r.timedOut, r.summary)
        XCTAssertTrue(r.stderr.contains("configuration and dataset differs between ranks"), r.summary)
    }

    /// Each rank keeps only 3 of the 32 trajectories decoded (the loader's own tests bound the cache
    /// bytes); training still sees every batch and ends like the run with a large cache.
    func testTrainingWithACacheMuchSmallerThanTheDataset() throws {
        let small = runDirectory("cache-small"), large = runDirectory("cache-large")
        let a = try train(ranks: 2, out: small, steps: 8, extra: ["--cache-trajectories", "3"])
        let b = try train(ranks: 2, out: large, steps: 8, extra: ["--cache-trajectories", "64"])
        XCTAssertEqual(a.map { $0.loss }, b.map { $0.loss })
    }

    func testIndivisibleGlobalBatchIsAClearError() throws {
        var args = trainArguments(out: runDirectory("indivisible"))
        args[args.firstIndex(of: "--global-batch")! + 1] = "18"
        let r = try MPILauncher.runUnderMPI(ranks: 4, args, timeout: 60)
        XCTAssertNotEqual(r.exitCode, 0, r.summary)
        XCTAssertTrue(r.stderr.contains("does not divide over 4 ranks"), r.summary)
    }

    /// A job killed while a checkpoint write is in progress (its temporary file is seen; the launcher
    /// then kills mpirun's process group within about a millisecond — the ranks may finish that write
    /// before they die, so a stale temporary file is not required) leaves a complete, loadable
    /// checkpoint, and --resume continues from its step.
    func testKillDuringACheckpointWriteLeavesALoadableCheckpoint() throws {
        let out = runDirectory("killed")
        let checkpoint = out + "/checkpoint.safetensors"
        let r = try MPILauncher.runUnderMPI(ranks: 2, trainArguments(out: out, steps: 100_000, extra: ["--checkpoint-every", "1"]),
                                            timeout: 120) {
            FileManager.default.fileExists(atPath: checkpoint)
                && ((try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []).contains { $0.hasPrefix("checkpoint.safetensors.tmp.") }
        }
        XCTAssertTrue(r.timedOut, "the run was meant to be killed\n" + r.summary)
        XCTAssertLessThan(r.seconds, 110, "no second checkpoint write was ever seen in progress\n" + r.summary)
        let (model, meta) = try Autoencoder.load(checkpoint: checkpoint)
        XCTAssertEqual(model.config.height, 32)
        let state = try XCTUnwrap(meta["training_state"])
        XCTAssertNotNil(try? JSONDecoder().decode(TrainingState.self, from: Data(state.utf8)), state)
        // Not the checkpoint's step: the ranks can outlive the kill of mpirun's process group by a
        // few steps and write later checkpoints, so the resume target is taken well beyond it.
        let done = try metrics(out).count + 100
        let resumed = try MPILauncher.runUnderMPI(ranks: 2, trainArguments(out: out, steps: done, extra: ["--resume"]), timeout: 120)
        XCTAssertEqual(resumed.exitCode, 0, resumed.summary)
        XCTAssertTrue(resumed.stderr.contains("resuming at step "), "must resume from the checkpoint\n" + resumed.summary)
    }
}

/// The replicas' loaders, closed once the replicas are done (each thread adds its own).
private final class LoaderList: @unchecked Sendable {
    private let lock = NSLock()
    private var loaders: [BatchLoader] = []
    func add(_ loader: BatchLoader) { lock.lock(); loaders.append(loader); lock.unlock() }
    func closeAll() { lock.lock(); loaders.forEach { $0.close() }; lock.unlock() }
}
