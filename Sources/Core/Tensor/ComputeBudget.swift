/// How many threads a model's layers may use, given to the model (`Autoencoder.computeBudget`) by
/// whoever owns the process's cores — the command from its rank placement, a benchmark from its
/// flag, the in-process replica group (one thread per replica) — instead of read from, and toggled
/// in, OpenBLAS's process-wide thread count inside the convolution loops.
///
/// The convolutions spread their batch chunks over `threads` workers, each running single-threaded
/// GEMMs on its own scratch; so OpenBLAS itself must run single-threaded (`BLASThreads.set(1)`,
/// once, where the process starts), or its threads and ours would share the same cores twice over.
public struct ComputeBudget: Sendable, Equatable, CustomStringConvertible {
    public let threads: Int

    public init(threads: Int) {
        precondition(threads >= 1, "a compute budget needs at least one thread (got \(threads))")
        self.threads = threads
    }

    /// One thread: a rank sharing its node with others, a replica of `InProcessReplicas`.
    public static let serial = ComputeBudget(threads: 1)

    public var description: String { threads == 1 ? "1 thread" : "\(threads) threads" }
}
