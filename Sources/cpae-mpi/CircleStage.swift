import Core
import Distributed
import Foundation

/// The circle ablation's stage for one model (`cpae-mpi run` on the circle system): its
/// initialisations shared out over the ranks — each trains alone, one thread, as the experiment is
/// far too small to split a step — and every restart's result written by rank 0 to RUN/<model>/.
enum CircleStage {
    static let restartsFile = "restarts.json"

    static func run(_ model: ModelVariant, _ c: CircleConfig, directory: String, comm: Communicator) throws {
        BLASThreads.set(1)
        let stopwatch = Stopwatch()
        let results = try comm.shareOut(c.restarts) { k -> CircleExperiment.Result in
            var e = CircleExperiment()
            e.penalty = model.penalty
            e.penaltyWeight = c.penaltyWeight
            e.iterations = c.iterations
            e.learningRate = c.learningRate
            e.seed = c.seed + UInt64(k)
            e.latentIterations = c.latentIterations
            e.trainFrames = c.trainFrames
            e.testFrames = c.testFrames
            let started = Stopwatch()
            let result = try e.run { step, terms in
                guard comm.isRoot, (step - 1) % 5000 == 0 && step > 1 || step == c.iterations else { return }
                let eta = started.seconds / Double(step) * Double(c.iterations - step)
                log(String(format: "circle %@ seed %d: step %d/%d  reconstruction %.3g  penalty %.3g  ETA %.0f s (this restart's autoencoder)",
                           model.rawValue, Int(e.seed), step, c.iterations, terms.reconstruction, terms.penalty, eta))
            }
            if comm.isRoot {
                log(String(format: "circle %@ seed %d: train MSE %.2e, test jump ratio %.2f, VPT(0.01) %.1f%% (%.0f s)", model.rawValue,
                           Int(e.seed), result.train_mse, result.jump_ratio_test, result.vpt?["0.01"] ?? .nan, result.seconds))
            }
            return result
        }
        guard comm.isRoot else { return }
        let kept = CircleReport.kept(results)
        let out = directory + "/" + model.rawValue
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try AtomicFile.write(JSONCoding.encode(results, pretty: true) + Array("\n".utf8), to: out + "/" + restartsFile)
        try NPY.write(NPYArray(shape: [kept.test_latents.count, kept.test_latents.first?.count ?? 0],
                               floats: kept.test_latents.flatMap { $0.map(Float.init) }), to: out + "/test_latents.npy")
        log(String(format: "circle %@: kept seed %d of %d (lowest train MSE %.2e): jump ratio %.2f, VPT(0.01) %.1f%% — %.0f s on %d rank(s)",
                   model.rawValue, Int(kept.seed), results.count, kept.train_mse, kept.jump_ratio_test, kept.vpt?["0.01"] ?? .nan,
                   stopwatch.seconds, comm.size))
    }

    /// Every model's restarts, as the report stage reads them back.
    static func restarts(_ model: ModelVariant, directory: String) throws -> [CircleExperiment.Result] {
        let path = directory + "/" + model.rawValue + "/" + restartsFile
        let file = try FileReader(path: path, ifDamaged: "delete \(path) and the stage's entry in pipeline.json to run it again")
        return try JSONCoding.decode([CircleExperiment.Result].self, from: file.read(count: file.size, at: 0), file: path)
    }

    private static func log(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }
}
