import Core
import Foundation
import TestLauncher
import XCTest

/// `--deterministic` (docs/distributed.md §Deterministic): the same global batch and seed give
/// byte-identical checkpoints at any rank count and BLAS thread count, in both phases, at the
/// reference learning rate — where the default mode's runs drift apart (the negative control).
final class DeterministicModeTests: XCTestCase {
    /// 16 pendulum trajectories × 20 frames (1×32×32): its training split holds 25½ global batches of
    /// 8, so 50 steps cross an epoch boundary and its padded last batch.
    private static let dataset: String = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cpae-mpi-det-\(getpid())").path
        try? FileManager.default.removeItem(atPath: dir)
        let r = try! MPILauncher.runSingleton(["generate", "--system", "pendulum", "--trajectories", "16", "--frames", "20",
                                               "--size", "32", "--channels", "1", "--seed", "3", "--out", dir + "/data", "--quiet"])
        precondition(r.exitCode == 0, r.summary)
        return dir
    }()

    private func trainAE(ranks: Int, threads: Int? = nil, deterministic: Bool = true, unit: Int? = nil, steps: Int = 50,
                         expectFailure: Bool = false) throws -> (checkpoint: String, result: MPILauncher.Result) {
        let out = Self.dataset + "/runs/np\(ranks)-t\(threads ?? 0)-\(deterministic)-\(UUID().uuidString.prefix(6))"
        let args = ["train-ae", "--data", Self.dataset + "/data", "--preset", "small", "--global-batch", "8",
                    "--steps", "\(steps)", "--seed", "7", "--out", out, "--lr-schedule", "constant:1e-3",
                    "--progress-seconds", "1000", "--latent-hold", "0", "--latent-warmup", "0"]
                   + (deterministic ? ["--deterministic"] : []) + (unit.map { ["--deterministic-unit", "\($0)"] } ?? [])
        let r: MPILauncher.Result
        if let threads {
            // One process, its thread budget forced (the launcher clears the variable otherwise).
            r = try MPILauncher.run(["/usr/bin/env", "OPENBLAS_NUM_THREADS=\(threads)", try MPILauncher.executable()] + args,
                                    timeout: 300)
        } else {
            r = try MPILauncher.runUnderMPI(ranks: ranks, args, timeout: 300)
        }
        if !expectFailure { XCTAssertEqual(r.exitCode, 0, r.summary) }
        return (out + "/checkpoint.safetensors", r)
    }

    private func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    /// Phase 1 at lr 1e-3 over 50 steps (the BatchNorm re-estimate at the end included): np 1 on one
    /// and on two threads, np 2, 4 and 8 (oversubscribed) write the same checkpoint bytes.
    func testAutoencoderCheckpointsAreTheSameBytesAtAnyRankAndThreadCount() throws {
        let reference = try bytes(try trainAE(ranks: 1, threads: 1).checkpoint)
        XCTAssertEqual(try bytes(try trainAE(ranks: 1, threads: 2).checkpoint), reference, "1 rank, 2 threads vs 1 thread")
        for ranks in [2, 4, 8] {
            XCTAssertEqual(try bytes(try trainAE(ranks: ranks).checkpoint), reference, "\(ranks) ranks vs 1 rank")
        }
    }

    /// With units of 2 samples (batched GEMMs, fewer folds): the same bytes at np 1 (1 and 2
    /// threads), 2 and 4 — every rank count whose local batch holds whole units; np 8 (one sample a
    /// rank) is refused, naming the flag, instead of silently giving other bytes.
    func testUnitsOfTwoSamplesGiveTheSameBytesWhereverEveryRankHoldsWholeUnits() throws {
        let reference = try bytes(try trainAE(ranks: 1, threads: 1, unit: 2).checkpoint)
        XCTAssertEqual(try bytes(try trainAE(ranks: 1, threads: 2, unit: 2).checkpoint), reference, "1 rank, 2 threads vs 1 thread")
        for ranks in [2, 4] {
            XCTAssertEqual(try bytes(try trainAE(ranks: ranks, unit: 2).checkpoint), reference, "\(ranks) ranks vs 1 rank")
        }
        let refused = try trainAE(ranks: 8, unit: 2, steps: 2, expectFailure: true).result
        XCTAssertNotEqual(refused.exitCode, 0, refused.summary)
        XCTAssertTrue((refused.stdout + refused.stderr).contains("--deterministic-unit 2 must be ≥ 1 and divide the local batch 1"), refused.summary)
    }

    /// The negative control: without --deterministic, np 1 and np 2 differ at this rate (so the test
    /// above could fail), and the deterministic run is not the default one's bytes by accident.
    func testTheDefaultModeDriftsApartAtTheSameRate() throws {
        let one = try SafeTensorsFile.read(try trainAE(ranks: 1, deterministic: false, steps: 20).checkpoint)
        let two = try SafeTensorsFile.read(try trainAE(ranks: 2, deterministic: false, steps: 20).checkpoint)
        let name = "ae.conv_stack1.0.0.weight"
        XCTAssertNotEqual(try one.floats(name), try two.floats(name), "the default mode happened to be rank-count independent")
    }

    /// Phase 2 (the MLP field), 50 steps at its reference rate: np 1 (1 and 2 threads), 2, 4 and 8 give the same
    /// checkpoint bytes.
    func testODECheckpointsAreTheSameBytesAtAnyRankAndThreadCount() throws {
        // One copy of the autoencoder run for every configuration (the latents' path is in the
        // checkpoint's metadata), its ode/ directory cleared before each.
        let run = try LatentRunFixture.fresh("det")
        func train(ranks: Int, threads: Int? = nil, unit: Int? = 1, batch: Int = 16, steps: Int = 50,
                   expectFailure: Bool = false) throws -> [String: Data] {
            try? FileManager.default.removeItem(atPath: run + "/ode")
            let args = LatentRunFixture.trainArguments(run, model: .mlp, steps: steps, lr: "1e-2", batch: batch,
                                                       extra: ["--deterministic"] + (unit.map { ["--deterministic-unit", "\($0)"] } ?? []))
            let r = try threads.map { t in
                try MPILauncher.run(["/usr/bin/env", "OPENBLAS_NUM_THREADS=\(t)", try MPILauncher.executable()] + args, timeout: 300)
            } ?? MPILauncher.runUnderMPI(ranks: ranks, args, timeout: 300)
            if expectFailure {
                XCTAssertNotEqual(r.exitCode, 0, r.summary)
                XCTAssertTrue((r.stdout + r.stderr).contains("the default unit of 3 pairs (global batch 24 in 8 units) does not divide the local batch 8 of 3 ranks; pass --deterministic-unit"), r.summary)
                return [:]
            }
            XCTAssertEqual(r.exitCode, 0, r.summary)
            let dir = LatentRunFixture.directory(run, .mlp)
            let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".safetensors") }
            XCTAssertFalse(files.isEmpty, "no checkpoint in \(dir)")
            return try Dictionary(uniqueKeysWithValues: files.map { ($0, try bytes(dir + "/" + $0)) })
        }
        let reference = try train(ranks: 1, threads: 1)
        XCTAssertEqual(try train(ranks: 1, threads: 2), reference, "1 rank, 2 threads vs 1 thread")
        for ranks in [2, 4, 8] { XCTAssertEqual(try train(ranks: ranks), reference, "\(ranks) ranks vs 1 rank") }
        // Units of 4 pairs (batched GEMMs): the same bytes at np 1 (1 and 2 threads), 2 and 4.
        let units = try train(ranks: 1, threads: 1, unit: 4)
        XCTAssertEqual(try train(ranks: 1, threads: 2, unit: 4), units, "units of 4: 2 threads vs 1")
        for ranks in [2, 4] { XCTAssertEqual(try train(ranks: ranks, unit: 4), units, "units of 4: \(ranks) ranks vs 1 rank") }
        // No unit given: the default cuts a global batch of 24 into 8 units of 3 pairs (recorded in the
        // run's configuration): the same bytes at np 1 (1 and 2 threads), 2 and 4; np 3 is refused.
        let automatic = try train(ranks: 1, threads: 1, unit: nil, batch: 24, steps: 20)
        XCTAssertEqual(try LatentRunFixture.configuration(run, .mlp).trainer.deterministicUnit, 3)
        XCTAssertEqual(try train(ranks: 1, threads: 2, unit: nil, batch: 24, steps: 20), automatic, "default unit: 2 threads vs 1")
        for ranks in [2, 4] {
            XCTAssertEqual(try train(ranks: ranks, unit: nil, batch: 24, steps: 20), automatic, "default unit: \(ranks) ranks vs 1 rank")
        }
        _ = try train(ranks: 3, unit: nil, batch: 24, steps: 2, expectFailure: true)
    }
}
