import ArgumentParser
import Bench
import Core
import Foundation

struct BenchTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Samples/s and peak RSS of the full training step (forward, backward, regularizer, Adam) beside PyTorch's, at 1 and 2 threads.",
        discussion: """
            Runs the `paper` CpAE (3×128×256, K = 12, d = 8) at batch --batch on random data, for the \
            reconstruction objective (one encoder and one decoder pass per sample) and the reference objective \
            (two of each, VPNet, latent terms), and reports the regularizer's share of the step. Each \
            (threads, objective) configuration runs in a child process of its own, so its peak RSS is its own.

            The PyTorch-CPU peer (tools/bench_train_torch.py: the same model, objective, batch and timed steps; \
            no regularizer) times the same configuration in the same run, its steps alternated with ours one by \
            one (each side in a child process of its own, both alive), and the table gives ours / PyTorch: the \
            median of the pairs' ratios, each pair taken seconds apart. Without python3 or torch the peer is \
            skipped with a note, unless --peer asked for it (then that is an error); --no-peer skips it.

            Timings wait for a quiet machine and repeat disturbed samples (medians); the host line (CPU, \
            AVX-512, OpenBLAS kernels) says what the figures depend on. On a host shared with other work a \
            single round's ratios still swing by ±10%: --rounds R measures every configuration R times, round \
            after round, and ends with each ratio's median and range over the rounds (and, with two or more \
            thread counts, each count's speed-up over the smallest, round by round).

            With two or more thread counts, each round also measures the speed-up with the thread counts \
            alternated step by step on one model in one process (--samples cycles, each one step at every \
            count): the separate runs above sit minutes apart and the host's load drifts in between, while \
            an alternated pair is taken seconds apart. The summary pools every cycle of every round.

            With --deterministic, each round also measures the deterministic mode's cost at every thread \
            count, objective and unit with the modes alternated the same way (each cycle one default-mode \
            step and one deterministic step on one model), beside the cost from the separate runs.
            """)

    @OptionGroup var model: ModelOptions
    @Option(help: "Samples per step.") var batch = 16
    @Option(help: "Comma-separated thread counts (the layers' workers; OpenBLAS runs single-threaded inside them).") var threads = "1,2"
    @Option(help: "Comma-separated objectives (reconstruction, reference).") var objectives = "reconstruction,reference"
    @Option(help: "Timed samples per measurement (median reported), ours and PyTorch's.") var samples = 3
    @Option(help: "Measure every configuration this many times, round after round, and summarise the ratios' medians and ranges.")
    var rounds = 1
    @Flag(inversion: .prefixedNo,
          help: "Time the PyTorch peer too (default: when python3 and torch are there). --peer makes a missing peer an error.")
    var peer: Bool?
    @Option(help: "Path of bench_train_torch.py (implies --peer). Default: tools/ below the current directory or the executable's repository.")
    var peerScript: String?
    @Option(help: "Python interpreter for the peer.") var python = "python3"
    @Flag(help: "Also time every configuration in the deterministic mode (train-ae --deterministic) and report its cost: its step time over the default mode's.")
    var deterministic = false
    @Option(name: .customLong("deterministic-units"), help: "With --deterministic: comma-separated units to time (train-ae --deterministic-unit; each must divide --batch).")
    var deterministicUnits = "1"
    @Flag(help: "Print one JSON object ({\"host\", \"model\", \"runs\", \"summary\", \"peer\"}) instead of a table.") var json = false
    /// Measure the one configuration in this process and print its run as one JSON line: how the
    /// parent gets each configuration's figures and peak RSS from a child of its own.
    @Flag(help: .hidden) var single = false
    /// With --single and several --threads: alternate the thread counts step by step on one model
    /// and print the `ThreadScaling` (how the parent measures speed-ups under the same load). With
    /// --single --deterministic and one thread count: alternate the default and the deterministic
    /// mode and print the `DeterministicCost`.
    @Flag(help: .hidden) var alternate = false
    /// With --single: time steps one at a time on stdin's commands (`StepBenchmark.serve`), so the
    /// parent can alternate them with the PyTorch peer's.
    @Flag(help: .hidden) var serve = false

    func validate() throws {
        guard batch >= 2 else { throw ValidationError("--batch must be ≥ 2 (BatchNorm on the innermost 1×1 maps needs two samples)") }
        guard samples >= 1 else { throw ValidationError("--samples must be ≥ 1") }
        guard rounds >= 1 else { throw ValidationError("--rounds must be ≥ 1") }
        guard !single || rounds == 1 else { throw ValidationError("--single measures one round") }
        guard !alternate || single else { throw ValidationError("--alternate is the --single child's mode") }
        guard !serve || (single && !alternate && !deterministic) else { throw ValidationError("--serve is the --single child's mode (default mode only)") }
    }

    func run() throws {
        var config = try model.config()
        if model.latent == nil && model.preset == .paper { config.latent = 8 }
        let threadCounts = try threads.split(separator: ",").map { s -> Int in
            guard let n = Int(s), n >= 1 else { throw ValidationError("--threads: '\(s)' is not a positive integer") }
            return n
        }
        let objs = try objectives.split(separator: ",").map { s -> Objective in
            guard let o = Objective(rawValue: String(s)) else { throw ValidationError("--objectives: unknown objective '\(s)'") }
            return o
        }
        let units = try deterministicUnits.split(separator: ",").map { s -> Int in
            guard let u = Int(s), u >= 1, batch % u == 0 else {
                throw ValidationError("--deterministic-units: '\(s)' is not a positive divisor of --batch \(batch)")
            }
            return u
        }
        if single && alternate {
            guard objs.count == 1 else { throw ValidationError("--alternate measures one objective") }
            if deterministic {
                guard threadCounts.count == 1, units.count == 1 else {
                    throw ValidationError("--alternate --deterministic measures one thread count and one unit")
                }
                try measureModesAlternatingHere(config: config, threads: threadCounts[0], objective: objs[0], unit: units[0])
            } else {
                try measureAlternatingHere(config: config, threads: threadCounts, objective: objs[0])
            }
            return
        }
        if single {
            guard threadCounts.count == 1, objs.count == 1 else { throw ValidationError("--single measures one thread count and one objective") }
            if serve {
                try serveHere(config: config, threads: threadCounts[0], objective: objs[0])
                return
            }
            guard units.count == 1 else { throw ValidationError("--single measures one deterministic unit") }
            try measureHere(config: config, threads: threadCounts[0], objective: objs[0], deterministic: deterministic, unit: units[0])
            return
        }

        let host = HostInfo.current()
        let explicitPeer = peer == true || peerScript != nil
        var torch: (peer: TorchTrainPeer, version: TorchTrainPeer.Version)?
        var peerProblem: String?
        if peer != false {
            do { torch = try preparePeer(config: config) } catch {
                if explicitPeer { throw UserError("--peer: \(error)") }
                peerProblem = "PyTorch peer skipped: \(error)"
            }
        }
        if !json {
            print(host.line)
            print("model \(config.architecture.rawValue) \(config.inputShape.map(String.init).joined(separator: "×")), K = \(config.kernel), batch \(batch)")
            if let torch {
                print("peer: PyTorch \(torch.version.torch) CPU (\(torch.version.cpu_capability) kernels), \(torch.peer.script); \(TorchTrainPeer.note)")
            }
            if let peerProblem { print(peerProblem) }
            print("threads  objective        samples/s  PyTorch/s  ours/PyTorch  RSS MB  PyTorch RSS MB   step ms  GFLOP/s  regularizer")
        }

        var runs: [StepBenchmark.Run] = []
        var scalings: [StepBenchmark.ThreadScaling] = []
        var costs: [StepBenchmark.DeterministicCost] = []
        var peerRuns: [TorchTrainPeer.Run] = []
        var peerFailure: Error?
        // Ours then the peer's, configuration by configuration, so a change in the machine's load
        // between configurations hits both sides of a ratio alike.
        for round in 1...rounds {
            if rounds > 1 && !json { print("round \(round) of \(rounds)") }
            for t in threadCounts {
                for o in objs {
                    var r: StepBenchmark.Run
                    var theirs: TorchTrainPeer.Run?
                    if let torch, peerFailure == nil {
                        do {
                            (r, theirs) = try measurePaired(threads: t, objective: o, peer: torch.peer)
                        } catch let error as TorchTrainPeer.Failure {
                            peerFailure = error   // ours go on; the peer is not retried
                            FileHandle.standardError.write(Data("PyTorch peer failed, continuing without it: \(error)\n".utf8))
                            r = try measureInChild(threads: t, objective: o)
                        }
                    } else {
                        r = try measureInChild(threads: t, objective: o)
                    }
                    r.round = rounds > 1 ? round : nil
                    if var run = theirs {
                        run.round = r.round
                        peerRuns.append(run)
                    }
                    runs.append(r)
                    if !json { printRow(r, theirs) }
                    if deterministic {
                        for unit in units {
                            var exact = try measureInChild(threads: t, objective: o, deterministic: true, unit: unit)
                            exact.deterministic_cost = exact.step_seconds / r.step_seconds - 1
                            exact.round = r.round
                            runs.append(exact)
                            if !json { printRow(exact, nil) }
                            var cost = try measureModesAlternatingInChild(threads: t, objective: o, unit: unit)
                            cost.round = r.round
                            costs.append(cost)
                            if !json { printAlternated(cost) }
                        }
                    }
                }
            }
            // The speed-up once more with the thread counts alternated step by step in one process:
            // the runs above sit minutes apart, and the host's other guests come and go in between.
            if threadCounts.count > 1 {
                for o in objs {
                    var a = try measureAlternatingInChild(threads: threadCounts, objective: o)
                    a.round = rounds > 1 ? round : nil
                    scalings.append(a)
                    if !json { printAlternated(a) }
                }
            }
        }
        var summary = StepRoundSummary(runs: runs)
        summary.addAlternated(scalings)
        summary.addAlternated(costs)
        if !json { printSummary(summary) }
        if !json, let ours = runs.first {
            // Most of PyTorch's RSS is its libraries; say so, or the RSS columns read as working memory.
            let theirs = peerRuns.first.map { String(format: ", PyTorch's %.0f MB after import torch", $0.baseline_rss_mb) } ?? ""
            print(String(format: "peak RSS includes runtime and libraries: ours %.0f MB before the model", ours.baseline_rss_mb) + theirs)
        }

        if json {
            struct Peer: Codable {
                var torch: String; var cpu_capability: String; var script: String; var note: String
                var runs: [TorchTrainPeer.Run]; var error: String?
            }
            struct Report: Codable {
                var host: HostInfo; var model: ModelConfig; var runs: [StepBenchmark.Run]
                var alternated: [StepBenchmark.ThreadScaling]
                var alternated_deterministic: [StepBenchmark.DeterministicCost]
                var summary: StepRoundSummary; var peer: Peer?; var peer_skipped: String?
            }
            let peerReport = torch.map {
                Peer(torch: $0.version.torch, cpu_capability: $0.version.cpu_capability, script: $0.peer.script,
                     note: TorchTrainPeer.note, runs: peerRuns, error: peerFailure.map { "\($0)" })
            }
            let e = JSONEncoder()
            e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try e.encode(Report(host: host, model: config, runs: runs, alternated: scalings,
                                                                alternated_deterministic: costs, summary: summary, peer: peerReport, peer_skipped: peerProblem)),
                         as: UTF8.self))
        }
        if let peerFailure, explicitPeer { throw UserError("--peer: \(peerFailure)") }
    }

    /// The peer at the resolved script, checked (python, torch, a model it can build) before any timing.
    private func preparePeer(config: ModelConfig) throws -> (peer: TorchTrainPeer, version: TorchTrainPeer.Version) {
        let script: String
        if let peerScript {
            guard FileManager.default.fileExists(atPath: peerScript) else {
                throw TorchTrainPeer.Failure.unavailable("--peer-script \(peerScript) not found")
            }
            script = peerScript
        } else {
            guard let found = TorchTrainPeer.defaultScript() else {
                throw TorchTrainPeer.Failure.unavailable("tools/bench_train_torch.py not found below the current directory or the executable's repository (pass --peer-script)")
            }
            script = found
        }
        let p = TorchTrainPeer(python: python, script: script, model: config, batch: batch)
        return (p, try p.check())
    }

    /// The --single child's work: one run, its peak RSS that of this process, one JSON line.
    private func measureHere(config: ModelConfig, threads: Int, objective: Objective, deterministic: Bool, unit: Int) throws {
        var bench = stepBenchmark(config: config)
        bench.deterministic = deterministic
        bench.deterministicUnit = unit
        let r = try bench.run(threads: threads, objective: objective)
        print(String(decoding: try JSONEncoder().encode(r), as: UTF8.self))
    }

    /// The --single --alternate child's work: one `ThreadScaling`, one JSON line.
    private func measureAlternatingHere(config: ModelConfig, threads: [Int], objective: Objective) throws {
        let r = try stepBenchmark(config: config).runAlternating(threads: threads, objective: objective)
        print(String(decoding: try JSONEncoder().encode(r), as: UTF8.self))
    }

    /// The --single --alternate --deterministic child's work: one `DeterministicCost`, one JSON line.
    private func measureModesAlternatingHere(config: ModelConfig, threads: Int, objective: Objective, unit: Int) throws {
        var bench = stepBenchmark(config: config)
        bench.deterministicUnit = unit
        let r = try bench.runAlternatingModes(threads: threads, objective: objective)
        print(String(decoding: try JSONEncoder().encode(r), as: UTF8.self))
    }

    /// The children's benchmark: --samples guarded steps after one warm-up, in the chosen algorithm.
    private func stepBenchmark(config: ModelConfig) -> StepBenchmark {
        var timer = GuardedTimer()
        timer.samples = samples
        timer.minSampleSeconds = 0   // one step (≥ 0.1 s at the paper size) already resolves /proc/stat's ticks
        timer.warmups = 1
        var bench = StepBenchmark(config: config, batch: batch, timer: timer)
        bench.algorithm = model.convAlgorithm
        return bench
    }

    /// Ours and the PyTorch peer's steps for one configuration, timed alternately: both served
    /// children (`StepBenchmark.serve`, the script's --serve) warm up, then each cycle times one step
    /// of each, the first of the pair alternating, so every ratio compares timings seconds apart
    /// (children run one after the other sat up to a minute apart, and this host's load moves within
    /// that: docs/method.md §Threads). `ratio` is the median of the pairs' ratios.
    private func measurePaired(threads: Int, objective: Objective, peer: TorchTrainPeer) throws -> (StepBenchmark.Run, TorchTrainPeer.Run) {
        struct Ready: Decodable { var ready: Bool }
        let label = "\(threads) thread(s), \(objective.rawValue)"
        let ours = try ServedChild(executable: ChildMeasurement.executable,
                                   arguments: childArguments(threads: [threads], objective: objective) + ["--serve"],
                                   what: "our served step at \(label)")
        _ = try ours.read(Ready.self)
        // The peer's errors are `TorchTrainPeer.Failure` (the run goes on without it); ours end the run.
        func peerSide<T>(_ body: () throws -> T) throws -> T {
            do { return try body() } catch { throw TorchTrainPeer.Failure.failed("\(error)") }
        }
        let theirs = try peerSide {
            try ServedChild(executable: "/usr/bin/env", arguments: peer.serveArguments(threads: threads, objective: objective),
                            what: "the PyTorch peer at \(label)")
        }
        _ = try peerSide { try theirs.read(Ready.self) }
        var pairs: [Double] = []
        for k in 0..<samples {
            // Who goes first alternates, so neither side always runs right after the other.
            let mine: GuardedTimer.Sample, peers: GuardedTimer.Sample
            if k % 2 == 0 {
                mine = try ours.ask("step", GuardedTimer.Sample.self)
                peers = try peerSide { try theirs.ask("step", GuardedTimer.Sample.self) }
            } else {
                peers = try peerSide { try theirs.ask("step", GuardedTimer.Sample.self) }
                mine = try ours.ask("step", GuardedTimer.Sample.self)
            }
            pairs.append(peers.seconds / mine.seconds)
        }
        var run = try ours.ask("end", StepBenchmark.Run.self)
        try ours.finish()
        let peerRun = try peerSide { try theirs.ask("end", TorchTrainPeer.Run.self) }
        try peerSide { try theirs.finish() }
        run.pair_ratios = pairs
        run.ratio = median(pairs)
        return (run, peerRun)
    }

    /// The --single --serve child's work: `StepBenchmark.serve` on stdin's commands, answers on stdout.
    private func serveHere(config: ModelConfig, threads: Int, objective: Objective) throws {
        try stepBenchmark(config: config).serve(threads: threads, objective: objective, next: { readLine() }) { answer in
            FileHandle.standardOutput.write(answer + Data("\n".utf8))
        }
    }

    /// Runs this executable with --single for one configuration; its stderr passes through.
    private func measureInChild(threads: Int, objective: Objective, deterministic: Bool = false, unit: Int = 1) throws -> StepBenchmark.Run {
        try ChildMeasurement.run(StepBenchmark.Run.self, executable: ChildMeasurement.executable,
                                 arguments: childArguments(threads: [threads], objective: objective)
                                     + (deterministic ? ["--deterministic", "--deterministic-units", "\(unit)"] : []),
                                 what: "the measurement at \(threads) thread(s), \(objective.rawValue)")
    }

    /// Runs this executable with --single --alternate for the thread counts `threads`.
    private func measureAlternatingInChild(threads: [Int], objective: Objective) throws -> StepBenchmark.ThreadScaling {
        try ChildMeasurement.run(StepBenchmark.ThreadScaling.self, executable: ChildMeasurement.executable,
                                 arguments: childArguments(threads: threads, objective: objective) + ["--alternate"],
                                 what: "the alternated measurement at \(threads.map(String.init).joined(separator: ",")) threads, \(objective.rawValue)")
    }

    /// Runs this executable with --single --alternate --deterministic for one thread count and unit.
    private func measureModesAlternatingInChild(threads: Int, objective: Objective, unit: Int) throws -> StepBenchmark.DeterministicCost {
        try ChildMeasurement.run(StepBenchmark.DeterministicCost.self, executable: ChildMeasurement.executable,
                                 arguments: childArguments(threads: [threads], objective: objective)
                                     + ["--alternate", "--deterministic", "--deterministic-units", "\(unit)"],
                                 what: "the alternated deterministic measurement at \(threads) thread(s), \(objective.rawValue), unit \(unit)")
    }

    /// A --single child's arguments: this run's model, batch and samples at `threads` and `objective`.
    private func childArguments(threads: [Int], objective: Objective) -> [String] {
        ["bench", "train", "--single", "--threads", threads.map(String.init).joined(separator: ","),
         "--objectives", objective.rawValue, "--batch", "\(batch)", "--samples", "\(samples)"] + model.arguments
    }

    private func printAlternated(_ a: StepBenchmark.ThreadScaling) {
        for (i, t) in a.threads.enumerated().dropFirst() {
            let ups = a.speedups[i]
            let host = a.host_speedups.map { h in
                String(format: "; the host's own %.2f× (%.2f … %.2f×)", median(h[i]), h[i].min() ?? .nan, h[i].max() ?? .nan)
            } ?? ""
            print("  alternated step by step, \(a.objective): \(t) threads over \(a.threads[0]) "
                  + String(format: "%.2f× (median of %d cycles, %.2f … %.2f×)", median(ups), ups.count, ups.min() ?? .nan, ups.max() ?? .nan)
                  + host + (a.clean_cycles < a.cycles ? "  (machine busy in \(a.cycles - a.clean_cycles))" : ""))
        }
    }

    private func printAlternated(_ c: StepBenchmark.DeterministicCost) {
        print("  alternated step by step, \(c.objective) det/\(c.deterministic_unit) at \(c.threads) thread(s): deterministic "
              + String(format: "%+.1f%% step time (median of %d cycles, %+.1f … %+.1f%%)", median(c.costs) * 100, c.costs.count,
                       (c.costs.min() ?? .nan) * 100, (c.costs.max() ?? .nan) * 100)
              + (c.clean_cycles < c.cycles ? "  (machine busy in \(c.cycles - c.clean_cycles))" : ""))
    }

    /// The speed-ups, and with several rounds every figure's median and range over them.
    private func printSummary(_ s: StepRoundSummary) {
        func label(_ objective: String, _ unit: Int?) -> String { unit.map { "\(objective) det/\($0)" } ?? objective }
        func spread(_ x: StepRoundSummary.Spread, _ format: String, scale: Double = 1) -> String {
            String(format: format, x.median * scale) + (s.rounds > 1 ? " (" + String(format: format, x.min * scale) + " … "
                + String(format: format, x.max * scale) + ")" : "")
        }
        if s.rounds > 1 {
            print("median over \(s.rounds) rounds (range):")
            for c in s.configurations {
                var line = "  \(c.threads) thread(s), \(label(c.objective, c.deterministic_unit)): "
                    + spread(c.samples_per_second, "%.2f") + " samples/s"
                if let r = c.ratio { line += ", ours/PyTorch " + spread(r, "%.2f×") }
                if let d = c.deterministic_cost { line += ", deterministic " + spread(d, "%+.0f%%", scale: 100) + " step time" }
                print(line)
            }
        }
        for u in s.speedups {
            print("\(u.threads) threads over \(u.over_threads), \(label(u.objective, u.deterministic_unit)), runs round by round: " + spread(u.speedup, "%.2f×"))
        }
        for c in s.alternated_deterministic_costs ?? [] {
            print("deterministic/\(c.deterministic_unit) at \(c.threads) thread(s), \(c.objective), alternated step by step: "
                  + String(format: "%+.1f%% (%+.1f … %+.1f%%) step time over %d cycles", c.cost.median * 100, c.cost.min * 100,
                           c.cost.max * 100, c.cycles))
        }
        for u in s.alternated_speedups ?? [] {
            print("\(u.threads) threads over \(u.over_threads), \(u.objective), alternated step by step: "
                  + String(format: "%.2f× (%.2f … %.2f×) over %d cycles", u.speedup.median, u.speedup.min, u.speedup.max, u.cycles))
            if let h = u.host_speedup, let o = u.of_host {
                print("  the host's own \(u.threads) threads over \(u.over_threads) in the same cycles (independent sgemms): "
                      + String(format: "%.2f× (%.2f … %.2f×); the step's over the host's, cycle by cycle: %.2f (%.2f … %.2f)",
                               h.median, h.min, h.max, o.median, o.min, o.max))
            }
        }
    }

    private func printRow(_ r: StepBenchmark.Run, _ theirs: TorchTrainPeer.Run?) {
        // Padding in Swift: String(format:)'s %-15@ does not pad on Linux Foundation.
        func pad(_ s: String, _ n: Int, left: Bool = false) -> String {
            let fill = String(repeating: " ", count: max(0, n - s.count))
            return left ? s + fill : fill + s
        }
        let peerText = theirs.map { String(format: "%9.2f  %11.2f×  %6.0f  %14.0f", $0.samples_per_second, r.ratio!, r.peak_rss_mb, $0.peak_rss_mb) }
            ?? pad("—", 9) + "  " + pad("—", 12) + String(format: "  %6.0f  ", r.peak_rss_mb) + pad("—", 14)
        let busy = r.clean_samples < r.samples || (theirs.map { $0.clean_samples < $0.samples } ?? false)
        let label = r.deterministic == true ? "\(r.objective) det/\(r.deterministic_unit ?? 1)" : r.objective
        let cost = r.deterministic_cost.map { String(format: "  deterministic: %+.0f%% step time", $0 * 100) } ?? ""
        print(String(format: "%7d  ", r.threads) + pad(label, 15, left: true) + String(format: "  %9.2f  ", r.samples_per_second) + peerText
              + String(format: "  %8.1f  %7.1f  %.2f%% (%.2f ms)", r.step_seconds * 1000, r.gflops, r.regularizer_share * 100, r.regularizer_seconds * 1000)
              + (busy ? "  (machine busy)" : "") + cost)
    }
}
