import Core
import Foundation

extension Communicator {
    /// Runs `count` independent jobs spread over the ranks — job k on rank k mod size, each rank its
    /// own jobs in order — and returns every job's result, in job order, on every rank. For work that
    /// needs no communication inside a job (the circle ablation's initialisations): the ranks compute
    /// alone, those that finish first wait without spinning (`idleBarrier`), then the results travel
    /// as JSON. A job that throws on one rank ends the whole job through `runOrAbort`, as any error.
    public func shareOut<T: Codable>(_ count: Int, _ job: (Int) throws -> T) throws -> [T] {
        precondition(count >= 0, "shareOut: negative job count")
        var mine: [String] = []
        for k in stride(from: rank, to: count, by: size) { mine.append(try JSONCoding.string(job(k))) }
        _ = try idleBarrier()
        // One JSON array of this rank's results; job k is element k / size of rank k mod size's array.
        let gathered = try allgather("[" + mine.joined(separator: ",") + "]")
        let perRank = try gathered.enumerated().map { r, text in
            try JSONCoding.decode([T].self, from: Array(text.utf8), file: "results of rank \(r)")
        }
        return (0..<count).map { k in perRank[k % size][k / size] }
    }
}
