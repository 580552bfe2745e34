import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs the built `cpae-mpi` executable, directly or under `mpirun`, with a hard timeout: the one
/// way every test target (DistributedTests, BenchTests) starts the product.
///
/// Finding the executable: `swift test` builds every product of the package into the same
/// products directory as the test bundle (.build/<triple>/<debug|release>/), so the launcher looks
/// next to the running test binary first (/proc/self/exe on Linux, the .xctest bundle's folder on
/// macOS), which picks the binary of the configuration being tested. Fallbacks: the
/// CPAE_MPI_EXECUTABLE environment variable (checked first if set) and <package>/.build/<config>/
/// derived from #filePath.
public enum MPILauncher {
    public struct Result {
        public let exitCode: Int32
        public let stdout: String
        public let stderr: String
        public let seconds: Double
        public let timedOut: Bool   // killed by the launcher: after the timeout, or when `killWhen` held
        public let commandLine: String

        /// For assertion messages.
        public var summary: String {
            "\(commandLine)\nexit \(exitCode) after \(String(format: "%.2f", seconds)) s\(timedOut ? " (TIMED OUT)" : "")\n"
                + "--- stdout ---\n\(stdout)\n--- stderr ---\n\(stderr)"
        }
    }

    public struct LaunchError: Error, CustomStringConvertible {
        public let description: String
    }

    /// The cpae-mpi executable built with this test bundle.
    public static func executable(file: StaticString = #filePath) throws -> String {
        var candidates: [String] = []
        if let override = ProcessInfo.processInfo.environment["CPAE_MPI_EXECUTABLE"], !override.isEmpty {
            candidates.append(override)
        }
        if let selfPath = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: selfPath).deletingLastPathComponent().appendingPathComponent("cpae-mpi").path)
        }
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            candidates.append(URL(fileURLWithPath: bundle.bundlePath).deletingLastPathComponent()
                .appendingPathComponent("cpae-mpi").path)
        }
        // <package>/Tests/TestLauncher/MPILauncher.swift → <package>/.build/<config>/cpae-mpi
        let packageRoot = URL(fileURLWithPath: "\(file)").deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        #if DEBUG
        let configuration = "debug"
        #else
        let configuration = "release"
        #endif
        candidates.append(packageRoot.appendingPathComponent(".build/\(configuration)/cpae-mpi").path)

        if let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) {
            return found
        }
        throw LaunchError(description: "cannot find the cpae-mpi executable; looked at:\n  "
            + candidates.joined(separator: "\n  ")
            + "\nbuild it with `swift build` (or set CPAE_MPI_EXECUTABLE)")
    }

    /// `mpirun` from PATH. The multi-rank tests FAIL with this message when it is missing.
    public static func mpirun() throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/mpirun"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw LaunchError(description: "mpirun not found on PATH (\(path)): install Open MPI "
            + "(Debian: apt-get install openmpi-bin libopenmpi-dev, or run scripts/setup.sh); "
            + "the multi-rank tests cannot run without it")
    }

    /// `mpirun --oversubscribe --allow-run-as-root -np <ranks> cpae-mpi <arguments>`.
    public static func runUnderMPI(ranks: Int, _ arguments: [String], timeout: Double = 60,
                            killWhen: (() -> Bool)? = nil) throws -> Result {
        try run([try mpirun(), "--oversubscribe", "--allow-run-as-root", "-np", "\(ranks)", try executable()] + arguments,
                timeout: timeout, killWhen: killWhen)
    }

    /// cpae-mpi without mpirun (an MPI singleton of size 1).
    public static func runSingleton(_ arguments: [String], timeout: Double = 60) throws -> Result {
        try run([try executable()] + arguments, timeout: timeout)
    }

    /// Runs `argv` in its own process group with stdout/stderr captured to files; after `timeout`
    /// seconds, or as soon as `killWhen` (polled every millisecond) returns true, the whole group
    /// (mpirun and every rank) is killed, so a hang fails the test instead of blocking it.
    /// `environment` adds to (or replaces in) the child's environment, e.g. SLURM_CONF for the Slurm tests.
    public static func run(_ argv: [String], timeout: Double, environment: [String: String] = [:],
                           killWhen: (() -> Bool)? = nil) throws -> Result {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("cpae-mpi-test-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let outPath = directory.appendingPathComponent("stdout").path
        let errPath = directory.appendingPathComponent("stderr").path

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)

        let cArguments = argv.map { strdup($0) } + [nil]
        let cEnvironment = childEnvironment(adding: environment).map { strdup($0) } + [nil]
        defer { (cArguments + cEnvironment).forEach { free($0) } }

        var pid: pid_t = 0
        let start = Date()
        let rc = posix_spawn(&pid, argv[0], &actions, &attributes, cArguments, cEnvironment)
        guard rc == 0 else {
            throw LaunchError(description: "cannot start \(argv[0]): \(String(cString: strerror(rc)))")
        }

        var status: Int32 = 0
        var timedOut = false
        while true {
            let waited = waitpid(pid, &status, WNOHANG)
            if waited == pid { break }
            if waited < 0 && errno != EINTR {
                throw LaunchError(description: "waitpid: \(String(cString: strerror(errno)))")
            }
            if Date().timeIntervalSince(start) > timeout || killWhen?() == true {
                timedOut = true
                kill(-pid, SIGKILL)  // the process group: mpirun and its ranks
                _ = waitpid(pid, &status, 0)
                break
            }
            usleep(killWhen == nil ? 10_000 : 1_000)
        }
        let seconds = Date().timeIntervalSince(start)
        // Exited normally: the exit code; killed by a signal: 128 + signal, as a shell reports it.
        let exitCode: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        // Decoded leniently: ranks writing at once can split a multi-byte character, and a strict
        // decoder would then return nothing at all of the output.
        func text(_ path: String) -> String {
            String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
        }
        return Result(exitCode: exitCode, stdout: text(outPath), stderr: text(errPath),
                      seconds: seconds, timedOut: timedOut, commandLine: argv.joined(separator: " "))
    }

    /// The environment this test process was STARTED with (an in-process MPI singleton adds
    /// OMPI_MCA_ess=singleton, PMIX_* and more, which make a child mpirun fail silently), with the
    /// root override mpirun needs in containers and without BLAS thread settings, so the ranks' own
    /// thread policy is what gets tested.
    private static func childEnvironment(adding extra: [String: String]) -> [String] {
        var environment = startupEnvironment()
        environment["OPENBLAS_NUM_THREADS"] = nil
        environment["OMP_NUM_THREADS"] = nil
        environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        environment.merge(extra) { _, added in added }
        return environment.map { "\($0.key)=\($0.value)" }
    }

    /// Linux keeps the exec-time environment in /proc/self/environ (setenv does not change it).
    /// Elsewhere: the current environment minus what an MPI runtime sets.
    private static func startupEnvironment() -> [String: String] {
        if let raw = FileManager.default.contents(atPath: "/proc/self/environ"), !raw.isEmpty {
            var environment: [String: String] = [:]
            for entry in raw.split(separator: 0) {
                let text = String(decoding: entry, as: UTF8.self)
                if let equals = text.firstIndex(of: "=") {
                    environment[String(text[..<equals])] = String(text[text.index(after: equals)...])
                }
            }
            return environment
        }
        return ProcessInfo.processInfo.environment.filter { key, _ in
            !(key.hasPrefix("OMPI_") || key.hasPrefix("PMIX_") || key.hasPrefix("OPAL_") || key.hasPrefix("ORTE_"))
        }
    }
}
