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
            is left out of the medians (the undisturbed count says how many steps are in them). \
            --transport tcp makes the ranks talk over TCP (mpirun --mca btl tcp,self), as ranks on different \
            nodes do without a fast interconnect; shm (the default) forces shared memory; both runs each. \
            After the runs, each transport's allreduce of 1 float and of the gradient are timed apart and a \
            ring model's latency α and bandwidth B fitted to them. --project 8,64,512 (total rank counts, \
            --ranks-per-node to a node) then projects each phase's step time and efficiency from the measured \
            compute per sample, optimizer time, SyncBN reductions and shared-memory link, with the links between \
            nodes as stated (--links), for strong scaling at --project-global-batch and weak scaling at the \
            measured per-rank batch, and says where bucketing the allreduce to overlap backward would pay \
            (docs/distributed.md §Projection). --measured FILE projects from an earlier --json instead.
            """)

    @OptionGroup var workload: ScalingWorkloadOptions
    @Option(help: "Comma-separated rank counts.") var ranks = "1,2"
    @Option(help: "MPI transport between the ranks: shm (shared memory, Open MPI's vader), tcp (TCP over the host's network stack, what ranks on different nodes use without a fast interconnect) or both.")
    var transport: Transport = .shm
    @Option(name: .customLong("global-batch"), help: "Global batch of the strong-scaling runs (default: 16 for ae, 20000 for ode).")
    var globalBatch: Int?
    @Option(name: .customLong("batch-per-rank"), help: "Per-rank batch of the weak-scaling runs (default: 16 for ae, 20000 for ode).")
    var batchPerRank: Int?
    @Option(help: "Timed steps per run.") var steps = 4
    @Option(help: "Untimed warm-up steps per run.") var warmup = 1
    @Option(help: "Extra arguments for mpirun, space-separated (with the = form when they start with a dash: --mpirun-args='--oversubscribe --bind-to none').") var mpirunArgs = "--oversubscribe"
    @Option(help: "Longest wait for a quiet machine before each run, seconds (0: don't wait; disturbed steps are still left out).")
    var quietWait = 10.0
    @OptionGroup var projection: ScalingProjectionOptions
    @Flag(help: "Print one JSON object ({\"runs\": [...], \"measured\": …, \"projection\": …}).") var json = false

    enum Transport: String, ExpressibleByArgument, CaseIterable {
        case shm, tcp, both

        var transports: [Transport] { self == .both ? [.shm, .tcp] : [self] }

        /// mpirun arguments that force it: Open MPI's ob1 messaging over exactly these byte transfer
        /// layers (`self` for a rank's messages to itself). On one host TCP goes through the kernel's
        /// network stack, so it costs what the software of an inter-node TCP link costs, without a wire.
        var mpirunArguments: [String] {
            switch self {
            case .shm: return ["--mca", "pml", "ob1", "--mca", "btl", "vader,self"]
            case .tcp: return ["--mca", "pml", "ob1", "--mca", "btl", "tcp,self"]
            case .both: return []
            }
        }
    }

    struct Run: Codable {
        var phase: String
        var transport: String
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

    /// What the projection rests on: each phase's costs (from its one-rank run) and each transport's
    /// ring latency and bandwidth (fitted to the allreduce timings of its smallest multi-rank runs).
    struct Measured: Codable {
        var costs: [ScalingProjection.PhaseCost]
        var links: [String: ScalingProjection.Link]
        /// The worker results the above come from, as measured.
        var points: [ScalingWorker.Result]
    }

    struct Projection: Codable {
        var ranks_per_node: Int
        var intra_node: ScalingProjection.Link
        var inter_node: [ScalingProjection.Link]
        var backward_share: Double
        var buckets: Int
        var bucketing_threshold: Double
        var rows: [ScalingProjectionOptions.ProjectedRow]
    }

    /// The whole `--json` output; `--measured` reads it back.
    struct Report: Codable {
        var host: HostInfo
        var model: ModelConfig?
        var latent_model: LatentModelConfig?
        var runs: [Run]
        var measured: Measured
        var projection: Projection?
    }

    /// A launched run is fixed by its phase, rank count, per-rank batch and transport (one rank has no peer).
    private struct RunKey: Hashable { var phase: String; var ranks: Int; var localBatch: Int; var transport: String }

    func validate() throws {
        guard steps >= 1, warmup >= 0 else { throw ValidationError("--steps must be ≥ 1, --warmup ≥ 0") }
        // The projection's node link is fitted to a shared-memory run of 2 or more ranks: say so
        // before measuring anything rather than after.
        if projection.project != nil, projection.measured == nil {
            let multi = ranks.split(separator: ",").contains { (Int($0) ?? 0) >= 2 }
            guard transport != .tcp, multi else {
                throw ValidationError("--project measures the node's shared-memory link from a run of 2 or more ranks: use --transport shm or both, and --ranks with a count ≥ 2 (or --measured FILE)")
            }
        }
    }

    func run() throws {
        var report: Report
        if let file = projection.measured {
            guard projection.project != nil else { throw ValidationError("--measured needs --project (it only feeds the projection)") }
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: file)) } catch {
                throw UserError("--measured \(file): cannot read it (\(error.localizedDescription)); give the file an earlier `bench scaling --json` wrote")
            }
            // Only the measurements are read: an earlier projection (perhaps from another version or
            // other assumptions) is recomputed, not trusted.
            struct Measurements: Decodable {
                var host: HostInfo; var model: ModelConfig?; var latent_model: LatentModelConfig?
                var runs: [Run]; var measured: Measured
            }
            do {
                let m = try JSONDecoder().decode(Measurements.self, from: data)
                report = Report(host: m.host, model: m.model, latent_model: m.latent_model, runs: m.runs, measured: m.measured, projection: nil)
            } catch {
                throw UserError("--measured \(file): not the JSON of `bench scaling --json` (\(error)); rerun it with --json and save its output")
            }
        } else {
            report = try measure()
        }
        if let counts = try projection.rankCounts() {
            guard let intra = report.measured.links["shm"] else {
                throw UserError("the projection needs a shared-memory run at 2 or more ranks to measure the node's link: run with --transport shm (or both) and --ranks including 2")
            }
            var rows: [ScalingProjectionOptions.ProjectedRow] = []
            if !json { print(projection.assumptionsText(intraNode: intra)) }
            for cost in report.measured.costs {
                let these = try projection.rows(cost, intraNode: intra, counts: counts)
                rows += these
                if !json { print(projection.render(cost, rows: these), terminator: "") }
            }
            report.projection = Projection(ranks_per_node: projection.ranksPerNode, intra_node: intra,
                                           inter_node: try projection.networkLinks(), backward_share: projection.backwardShare,
                                           buckets: projection.buckets, bucketing_threshold: projection.bucketingThreshold, rows: rows)
        }
        if json {
            let e = JSONEncoder(); e.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try e.encode(report), as: UTF8.self))
        }
    }

    /// Runs every phase × transport × mode × rank count, prints a line per run (unless --json), and
    /// derives the projection's inputs.
    private func measure() throws -> Report {
        let counts = try ranks.split(separator: ",").map { s -> Int in
            guard let n = Int(s), n >= 1 else { throw ValidationError("--ranks: '\(s)' is not a positive integer") }
            return n
        }
        guard let first = counts.first else { throw ValidationError("--ranks: give at least one rank count") }
        let host = HostInfo.current()
        if !json { print(host.line) }
        var report = Report(host: host, model: nil, latent_model: nil, runs: [],
                            measured: Measured(costs: [], links: [:], points: []))
        var measured: [RunKey: ScalingWorker.Result] = [:]
        for phase in workload.phase.phases {
            let options = workload.only(phase)
            switch try options.workload() {
            case .autoencoder(let config, _): report.model = config
            case .latentODE(let config): report.latent_model = config
            }
            let globalBatch = self.globalBatch ?? phase.defaultBatch
            let batchPerRank = self.batchPerRank ?? phase.defaultBatch
            guard globalBatch >= 1, batchPerRank >= 1 else {
                throw ValidationError("--global-batch and --batch-per-rank must be ≥ 1")
            }
            for n in counts where globalBatch % n != 0 {
                throw UserError("--global-batch \(globalBatch) does not divide over \(n) ranks")
            }
            func result(ranks n: Int, localBatch: Int, transport: Transport) throws -> ScalingWorker.Result {
                let key = RunKey(phase: phase.rawValue, ranks: n, localBatch: localBatch, transport: n == 1 ? "" : transport.rawValue)
                if let r = measured[key] { return r }
                let r = try launch(options, ranks: n, localBatch: localBatch, transport: transport)
                measured[key] = r
                report.measured.points.append(r)
                return r
            }
            for transport in self.transport.transports {
                for mode in ["strong", "weak"] {
                    func local(_ n: Int) -> Int { mode == "strong" ? globalBatch / n : batchPerRank }
                    let base = try result(ranks: first, localBatch: local(first), transport: transport)
                    for n in counts {
                        let r = try result(ranks: n, localBatch: local(n), transport: transport)
                        let efficiency = mode == "strong"
                            ? base.step_seconds * Double(base.ranks) / (Double(n) * r.step_seconds)
                            : r.samples_per_second * Double(base.ranks) / (Double(n) * base.samples_per_second)
                        report.runs.append(Run(phase: r.phase, transport: n == 1 ? "none" : transport.rawValue, mode: mode, ranks: n,
                                               samples_per_second: r.samples_per_second, efficiency: efficiency,
                                               allreduce_share: r.allreduce_share, wait_share: r.wait_share,
                                               step_seconds: r.step_seconds, allreduce_seconds: r.allreduce_seconds,
                                               global_batch: r.global_batch, local_batch: r.local_batch,
                                               steps: r.steps, undisturbed_steps: r.undisturbed_steps))
                        if !json {
                            print(String(format: "%@  %@  %@  np %2d  batch %5d (%5d/rank)  %9.2f samples/s  efficiency %5.1f%%  allreduce %5.2f%% (%.3f ms)  waiting %5.2f%%  undisturbed %d/%d steps",
                                         phase.rawValue as NSString, (n == 1 ? "-  " : transport.rawValue) as NSString,
                                         mode as NSString, n, r.global_batch, r.local_batch,
                                         r.samples_per_second, efficiency * 100, r.allreduce_share * 100, r.allreduce_seconds * 1000,
                                         r.wait_share * 100, r.undisturbed_steps, r.steps))
                        }
                    }
                }
            }
            // Compute per sample from the phase's one-rank run with the most samples per rank
            // (nothing to subtract for communication); else from its smallest multi-rank run.
            let ofPhase = measured.filter { $0.key.phase == phase.rawValue }.map(\.value)
            let ones = ofPhase.filter { $0.ranks == 1 }
            if let costRun = ones.max(by: { $0.local_batch < $1.local_batch })
                ?? ofPhase.min(by: { ($0.ranks, -$0.local_batch) < ($1.ranks, -$1.local_batch) }) {
                report.measured.costs.append(ScalingProjection.PhaseCost(measured: costRun))
            }
        }
        // Each transport's link from the phase with the larger gradient (the better bandwidth
        // measurement) at its smallest multi-rank count; of that phase's runs there (strong and weak),
        // the least disturbed timing of each size — the fastest median.
        for transport in self.transport.transports {
            let runs = measured.filter { $0.key.transport == transport.rawValue && $0.key.ranks > 1 }.map(\.value)
            guard let shape = runs.min(by: { ($0.ranks, -$0.gradient_floats) < ($1.ranks, -$1.gradient_floats) }) else { continue }
            let same = runs.filter { $0.ranks == shape.ranks && $0.gradient_floats == shape.gradient_floats }
            guard let small = same.compactMap(\.allreduce_one_float_seconds).min(),
                  let large = same.compactMap(\.allreduce_gradient_seconds).min() else { continue }
            let name = transport == .shm ? "shared memory" : "TCP on this host"
            let floatBytes = Double(MemoryLayout<Float>.size)
            guard let link = ScalingProjection.fitRing(name: name, ranks: shape.ranks, smallBytes: floatBytes, smallSeconds: small,
                                                       largeBytes: Double(shape.gradient_floats) * floatBytes, largeSeconds: large) else {
                if !json { print("\(name): the gradient-sized allreduce was not slower than the 1-float one (noise); no link fitted") }
                continue
            }
            report.measured.links[transport.rawValue] = link
            if !json {
                print(String(format: "%@ (np %d, %d floats): allreduce of 1 float %.2f µs, of the gradient %.3f ms → ring fit α %.2f µs, B %.2f GB/s",
                             name as NSString, shape.ranks, shape.gradient_floats, small * 1e6, large * 1e3,
                             link.latency_seconds * 1e6, link.bytes_per_second / 1e9))
            }
        }
        // The separate allreduce timings carry no disturbance check of their own; a run whose every
        // step was disturbed says the machine was busy then, and the fit is no better.
        let busy = report.measured.points.filter { $0.undisturbed_steps == 0 }
        if !json && !busy.isEmpty {
            print("note: \(busy.count) of \(report.measured.points.count) runs had no undisturbed step (other processes took the cores): their figures, and a link fitted from them, are unreliable; rerun when the machine is quiet")
        }
        return report
    }

    private func launch(_ options: ScalingWorkloadOptions, ranks n: Int, localBatch: Int, transport: Transport) throws -> ScalingWorker.Result {
        var timer = GuardedTimer()
        timer.maxQuietWait = quietWait
        timer.waitForQuiet()
        let exe = ChildMeasurement.executable
        var args = ["mpirun"] + mpirunArgs.split(separator: " ").map(String.init) + transport.mpirunArguments
        args += ["-np", "\(n)", exe, "bench", "scaling-worker",
                 "--local-batch", "\(localBatch)", "--steps", "\(steps)", "--warmup", "\(warmup)"]
        args += options.arguments
        var env = ProcessInfo.processInfo.environment
        env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"; env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        return try ChildMeasurement.run(ScalingWorker.Result.self, executable: "/usr/bin/env", arguments: args, environment: env,
                                        what: "the \(options.phase.rawValue) \(n)-rank run over \(transport.rawValue)")
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
