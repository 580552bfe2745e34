import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Whether ranks that srun started directly should yield their core while they wait in MPI, decided
/// before MPI_Init (docs/cluster.md §Transport).
///
/// Open MPI busy-polls a waiting rank unless it knows the node is oversubscribed. mpirun knows: it
/// compares the ranks with the slots and sets `mpi_yield_when_idle` when they exceed them. Ranks
/// started by srun get no such hint, so ranks that share a core (`srun --overcommit`, a `map_cpu`
/// list, a job with fewer CPUs than tasks) spin against each other and every collective waits for the
/// scheduler to switch them. Measured with srun on 2 ranks bound to one core: 16.5 ms per allreduce of
/// 1.3 M floats and 8 ms for 256 floats, against 1.6 ms and 4.7 µs when they yield. Yielding is not
/// free when each rank has a core of its own (a shared machine's other processes take the core), so
/// the rule is mpirun's: yield when this node's ranks outnumber the CPUs they may run on. A user's
/// own `OMPI_MCA_mpi_yield_when_idle` always wins.
enum DirectLaunchIdlePolicy {
    /// The decision for this process, or nil when it does not apply (not started by srun, started by
    /// mpirun, or the user set the variable).
    static func decide(environment: [String: String], ownCPUs: Int) -> (yield: Bool, reason: String)? {
        guard environment["SLURM_STEP_ID"] != nil,
              environment["OMPI_COMM_WORLD_SIZE"] == nil,           // mpirun's ranks: mpirun decides
              environment["OMPI_MCA_mpi_yield_when_idle"] == nil,   // the user decided
              let tasks = tasksOnThisNode(environment) else { return nil }
        let binding = environment["SLURM_CPU_BIND_TYPE"] ?? ""
        let list = (environment["SLURM_CPU_BIND_LIST"] ?? "").split(separator: ",").map(String.init)
        let cpus: Int
        let source: String
        if !list.isEmpty, binding.hasPrefix("map_cpu") || binding.hasPrefix("mask_cpu"),
           let set = boundCPUs(list: list, masks: binding.hasPrefix("mask_cpu"), tasks: tasks) {
            (cpus, source) = (set.count, "the tasks' CPU binding \(binding)\(list.joined(separator: ","))")
        } else {
            (cpus, source) = (ownCPUs, "this rank's CPU affinity")
        }
        let yield = tasks > cpus
        return (yield, "srun started \(tasks) rank(s) on this node, which may run on \(cpus) CPU(s) (\(source)): "
                    + (yield ? "ranks yield their core while waiting in MPI (mpi_yield_when_idle=1)"
                             : "ranks busy-poll while waiting in MPI, as under mpirun"))
    }

    /// Applies `decide` to this process: sets OMPI_MCA_mpi_yield_when_idle=1 when ranks must yield,
    /// and then returns the notice rank 0 prints (sharing cores is slow even with yielding). Call
    /// before MPI_Init, which reads the variable.
    static func applyBeforeInit() -> String? {
        guard let decision = decide(environment: ProcessInfo.processInfo.environment, ownCPUs: affinityCPUCount()),
              decision.yield else { return nil }
        setenv("OMPI_MCA_mpi_yield_when_idle", "1", 0)
        return "cpae-mpi: \(decision.reason); for speed give each rank a core of its own "
            + "(srun --cpu-bind=cores with a CPU per task; docs/cluster.md §Transport)\n"
    }

    /// This node's entry of SLURM_STEP_TASKS_PER_NODE ("2", "4(x3),2"), indexed by SLURM_NODEID.
    static func tasksOnThisNode(_ environment: [String: String]) -> Int? {
        guard let perNode = environment["SLURM_STEP_TASKS_PER_NODE"] ?? environment["SLURM_TASKS_PER_NODE"] else { return nil }
        var counts: [Int] = []
        for item in perNode.split(separator: ",") {
            if let open = item.firstIndex(of: "(") {
                guard let count = Int(item[..<open]),
                      let times = Int(item[item.index(open, offsetBy: 2)...].dropLast()) else { return nil }  // "(xK)"
                counts += Array(repeating: count, count: times)
            } else {
                guard let count = Int(item) else { return nil }
                counts.append(count)
            }
        }
        let node = Int(environment["SLURM_NODEID"] ?? "0") ?? 0
        return counts.indices.contains(node) ? counts[node] : counts.max()
    }

    /// The CPUs the node's `tasks` tasks are bound to: Slurm applies the list's entries to local
    /// tasks 0, 1, … cyclically. Entries are CPU ids (map_cpu, decimal or 0x-hex) or hex masks (mask_cpu).
    static func boundCPUs(list: [String], masks: Bool, tasks: Int) -> Set<Int>? {
        var cpus = Set<Int>()
        for entry in list.prefix(tasks) {
            let hex = entry.hasPrefix("0x") || entry.hasPrefix("0X") ? String(entry.dropFirst(2)) : nil
            if masks {
                for (position, digit) in (hex ?? entry).reversed().enumerated() {
                    guard let value = digit.hexDigitValue else { return nil }
                    for bit in 0..<4 where value & (1 << bit) != 0 { cpus.insert(position * 4 + bit) }
                }
            } else {
                guard let id = hex.map({ Int($0, radix: 16) }) ?? Int(entry) else { return nil }
                cpus.insert(id)
            }
        }
        return cpus
    }

    /// CPUs in this process's affinity mask (Linux: /proc/self/status's Cpus_allowed, a hex mask
    /// in comma-separated groups; sched_getaffinity is not importable without _GNU_SOURCE), or the
    /// online count elsewhere.
    static func affinityCPUCount() -> Int {
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
           let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed:") }) {
            let bits = line.dropFirst("Cpus_allowed:".count).compactMap { $0.hexDigitValue?.nonzeroBitCount }.reduce(0, +)
            if bits > 0 { return bits }
        }
        return ProcessInfo.processInfo.activeProcessorCount
    }
}
