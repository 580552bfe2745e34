import Foundation

/// k replicas of a data-parallel job on k threads of this process, each a full model with its own
/// `ReplicaGroup` handle: rank equivalence is then tested in-process in seconds, not only under
/// mpirun. A collective blocks until all k replicas have called it (a barrier); the last to arrive
/// combines the k buffers in rank order (0 + 1 + … + k−1, in the buffer's own precision, as one MPI
/// reduction would) and writes the result into every replica's buffer.
///
/// Replicas run with a compute budget of one thread each (`ComputeBudget.serial`): k threads are k
/// ranks, one per core, like `mpirun -np k` on one node.
public final class InProcessReplicas {
    public let size: Int

    private enum Operation: Equatable {
        case sumFloat, sumDouble, sumInt64, maxDouble, broadcast(root: Int), barrier
    }

    private let condition = NSCondition()
    private var arrived = 0
    private var generation = 0
    private var pending: [(operation: Operation, buffer: UnsafeMutableRawPointer?, count: Int)]
    /// Set when a replica's body ended with an error: the others must not wait for it forever.
    private var departed: (rank: Int, error: String)?
    /// Collectives completed so far (tests count the traffic).
    public private(set) var completedCollectives = 0

    public init(size: Int) {
        precondition(size >= 1, "a replica group needs at least one replica (got \(size))")
        self.size = size
        pending = Array(repeating: (.barrier, nil, 0), count: size)
    }

    /// The handle replica `rank` passes to its trainer and layers.
    public func member(_ rank: Int) -> ReplicaGroup {
        precondition((0..<size).contains(rank), "replica \(rank) is out of range 0..<\(size)")
        return Member(hub: self, rank: rank)
    }

    /// Runs `body(rank, group)` for every rank on its own thread and returns each replica's outcome in
    /// rank order. A replica that fails alone while others wait in a collective ends the process
    /// with both messages, as MPI_Abort would end a job.
    public func run<T>(_ body: @escaping @Sendable (Int, ReplicaGroup) throws -> T) -> [Result<T, Error>] {
        // Each replica is one thread, like one rank per core: OpenBLAS must not add threads of its
        // own (set once per run, not per call; restored after).
        let savedBLASThreads = BLASThreads.current
        BLASThreads.set(1)
        defer { BLASThreads.set(savedBLASThreads) }
        let results = ResultSlots<T>(count: size)
        let done = DispatchSemaphore(value: 0)
        for rank in 0..<size {
            let thread = Thread { [self] in
                do { results.set(rank, .success(try body(rank, member(rank)))) } catch {
                    results.set(rank, .failure(error))
                    leave(rank: rank, error: error)
                }
                done.signal()
            }
            thread.stackSize = 16 << 20   // model passes recurse through the layer table
            thread.start()
        }
        for _ in 0..<size { done.wait() }
        return results.values
    }

    private func leave(rank: Int, error: Error) {
        condition.lock()
        if departed == nil { departed = (rank, "\(error)") }
        condition.broadcast()
        condition.unlock()
    }

    private func meet(_ rank: Int, _ operation: Operation, _ buffer: UnsafeMutableRawPointer?, count: Int) {
        condition.lock()
        defer { condition.unlock() }
        if let departed {
            fatalError("replica \(rank) entered a collective after replica \(departed.rank) left with: \(departed.error)")
        }
        pending[rank] = (operation, buffer, count)
        arrived += 1
        let mine = generation
        if arrived == size {
            combine(calledBy: rank)
            arrived = 0
            generation += 1
            completedCollectives += 1
            condition.broadcast()
            return
        }
        while generation == mine {
            if let departed {
                fatalError("replica \(rank) waits in a collective that replica \(departed.rank) will never join: \(departed.error)")
            }
            condition.wait()
        }
    }

    /// Every replica is blocked in `meet`, so every buffer is stable while this runs.
    private func combine(calledBy rank: Int) {
        let first = pending[0]
        for r in 1..<size where pending[r].operation != first.operation || pending[r].count != first.count {
            fatalError("collective mismatch: replica 0 called \(first.operation) of \(first.count), replica \(r) \(pending[r].operation) of \(pending[r].count)")
        }
        let n = first.count
        switch first.operation {
        case .barrier:
            break
        case .sumFloat:
            let p = pending.map { $0.buffer!.assumingMemoryBound(to: Float.self) }
            for i in 0..<n {
                var s = p[0][i]
                for r in 1..<size { s += p[r][i] }
                for r in 0..<size { p[r][i] = s }
            }
        case .sumInt64:
            let p = pending.map { $0.buffer!.assumingMemoryBound(to: Int64.self) }
            for i in 0..<n {
                var s = p[0][i]
                for r in 1..<size { s &+= p[r][i] }
                for r in 0..<size { p[r][i] = s }
            }
        case .sumDouble, .maxDouble:
            let p = pending.map { $0.buffer!.assumingMemoryBound(to: Double.self) }
            let isSum = first.operation == .sumDouble
            for i in 0..<n {
                var s = p[0][i]
                for r in 1..<size { s = isSum ? s + p[r][i] : Swift.max(s, p[r][i]) }
                for r in 0..<size { p[r][i] = s }
            }
        case .broadcast(let root):
            precondition((0..<size).contains(root), "broadcast from replica \(root): the group has \(size)")
            for r in 0..<size where r != root && n > 0 { pending[r].buffer!.copyMemory(from: pending[root].buffer!, byteCount: n) }
        }
    }

    private final class Member: ReplicaGroup {
        let hub: InProcessReplicas
        let rank: Int
        init(hub: InProcessReplicas, rank: Int) { self.hub = hub; self.rank = rank }
        var replicas: Int { hub.size }
        func sum(_ buffer: UnsafeMutablePointer<Float>, count: Int) { hub.meet(rank, .sumFloat, UnsafeMutableRawPointer(buffer), count: count) }
        func sum(_ buffer: UnsafeMutablePointer<Double>, count: Int) { hub.meet(rank, .sumDouble, UnsafeMutableRawPointer(buffer), count: count) }
        func sum(_ buffer: UnsafeMutablePointer<Int64>, count: Int) { hub.meet(rank, .sumInt64, UnsafeMutableRawPointer(buffer), count: count) }
        func maximum(_ buffer: UnsafeMutablePointer<Double>, count: Int) { hub.meet(rank, .maxDouble, UnsafeMutableRawPointer(buffer), count: count) }
        func broadcast(bytes: UnsafeMutableRawBufferPointer, root: Int) {
            hub.meet(rank, .broadcast(root: root), bytes.baseAddress, count: bytes.count)
        }
        func synchronize() { hub.meet(rank, .barrier, nil, count: 0) }
        func abort(_ message: String, code: Int32) -> Never { fatalError("replica \(rank): \(message)") }
    }
}

/// One slot per replica thread; each thread writes only its own.
private final class ResultSlots<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Result<T, Error>?]
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: Result<T, Error>) { lock.lock(); slots[i] = r; lock.unlock() }
    var values: [Result<T, Error>] { lock.lock(); defer { lock.unlock() }; return slots.map { $0! } }
}
