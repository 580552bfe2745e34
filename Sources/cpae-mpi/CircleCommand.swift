import ArgumentParser
import Core
import Foundation

struct CircleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "circle",
        abstract: "The circular-motion ablation: train the circle model with and without the penalty, report latent continuity.",
        discussion: """
            70 training frames of a ball on a circle (48×48), 150 test frames after them (docs/method.md §Data). \
            Reports reconstruction MSE and, on the test frames' latents, the jump ratio max/median ‖z(t+1) − z(t)‖ \
            (≈1–2 when the latents move continuously) and the roughness.
            """)

    @Option(help: "Comma-separated penalties to run: continuity, l2, none.") var penalties = "continuity,none"
    @Option(help: "Adam iterations (full batch).") var iterations = 20_000

    func validate() throws {
        guard iterations >= 1 else { throw ValidationError("--iterations must be ≥ 1") }
        guard restarts >= 1 else { throw ValidationError("--restarts must be ≥ 1") }
    }
    @Option(help: "Seed of the initialisation.") var seed: UInt64 = 0
    @Option(help: "Train this many initialisations (seeds seed…seed+N−1) per penalty and keep the lowest training MSE, as the reference keeps its lowest-loss model: the outcome is bimodal in the initialisation.")
    var restarts = 1
    @Option(name: .customLong("penalty-weight"), help: "Weight of J (the reference uses 10 for this experiment).") var penaltyWeight: Float = 10
    @Option(help: "Directory for result.json and the test latents (.npy), one subdirectory per penalty.") var out: String?
    @Flag(help: "Print one JSON object ({\"runs\": [...]}).") var json = false

    func run() throws {
        BLASThreads.set(1)
        var results: [CircleExperiment.Result] = []
        for name in penalties.split(separator: ",") {
            guard let penalty = WeightPenalty(rawValue: String(name)) else { throw UserError("--penalties: unknown penalty '\(name)'") }
            var best: CircleExperiment.Result?
            for k in 0..<UInt64(max(restarts, 1)) {
                var e = CircleExperiment()
                e.penalty = penalty; e.iterations = iterations; e.seed = seed + k; e.penaltyWeight = penaltyWeight
                let candidate = try e.run { step, terms in
                    if !json { FileHandle.standardError.write("  \(penalty.rawValue) seed \(seed + k): step \(step)  reconstruction \(String(format: "%.3g", terms.reconstruction))  penalty \(String(format: "%.3g", terms.penalty))\n".data(using: .utf8)!) }
                }
                if restarts > 1 && !json {
                    print(String(format: "  seed %d: train MSE %.2e, jump ratio %.2f", candidate.seed, candidate.train_mse, candidate.jump_ratio_test))
                }
                if best == nil || candidate.train_mse < best!.train_mse { best = candidate }
            }
            let r = best!
            results.append(r)
            if let out {
                let dir = out + "/" + penalty.rawValue
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                let flat = r.test_latents.flatMap { $0.map(Float.init) }
                try NPY.write(NPYArray(shape: [r.test_latents.count, r.test_latents.first?.count ?? 0], floats: flat), to: dir + "/test_latents.npy")
                let e = JSONEncoder(); e.outputFormatting = [.prettyPrinted, .sortedKeys]
                try AtomicFile.write(Array(try e.encode(r)), to: dir + "/result.json")
            }
            if !json {
                print(String(format: "%-10@ train MSE %.2e  test MSE %.2e  jump ratio (test) %6.2f  roughness %.3f  (seed %d, %d iterations, %.0f s)",
                             penalty.rawValue as NSString, r.train_mse, r.test_mse, r.jump_ratio_test, r.roughness_test, Int(r.seed), r.iterations, r.seconds))
            }
        }
        if let out {
            try latentFigure(results).write(to: out + "/latents.png")
            if !json { print("wrote \(out)/latents.png") }
        }
        if json {
            struct Report: Codable { var runs: [CircleExperiment.Result] }
            print(String(decoding: try JSONEncoder().encode(Report(runs: results)), as: UTF8.self))
        }
    }

    /// latents.png: each run's latent coordinates along the test frames (one colour per run, one dash
    /// per coordinate) and, for 2-d latents, the path z1 against z0, which closes into a loop when
    /// the latents follow the circle continuously.
    private func latentFigure(_ results: [CircleExperiment.Result]) -> Figure {
        let dimension = results.map { $0.test_latents.first?.count ?? 0 }.min() ?? 0
        var figure = Figure(width: dimension >= 2 ? 1200 : 900, height: 520, columns: dimension >= 2 ? 2 : 1,
                            title: "circle: latents of the \(results.first?.test_latents.count ?? 0) test frames")
        var series = Chart(title: "latents against time", x: Axis("test frame"), y: Axis("latent"))
        var path = Chart(title: "latent path", x: Axis("z0"), y: Axis("z1"))
        let dashes: [Dash] = [.solid, .dashed, .dotted, .dashDot]
        for (i, r) in results.enumerated() {
            let color = PlotColor.palette[i % PlotColor.palette.count]
            let frames = r.test_latents.indices.map(Double.init)
            for k in 0..<dimension {
                series.addLine("\(r.penalty) z\(k)", x: frames, y: r.test_latents.map { $0[k] }, color: color, dash: dashes[k % dashes.count])
            }
            if dimension >= 2 {
                path.add(Series(name: r.penalty, x: r.test_latents.map { $0[0] }, y: r.test_latents.map { $0[1] },
                                color: color, marker: .circle, lineWidth: 1.2, markerSize: 4))
            }
        }
        figure.add(series)
        if dimension >= 2 { figure.add(path) }
        return figure
    }
}
