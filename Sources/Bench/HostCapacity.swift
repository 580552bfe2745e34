import Core
import Foundation

/// How much more a process can compute with T threads than with one *right now*: the host's own
/// ceiling for any T-thread speed-up, measured beside the step it bounds.
///
/// Why: on these shared VMs the hypervisor does not always give two vCPUs two whole cores. Measured
/// on a Zen 3 (2026-12-06, 12:20 UTC, PyTorch 1024² matmul, 1 and 2 threads alternated every 0.7 s):
/// 2 threads over 1 ranged 1.25–2.01× from one second to the next (median 1.79×) on a machine whose
/// own processes were idle. A step's speed-up measured in such a cycle says more about the host than
/// about the step; set beside this probe's figure from the same cycle it says how much of what the
/// host offered the step used.
///
/// The probe is `pieces` independent single-threaded sgemms (n × n × n), claimed one by one by
/// whichever of the T threads is free (the layers' own pool), so a thread that the host slows takes
/// fewer: T threads finish in total work / (sum of the threads' rates), the best any T-thread split of
/// the work could do. Its speed-up is 1-thread seconds over T-thread seconds.
public final class HostCapacityProbe {
    private let size: Int
    private let pieces: Int
    private let a: UnsafeMutablePointer<Float>
    private let b: UnsafeMutablePointer<Float>
    /// One output per piece, so the pieces share nothing they write.
    private let c: UnsafeMutablePointer<Float>

    /// 64 pieces of 384³: ~0.1 s on one Zen 3 or Zen 4 core, long beside a scheduler tick and short
    /// beside the step it is set against; A and B (576 KB each) are shared read-only.
    public init(size: Int = 384, pieces: Int = 64) {
        precondition(size > 0 && pieces > 0)
        self.size = size
        self.pieces = pieces
        let n = size * size
        a = .allocate(capacity: n)
        b = .allocate(capacity: n)
        c = .allocate(capacity: n * pieces)
        var rng = RNG(seed: 3)
        for i in 0..<n { a[i] = rng.uniformFloat() - 0.5; b[i] = rng.uniformFloat() - 0.5 }
        c.initialize(repeating: 0, count: n * pieces)
    }

    deinit { a.deallocate(); b.deallocate(); c.deallocate() }

    /// All pieces on `threads` threads (OpenBLAS itself single-threaded, as in the training step).
    public func run(threads: Int) {
        let n = size
        parallelForClaimed(pieces, threads: threads) { i, _ in
            sgemm(m: n, n: n, k: n, a: a, lda: n, b: b, ldb: n, c: c + i * n * n, ldc: n)
        }
    }
}
