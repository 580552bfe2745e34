import ArgumentParser
import Bench
import Foundation

/// `bench scaling --project`: what the projection assumes, and its table (docs/distributed.md §Projection).
struct ScalingProjectionOptions: ParsableArguments {
    @Option(help: "Project the step to these total rank counts (comma-separated, e.g. 8,64,512), placed --ranks-per-node to a node.")
    var project: String?

    @Option(name: .customLong("ranks-per-node"), help: "Ranks on one node in the projection: up to this many ranks talk over the measured shared memory, beyond it over the stated links.")
    var ranksPerNode = 8

    @Option(help: "Links between nodes, comma-separated GBITS:MICROSECONDS (nominal bandwidth in Gb/s : per-message latency in µs).")
    var links = "10:25,100:2"

    @Option(name: .customLong("project-global-batch"), help: "Global batch of the projected strong scaling (default: 512 for ae, the paper preset's; 20000 for ode).")
    var projectGlobalBatch: Int?

    @Option(name: .customLong("backward-share"), help: "Share of the compute in backward, which bucketing could hide the allreduce behind.")
    var backwardShare = 2.0 / 3

    @Option(help: "Buckets a bucketed allreduce would use.") var buckets = 4

    @Option(name: .customLong("bucketing-threshold"), help: "Bucketing pays when it saves at least this share of the step.")
    var bucketingThreshold = 0.05

    @Option(help: "Project from this earlier `bench scaling --json` output instead of measuring now.")
    var measured: String?

    func rankCounts() throws -> [Int]? {
        guard let project else { return nil }
        let counts = try project.split(separator: ",").map { s -> Int in
            guard let n = Int(s.trimmingCharacters(in: .whitespaces)), n >= 1 else {
                throw ValidationError("--project: '\(s)' is not a positive rank count")
            }
            return n
        }
        guard !counts.isEmpty else { throw ValidationError("--project: give at least one rank count") }
        return counts
    }

    func networkLinks() throws -> [ScalingProjection.Link] {
        try links.split(separator: ",").map { spec in
            let parts = spec.split(separator: ":")
            guard parts.count == 2, let gbit = Double(parts[0]), let micro = Double(parts[1]), gbit > 0, micro >= 0 else {
                throw ValidationError("--links: '\(spec)' is not GBITS:MICROSECONDS (e.g. 10:25 for 10 Gb/s with 25 µs per message)")
            }
            return .network(gigabitsPerSecond: gbit, latencyMicroseconds: micro)
        }
    }

    func validate() throws {
        _ = try rankCounts(); _ = try networkLinks()
        guard ranksPerNode >= 1, buckets >= 1 else { throw ValidationError("--ranks-per-node and --buckets must be ≥ 1") }
        guard (0...1).contains(backwardShare) else { throw ValidationError("--backward-share must lie in 0…1 (got \(backwardShare))") }
        if let g = projectGlobalBatch, g < 1 { throw ValidationError("--project-global-batch must be ≥ 1") }
    }

    /// The projection's global batch for a phase.
    func globalBatch(_ phase: String) -> Int { projectGlobalBatch ?? (phase == "ode" ? 20_000 : 512) }

    /// The projected table of one phase: strong scaling at the global batch, then weak scaling at the
    /// measured per-rank batch; each rank count on one node once, beyond one node once per link.
    func rows(_ cost: ScalingProjection.PhaseCost, intraNode: ScalingProjection.Link, counts: [Int]) throws -> [ProjectedRow] {
        var rows: [ProjectedRow] = []
        let scalings: [(String, ScalingProjection.Scaling)] = [
            ("strong", .strong(globalBatch: globalBatch(cost.phase))), ("weak", .weak(localBatch: cost.measured_local_batch)),
        ]
        for (mode, scaling) in scalings {
            for p in counts {
                let candidates = p <= ranksPerNode ? [intraNode] : try networkLinks()
                for link in candidates {
                    let a = ScalingProjection.Assumptions(ranksPerNode: ranksPerNode, intraNode: intraNode, interNode: link,
                                                          backwardShare: backwardShare, buckets: buckets,
                                                          bucketingThreshold: bucketingThreshold)
                    guard let step = ScalingProjection.step(cost, ranks: p, scaling: scaling, assumptions: a) else { continue }
                    rows.append(ProjectedRow(phase: cost.phase, mode: mode, step: step))
                }
            }
        }
        return rows
    }

    struct ProjectedRow: Codable {
        var phase: String
        var mode: String
        var step: ScalingProjection.Step
    }

    /// What the table rests on, in words.
    func assumptionsText(intraNode: ScalingProjection.Link) -> String {
        """
        projection: ring allreduce 2(p−1)/p·bytes/B + 2(p−1)·α for the gradient (in brackets: a two-level \
        allreduce, ring on each node + ring over the nodes, for comparison); SyncBN sums by recursive doubling \
        (⌈log₂p⌉ rounds of α + bytes/B); \(ranksPerNode) ranks per node; on a node the measured \(intraNode.name) \
        (α \(String(format: "%.1f", intraNode.latency_seconds * 1e6)) µs, B \(String(format: "%.2f", intraNode.bytes_per_second / 1e9)) GB/s), \
        between nodes the stated links at nominal rate; compute per sample constant (as measured); backward \
        \(String(format: "%.0f", backwardShare * 100))% of compute; bucketing = \(buckets) buckets overlapping backward, \
        "pays" when it saves ≥ \(String(format: "%.0f", bucketingThreshold * 100))% of the step (docs/distributed.md §Projection)
        """
    }

    private func bucketingVerdict(_ s: ScalingProjection.Step) -> String {
        let share = s.bucketing_saves_seconds / s.step_seconds * 100
        if s.bucketing_pays { return String(format: "pays: saves %.2f ms (%.1f%%)", s.bucketing_saves_seconds * 1000, share) }
        if s.bucketing_saves_seconds >= 0 { return String(format: "no: saves %.2f ms (%.1f%%)", s.bucketing_saves_seconds * 1000, share) }
        return String(format: "no: costs %.2f ms (latency ×%d)", -s.bucketing_saves_seconds * 1000, buckets)
    }

    func render(_ cost: ScalingProjection.PhaseCost, rows: [ProjectedRow]) -> String {
        var out = String(format: "phase %@: %d-float gradient, %d SyncBN reductions/step; measured at %d samples/rank: compute %.3f ms/sample, Adam %.2f ms/step\n",
                         cost.phase as NSString, cost.gradient_floats, cost.small_reduction_bytes.count,
                         cost.measured_local_batch, cost.compute_seconds_per_sample * 1000, cost.fixed_seconds_per_step * 1000)
        for mode in ["strong", "weak"] {
            let these = rows.filter { $0.mode == mode }
            guard let first = these.first else { continue }
            out += mode == "strong" ? "  strong scaling, global batch \(first.step.global_batch)\n"
                                    : "  weak scaling, \(first.step.local_batch) samples per rank\n"
            out += "    ranks nodes  link               batch/rank   step ms  allreduce ms (2-level)  SyncBN ms  comm %  efficiency  bucketing (\(buckets))\n"
            for r in these {
                let s = r.step
                out += String(format: "    %5d %5d  %-18@ %10d %9.2f %12.3f%@ (%7.3f) %10.3f %6.1f%% %10.1f%%  %@\n",
                              s.ranks, s.nodes, s.link as NSString, s.local_batch, s.step_seconds * 1000,
                              s.gradient_allreduce_seconds * 1000, (s.ring_limited_by == s.link ? " " : "*") as NSString,
                              s.two_level_allreduce_seconds * 1000,
                              s.small_reductions_seconds * 1000,
                              s.communication_share * 100, s.efficiency * 100,
                              bucketingVerdict(s) as NSString)
            }
        }
        if rows.contains(where: { $0.step.ring_limited_by != $0.step.link }) {
            out += "  * the ring is paced by the node's shared memory, slower here than that link\n"
        }
        return out
    }
}
