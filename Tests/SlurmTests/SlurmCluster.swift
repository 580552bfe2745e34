import Foundation
import TestLauncher
#if canImport(Glibc)
import Glibc
#endif

/// A one-node Slurm cluster of this machine, for the tests only: Debian's slurm-wlm 22.05 and munge
/// (scripts/setup.sh installs them), started from a temporary directory and gone afterwards.
///
/// Everything lives in that directory: a generated slurm.conf (the node as `slurmd -C` sees it, every
/// CPU, `OverSubscribe=FORCE`, `MpiDefault=pmix`, CPU binding by task/affinity as on a real cluster),
/// a fresh munge key with its own munged (own socket, pid and seed file), and the state, spool and log
/// directories. Nothing system-wide is read or written: the clients find the cluster through
/// `SLURM_CONF`, which `run` sets, and the daemons listen on ports picked free at start.
///
/// Cleanup, in layers: `stop()` cancels the jobs, ends the three daemons by their pids (SIGTERM,
/// then SIGKILL), kills whatever the cluster still runs (processes whose environment names this
/// cluster's slurm.conf: step daemons and job tasks) and removes the directory. The daemons run in
/// the foreground as children of the test process with a parent-death signal (`setpriv --pdeathsig
/// KILL`), so even a test process that crashes before `stop()` leaves no daemon behind (only its
/// temporary directory).
final class SlurmCluster {
    struct StartError: Error, CustomStringConvertible {
        let description: String
    }

    let directory: String
    var configuration: String { directory + "/slurm.conf" }
    /// The node's name (slurmd -C's NodeName) and CPU count, as written into slurm.conf.
    private(set) var nodeName = ""
    private(set) var cpus = 0
    private var daemons: [(name: String, pid: pid_t)] = []
    /// munged's, slurmctld's and slurmd's pids while they run.
    var daemonPIDs: [pid_t] { daemons.map(\.pid) }

    private init(directory: String) {
        self.directory = directory
    }

    /// Starts munged, slurmctld and slurmd and waits until the node is idle (about 1–3 s). Throws
    /// with the reason (not root, a missing program, a daemon that exited, with its log) and leaves
    /// nothing running when it fails.
    static func start() throws -> SlurmCluster {
        guard geteuid() == 0 else {
            throw StartError(description: "the Slurm tests start slurmd, which must run as root (it starts the jobs' "
                + "processes); this process runs as uid \(geteuid()): run the tests as root (CI does)")
        }
        let tools = try ["munged", "slurmctld", "slurmd", "sinfo", "setpriv"].map(program)
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("cpae-mpi-slurm-XXXXXX").path
        var template = Array(base.utf8CString)
        guard mkdtemp(&template) != nil else {
            throw StartError(description: "cannot create a directory under \(FileManager.default.temporaryDirectory.path): "
                + String(cString: strerror(errno)))
        }
        let directory = String(cString: template)
        chmod(directory, 0o755)  // munged's socket must be reachable through it
        let cluster = SlurmCluster(directory: directory)
        do {
            try cluster.bringUp(munged: tools[0], slurmctld: tools[1], slurmd: tools[2], sinfo: tools[3], setpriv: tools[4])
            return cluster
        } catch {
            cluster.stop()
            throw error
        }
    }

    private func bringUp(munged: String, slurmctld: String, slurmd: String, sinfo: String, setpriv: String) throws {
        let fm = FileManager.default
        for sub in ["munge", "munge-key", "state", "spool", "log"] {
            try fm.createDirectory(atPath: "\(directory)/\(sub)", withIntermediateDirectories: false,
                                   attributes: [.posixPermissions: sub == "munge-key" ? 0o700 : 0o755])
        }
        // A fresh key for this cluster alone (munged refuses a key others can read).
        let key = "\(directory)/munge-key/munge.key"
        var random = SystemRandomNumberGenerator()
        let bytes = (0..<1024).map { _ in UInt8.random(in: 0...255, using: &random) }
        guard fm.createFile(atPath: key, contents: Data(bytes), attributes: [.posixPermissions: 0o400]) else {
            throw StartError(description: "cannot write the munge key \(key)")
        }
        let socket = "\(directory)/munge/munge.socket"
        try launch("munged", [setpriv, "--pdeathsig", "KILL", "--", munged, "--foreground", "--force",
                              "--socket=\(socket)", "--key-file=\(key)", "--pid-file=\(directory)/munge/munged.pid",
                              "--seed-file=\(directory)/munge/munged.seed", "--log-file=\(directory)/log/munged.log"])
        try waitFor("munged to create its socket", log: "munged.log", seconds: 10) { fm.fileExists(atPath: socket) }

        // The node as slurmd detects it (CPUs, sockets, cores, threads), without RealMemory: jobs here
        // ask for no memory, and a figure that later reads a little lower would drain the node.
        let detect = try MPILauncher.run([slurmd, "-C"], timeout: 20)
        guard detect.exitCode == 0, let line = detect.stdout.split(separator: "\n").first(where: { $0.hasPrefix("NodeName=") }) else {
            throw StartError(description: "`slurmd -C` did not describe this node:\n" + detect.summary)
        }
        let fields = line.split(separator: " ").filter { !$0.hasPrefix("RealMemory=") }
        let name = fields.first!.dropFirst("NodeName=".count)
        guard let cpuField = fields.first(where: { $0.hasPrefix("CPUs=") }), let cpus = Int(cpuField.dropFirst(5)) else {
            throw StartError(description: "`slurmd -C` gave no CPU count: \(line)")
        }
        (nodeName, self.cpus) = (String(name), cpus)
        let nodeLine = fields.joined(separator: " ")
        let (controllerPort, nodePort) = (try Self.freePort(), try Self.freePort())
        let conf = """
            # Generated by Tests/SlurmTests/SlurmCluster.swift for one test run; removed afterwards.
            ClusterName=cpaetest
            SlurmctldHost=\(name)(127.0.0.1)
            SlurmctldPort=\(controllerPort)
            SlurmdPort=\(nodePort)
            SlurmUser=root
            SlurmdUser=root
            AuthType=auth/munge
            CredType=cred/munge
            AuthInfo=socket=\(socket)
            StateSaveLocation=\(directory)/state
            SlurmdSpoolDir=\(directory)/spool
            SlurmctldPidFile=\(directory)/slurmctld.pid
            SlurmdPidFile=\(directory)/slurmd.pid
            SlurmctldLogFile=\(directory)/log/slurmctld.log
            SlurmdLogFile=\(directory)/log/slurmd.log
            MailProg=/bin/true
            ProctrackType=proctrack/pgid
            TaskPlugin=task/affinity
            SelectType=select/cons_tres
            SelectTypeParameters=CR_Core
            MpiDefault=pmix
            SwitchType=switch/none
            JobCompType=jobcomp/none
            AccountingStorageType=accounting_storage/none
            JobAcctGatherType=jobacct_gather/none
            ReturnToService=2
            SchedulerType=sched/backfill
            KillWait=5
            \(nodeLine) NodeAddr=127.0.0.1 State=UNKNOWN
            PartitionName=test Nodes=\(name) Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE

            """
        try conf.write(toFile: configuration, atomically: true, encoding: .utf8)
        try launch("slurmctld", [setpriv, "--pdeathsig", "KILL", "--", slurmctld, "-D", "-f", configuration])
        try launch("slurmd", [setpriv, "--pdeathsig", "KILL", "--", slurmd, "-D", "-f", configuration])
        try waitFor("the node to become idle", log: "slurmctld.log", seconds: 30) {
            let r = try? run([sinfo, "-h", "-N", "-o", "%T"], timeout: 10)
            return r?.exitCode == 0 && r?.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "idle"
        }
    }

    /// Runs a Slurm client (srun, sbatch, scontrol …) against this cluster, with MPILauncher's timeout.
    func run(_ argv: [String], timeout: Double, environment: [String: String] = [:]) throws -> MPILauncher.Result {
        var argv = argv
        if !argv[0].hasPrefix("/") { argv[0] = try Self.program(argv[0]) }
        return try MPILauncher.run(argv, timeout: timeout, environment: environment.merging(["SLURM_CONF": configuration]) { a, _ in a })
    }

    /// Cancels every job, ends the daemons, kills what is left of the jobs and removes the directory.
    /// Safe to call twice.
    func stop() {
        if !daemons.isEmpty, let ids = try? run(["squeue", "-h", "-o", "%A"], timeout: 10), ids.exitCode == 0 {
            let jobs = ids.stdout.split(whereSeparator: \.isNewline).map(String.init)
            if !jobs.isEmpty {
                _ = try? run(["scancel"] + jobs, timeout: 10)
                let deadline = Date().addingTimeInterval(15)
                while Date() < deadline, let q = try? run(["squeue", "-h", "-o", "%A"], timeout: 10),
                      q.exitCode == 0, !q.stdout.isEmpty {
                    usleep(200_000)
                }
            }
        }
        for (_, pid) in daemons.reversed() { kill(pid, SIGTERM) }
        for (_, pid) in daemons.reversed() {
            var status: Int32 = 0
            let deadline = Date().addingTimeInterval(10)
            while waitpid(pid, &status, WNOHANG) == 0 {
                if Date() > deadline { kill(pid, SIGKILL); _ = waitpid(pid, &status, 0); break }
                usleep(20_000)
            }
        }
        daemons = []
        killLeftovers()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Step daemons and job tasks outlive slurmd by design (a restarted slurmd adopts them); they
    /// carry this cluster's SLURM_CONF in their environment, which identifies them exactly.
    private func killLeftovers() {
        for pid in processesOfThisCluster() { kill(pid, SIGKILL) }
    }

    /// Live processes (not zombies) whose environment names this cluster's slurm.conf.
    func processesOfThisCluster() -> [pid_t] {
        let marker = Array("SLURM_CONF=\(configuration)".utf8)
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { entry -> pid_t? in
            guard let pid = pid_t(entry), pid != getpid(),
                  let environ = FileManager.default.contents(atPath: "/proc/\(pid)/environ"), !environ.isEmpty else { return nil }
            return environ.split(separator: 0).contains(where: { Array($0) == marker }) ? pid : nil
        }
    }

    // MARK: - Helpers

    /// Starts a daemon in the foreground, its output in log/<name>.out.
    private func launch(_ name: String, _ argv: [String]) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        let output = "\(directory)/log/\(name).out"
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // A clean environment: the test process may be an MPI singleton whose OMPI_/PMIX_ settings
        // must not reach the daemons.
        let environment = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin",
                           "SLURM_CONF": configuration]
        let cArguments = argv.map { strdup($0) } + [nil]
        let cEnvironment = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (cArguments + cEnvironment).forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, argv[0], &actions, nil, cArguments, cEnvironment)
        guard rc == 0 else { throw StartError(description: "cannot start \(name) (\(argv[0])): \(String(cString: strerror(rc)))") }
        daemons.append((name, pid))
    }

    /// Polls `condition` until it holds; throws, with the daemons' output and `log`, when a daemon
    /// exited or `seconds` passed.
    private func waitFor(_ what: String, log: String, seconds: Double, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            if try condition() { return }
            for (name, pid) in daemons {
                var status: Int32 = 0
                if waitpid(pid, &status, WNOHANG) == pid {
                    daemons.removeAll { $0.pid == pid }
                    throw StartError(description: "\(name) exited (status \(status)) while waiting for \(what)\n" + logs(log))
                }
            }
            if Date() > deadline { throw StartError(description: "timed out after \(seconds) s waiting for \(what)\n" + logs(log)) }
            usleep(50_000)
        }
    }

    /// The last lines of the daemons' output and of one log file, for error messages.
    func logs(_ file: String) -> String {
        let paths = daemons.map { "\(directory)/log/\($0.name).out" } + ["\(directory)/log/\(file)"]
        return paths.map { path -> String in
            let text = FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) } ?? "(none)"
            return "--- \(path) ---\n" + text.split(separator: "\n", omittingEmptySubsequences: false).suffix(15).joined(separator: "\n")
        }.joined(separator: "\n")
    }

    /// A program from PATH or the sbin directories (a non-root PATH often lacks them).
    static func program(_ name: String) throws -> String {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "") + ":/usr/sbin:/sbin:/usr/bin:/bin"
        for directory in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(directory)/\(name)") {
            return "\(directory)/\(name)"
        }
        throw StartError(description: "\(name) not found (PATH and /usr/sbin): install Debian's slurm-wlm and munge "
            + "(`bash scripts/setup.sh deps` does)")
    }

    /// A TCP port nothing listens on now (the kernel's pick for port 0).
    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw StartError(description: "socket(): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw StartError(description: "cannot pick a free port: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
