import Foundation

/// `cpae-mpi bench scaling --project`: the step time a data-parallel run would take at rank counts
/// this machine cannot host, from costs measured here. Pure functions; docs/distributed.md
/// §Projection states the model and its assumptions.
///
/// The model, per step of one phase at p ranks holding b samples each (the slowest rank's count):
///
///     T(p) = fixed + c·b + ring(gradient bytes, p) + Σ small reductions(p)
///
/// - `c`: measured compute seconds per sample (the np 1 step minus the optimizer, over its batch);
/// - `fixed`: measured optimizer (Adam) seconds per step, which no rank count shrinks;
/// - ring allreduce of the flat gradient: 2(p−1)/p · bytes / B + 2(p−1) · α, where (α, B) is the
///   intra-node link while all p ranks fit on one node and otherwise the slower of the intra- and
///   inter-node links (a ring laid over nodes has one off-node edge per node, and every one of its
///   2(p−1) steps waits for the slowest edge);
/// - the small reductions inside forward and backward (synchronized BatchNorm's per-channel sums):
///   latency-bound, recursive doubling, ⌈log₂ p⌉ rounds of α + bytes/B, the first ⌈log₂ ranksPerNode⌉
///   of them within a node.
public enum ScalingProjection {
    /// A link between two ranks: per-message latency α and bandwidth B.
    public struct Link: Codable, Sendable, Equatable {
        public var name: String
        public var latency_seconds: Double
        public var bytes_per_second: Double

        public init(name: String, latencySeconds: Double, bytesPerSecond: Double) {
            self.name = name; latency_seconds = latencySeconds; bytes_per_second = bytesPerSecond
        }

        /// A network link at its nominal line rate (no protocol overhead: optimistic).
        public static func network(gigabitsPerSecond: Double, latencyMicroseconds: Double) -> Link {
            Link(name: "\(formatNumber(gigabitsPerSecond)) Gb/s, \(formatNumber(latencyMicroseconds)) µs",
                 latencySeconds: latencyMicroseconds * 1e-6, bytesPerSecond: gigabitsPerSecond * 1e9 / 8)
        }
    }

    /// What one phase's step costs on one rank, measured (`bench scaling`).
    public struct PhaseCost: Codable, Sendable, Equatable {
        public var phase: String
        /// Compute of forward + backward per sample (optimizer and communication excluded).
        public var compute_seconds_per_sample: Double
        /// The optimizer update per step (independent of the batch).
        public var fixed_seconds_per_step: Double
        /// Length of the flat gradient allreduce, in floats (the model's parameters, from its store).
        public var gradient_floats: Int
        /// Bytes of each other reduction one step makes (SyncBN's sums; none in phase 2).
        public var small_reduction_bytes: [Int]
        /// The per-rank batch the compute was measured at.
        public var measured_local_batch: Int

        public init(phase: String, computeSecondsPerSample: Double, fixedSecondsPerStep: Double, gradientFloats: Int,
                    smallReductionBytes: [Int], measuredLocalBatch: Int) {
            self.phase = phase; compute_seconds_per_sample = computeSecondsPerSample
            fixed_seconds_per_step = fixedSecondsPerStep; gradient_floats = gradientFloats
            small_reduction_bytes = smallReductionBytes; measured_local_batch = measuredLocalBatch
        }
    }

    public enum Scaling: Sendable, Equatable {
        /// The global batch stays fixed; each rank holds ⌈global/p⌉ samples.
        case strong(globalBatch: Int)
        /// Each rank keeps `localBatch` samples; the global batch grows with p.
        case weak(localBatch: Int)
    }

    /// Everything the projection assumes besides the measured costs.
    public struct Assumptions: Sendable {
        public var ranksPerNode: Int
        public var intraNode: Link
        public var interNode: Link
        /// Share of the compute spent in backward (what bucketing can hide the allreduce behind).
        public var backwardShare: Double
        /// Buckets the gradient allreduce would be split into.
        public var buckets: Int
        /// Bucketing "pays" when it saves at least this share of the step.
        public var bucketingThreshold: Double

        public init(ranksPerNode: Int, intraNode: Link, interNode: Link, backwardShare: Double = 2.0 / 3,
                    buckets: Int = 4, bucketingThreshold: Double = 0.05) {
            self.ranksPerNode = ranksPerNode; self.intraNode = intraNode; self.interNode = interNode
            self.backwardShare = backwardShare; self.buckets = buckets; self.bucketingThreshold = bucketingThreshold
        }
    }

    public struct Step: Codable, Sendable, Equatable {
        public var ranks: Int
        public var nodes: Int
        /// The link between nodes this row assumes (the node's own when p fits on one node).
        public var link: String
        /// The link whose edges pace the gradient ring (`ringLink`).
        public var ring_limited_by: String
        public var local_batch: Int
        public var global_batch: Int
        public var compute_seconds: Double
        public var fixed_seconds: Double
        /// The flat ring's time, which the step counts.
        public var gradient_allreduce_seconds: Double
        /// The two-level allreduce's time, for comparison (`twoLevelAllreduceSeconds`).
        public var two_level_allreduce_seconds: Double
        public var small_reductions_seconds: Double
        public var step_seconds: Double
        public var samples_per_second: Double
        /// Strong: T(1)/(p·T(p)) with T(1) the one-rank step on the whole global batch (no
        /// communication). Weak: T(1)/T(p) with T(1) the one-rank step on the same per-rank batch.
        public var efficiency: Double
        /// Share of the step in the gradient allreduce and the small reductions.
        public var communication_share: Double
        /// The gradient allreduce time left exposed with `buckets` buckets overlapping backward.
        public var bucketed_exposed_seconds: Double
        /// What bucketing would save per step (negative: it would cost).
        public var bucketing_saves_seconds: Double
        public var bucketing_pays: Bool
    }

    /// Ring allreduce: 2(p−1)/p · bytes / B + 2(p−1) · α (0 for one rank).
    public static func ringAllreduceSeconds(bytes: Double, ranks p: Int, link: Link) -> Double {
        guard p > 1 else { return 0 }
        return ringBandwidthSeconds(bytes: bytes, ranks: p, link: link) + ringLatencySeconds(ranks: p, link: link)
    }

    /// The ring's bandwidth term, 2(p−1)/p · bytes / B.
    public static func ringBandwidthSeconds(bytes: Double, ranks p: Int, link: Link) -> Double {
        guard p > 1 else { return 0 }
        return 2 * Double(p - 1) / Double(p) * bytes / link.bytes_per_second
    }

    /// The ring's latency term, 2(p−1) · α.
    public static func ringLatencySeconds(ranks p: Int, link: Link) -> Double {
        guard p > 1 else { return 0 }
        return 2 * Double(p - 1) * link.latency_seconds
    }

    /// The two-level alternative to the flat ring (what hierarchical allreduces in Horovod and NCCL
    /// do): a ring reduce-scatter and allgather within each node, and between them each rank's
    /// 1/R share reduced by a ring over the N = ⌈p/R⌉ nodes, the R rings together passing the full
    /// gradient through each node's link:
    ///     2(R−1)/R · bytes/B_node + 2(R−1)·α_node + 2(N−1)/N · bytes/B_link + 2(N−1)·α_link.
    /// Its latency grows with the nodes, not the ranks. The projection reports it beside the ring.
    public static func twoLevelAllreduceSeconds(bytes: Double, ranks p: Int, ranksPerNode: Int, intra: Link, inter: Link) -> Double {
        guard p > ranksPerNode else { return ringAllreduceSeconds(bytes: bytes, ranks: p, link: intra) }
        let nodes = (p + ranksPerNode - 1) / ranksPerNode
        return ringAllreduceSeconds(bytes: bytes, ranks: ranksPerNode, link: intra)
            + ringAllreduceSeconds(bytes: bytes, ranks: nodes, link: inter)
    }

    /// ⌈log₂ n⌉ (0 for n ≤ 1).
    public static func ceilLog2(_ n: Int) -> Int {
        guard n > 1 else { return 0 }
        return Int.bitWidth - (n - 1).leadingZeroBitCount
    }

    /// A small allreduce by recursive doubling: ⌈log₂ p⌉ rounds of α + bytes/B, ranks numbered node
    /// by node, so the rounds with partners less than `ranksPerNode` apart stay on the node.
    public static func smallAllreduceSeconds(bytes: Double, ranks p: Int, ranksPerNode: Int, intra: Link, inter: Link) -> Double {
        let rounds = ceilLog2(p)
        let intraRounds = min(rounds, ceilLog2(min(p, ranksPerNode)))
        func round(_ l: Link) -> Double { l.latency_seconds + bytes / l.bytes_per_second }
        return Double(intraRounds) * round(intra) + Double(rounds - intraRounds) * round(inter)
    }

    /// The allreduce time a step still waits for when the gradient is reduced in `k` equal buckets,
    /// each started as soon as backward has produced it (backward produces gradient at an even
    /// rate over `backwardSeconds`; buckets are reduced one after another). Bucket j is ready at
    /// j·T_b/k; each takes bw/k + lat. The last finishes at max(T_b/k + bw + k·lat, T_b + bw/k + lat)
    /// after backward starts, so the exposed time is that minus T_b:
    ///     max(bw + k·lat − T_b·(k−1)/k, bw/k + lat).
    /// k = 1 gives bw + lat, the unbucketed allreduce.
    public static func bucketedExposedSeconds(bandwidthSeconds bw: Double, latencySeconds lat: Double,
                                              backwardSeconds tb: Double, buckets k: Int) -> Double {
        precondition(k >= 1, "buckets must be ≥ 1")
        let kd = Double(k)
        return max(bw + kd * lat - tb * (kd - 1) / kd, bw / kd + lat)
    }

    /// The link that paces the gradient ring at p ranks: on one node the node's; across nodes the
    /// slower of the two, since a ring laid node by node has edges of both kinds and each of its
    /// steps waits for the slowest edge (usually the network; on a node with slow shared memory
    /// and a fast network, the node).
    public static func ringLink(bytes: Double, ranks p: Int, _ a: Assumptions) -> Link {
        guard p > a.ranksPerNode else { return a.intraNode }
        let onNode = ringAllreduceSeconds(bytes: bytes, ranks: p, link: a.intraNode)
        let across = ringAllreduceSeconds(bytes: bytes, ranks: p, link: a.interNode)
        return onNode > across ? a.intraNode : a.interNode
    }

    /// The projected step at `p` ranks, or nil when the global batch has fewer samples than ranks.
    public static func step(_ cost: PhaseCost, ranks p: Int, scaling: Scaling, assumptions a: Assumptions) -> Step? {
        precondition(p >= 1 && a.ranksPerNode >= 1, "ranks and ranks per node must be ≥ 1")
        let local: Int, global: Int, oneRankSeconds: Double
        switch scaling {
        case .strong(let g):
            guard g >= p else { return nil }
            local = (g + p - 1) / p; global = g
            oneRankSeconds = cost.fixed_seconds_per_step + cost.compute_seconds_per_sample * Double(g)
        case .weak(let b):
            local = b; global = b * p
            oneRankSeconds = cost.fixed_seconds_per_step + cost.compute_seconds_per_sample * Double(b)
        }
        let bytes = Double(cost.gradient_floats * MemoryLayout<Float>.size)
        let link = ringLink(bytes: bytes, ranks: p, a)
        let bw = ringBandwidthSeconds(bytes: bytes, ranks: p, link: link)
        let lat = ringLatencySeconds(ranks: p, link: link)
        let compute = cost.compute_seconds_per_sample * Double(local)
        let small = cost.small_reduction_bytes.reduce(0.0) {
            $0 + (p > 1 ? smallAllreduceSeconds(bytes: Double($1), ranks: p, ranksPerNode: a.ranksPerNode,
                                                 intra: a.intraNode, inter: a.interNode) : 0)
        }
        let stepSeconds = cost.fixed_seconds_per_step + compute + bw + lat + small
        let efficiency: Double
        switch scaling {
        case .strong: efficiency = oneRankSeconds / (Double(p) * stepSeconds)
        case .weak: efficiency = oneRankSeconds / stepSeconds
        }
        let exposed = p > 1 ? bucketedExposedSeconds(bandwidthSeconds: bw, latencySeconds: lat,
                                                     backwardSeconds: a.backwardShare * compute, buckets: a.buckets) : 0
        let saves = bw + lat - exposed
        let nodes = (p + a.ranksPerNode - 1) / a.ranksPerNode
        let rowLink = p <= a.ranksPerNode ? a.intraNode : a.interNode
        return Step(ranks: p, nodes: nodes, link: p > 1 ? rowLink.name : "none", ring_limited_by: p > 1 ? link.name : "none",
                    local_batch: local, global_batch: global,
                    compute_seconds: compute, fixed_seconds: cost.fixed_seconds_per_step,
                    gradient_allreduce_seconds: bw + lat,
                    two_level_allreduce_seconds: twoLevelAllreduceSeconds(bytes: bytes, ranks: p, ranksPerNode: a.ranksPerNode,
                                                                          intra: a.intraNode, inter: a.interNode),
                    small_reductions_seconds: small,
                    step_seconds: stepSeconds, samples_per_second: Double(global) / stepSeconds,
                    efficiency: efficiency, communication_share: (bw + lat + small) / stepSeconds,
                    bucketed_exposed_seconds: exposed, bucketing_saves_seconds: saves,
                    bucketing_pays: saves >= a.bucketingThreshold * stepSeconds)
    }

    /// α and B of the ring model from two timings at the same rank count p > 1: a tiny allreduce
    /// (mostly latency) and a large one (mostly bandwidth). Solves
    ///     t = 2(p−1)·α + 2(p−1)/p · bytes / B
    /// for both points; nil when the larger message was not slower (noise) — then nothing can be fitted.
    /// A negative α (noise in the small timing) is clamped to 0.
    public static func fitRing(name: String, ranks p: Int, smallBytes: Double, smallSeconds: Double,
                               largeBytes: Double, largeSeconds: Double) -> Link? {
        guard p > 1, largeBytes > smallBytes, largeSeconds > smallSeconds else { return nil }
        let share = 2 * Double(p - 1) / Double(p)
        let bandwidth = share * (largeBytes - smallBytes) / (largeSeconds - smallSeconds)
        let latency = max(0, (smallSeconds - share * smallBytes / bandwidth) / (2 * Double(p - 1)))
        return Link(name: name, latencySeconds: latency, bytesPerSecond: bandwidth)
    }

    static func formatNumber(_ x: Double) -> String {
        x == x.rounded() ? String(Int(x)) : String(format: "%g", x)
    }
}

extension ScalingProjection.PhaseCost {
    /// The costs a `bench scaling` run measured: compute per sample is the step minus its
    /// communication (allreduce and the wait before it) and the optimizer, over the per-rank batch
    /// (take a one-rank run, whose step has no communication at all).
    public init(measured r: ScalingWorker.Result) {
        let compute = max(0, r.step_seconds - r.allreduce_seconds - r.wait_seconds - r.optimizer_seconds)
        self.init(phase: r.phase, computeSecondsPerSample: compute / Double(r.local_batch),
                  fixedSecondsPerStep: r.optimizer_seconds, gradientFloats: r.gradient_floats,
                  smallReductionBytes: r.small_reduction_bytes, measuredLocalBatch: r.local_batch)
    }
}
