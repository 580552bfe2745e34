import Core
import Foundation

/// tools/bench_train_torch.py, the PyTorch-CPU peer of `StepBenchmark`: the same model (handed over
/// as ModelConfig's JSON), objective and batch, one configuration per process, served step by step
/// (`serveArguments`) so `bench train` can alternate its steps with ours on a noisy machine; each
/// process reports its own peak RSS.
///
///     let peer = TorchTrainPeer(python: "python3", script: path, model: config, batch: 16)
///     let version = try peer.check()              // throws .unavailable without python3 or torch
///     let arguments = peer.serveArguments(threads: 1, objective: .reconstruction)   // for /usr/bin/env
public struct TorchTrainPeer: Sendable {
    /// One configuration as the script reports it.
    public struct Run: Codable, Sendable {
        public var threads: Int
        public var objective: String
        public var batch: Int
        public var samples_per_second: Double
        public var step_seconds: Double
        /// The child's peak resident set (ru_maxrss), MB = 10⁶ bytes, interpreter and torch included.
        public var peak_rss_mb: Double
        /// Its peak after `import torch`, before the model existed.
        public var baseline_rss_mb: Double
        public var clean_samples: Int
        public var samples: Int
        /// `bench train --rounds`: the round (from 1) of the run it was measured beside.
        public var round: Int?
    }

    /// The script's --check answer.
    public struct Version: Codable, Sendable {
        public var torch: String
        /// torch.backends.cpu.get_cpu_capability(): the vector ISA its kernels dispatch to ("AVX512", …).
        public var cpu_capability: String
    }

    /// Why the peer gave no figure. `unavailable` is the environment's (no python, no torch, a
    /// model the peer cannot build): a run that did not ask for the peer explicitly goes on without it.
    public enum Failure: Error, CustomStringConvertible {
        case unavailable(String)
        case failed(String)

        public var description: String {
            switch self {
            case .unavailable(let s), .failed(let s): return s
            }
        }
    }

    /// Printed with the peer's figures: the comparison is of the data terms, Adam included.
    public static let note = "the PyTorch peer does not compute the continuity regularizer J (its step is ours minus J; ours reports J's share)"

    public var python: String
    public var script: String
    public var model: ModelConfig
    public var batch: Int

    public init(python: String, script: String, model: ModelConfig, batch: Int) {
        self.python = python; self.script = script; self.model = model; self.batch = batch
    }

    /// tools/bench_train_torch.py below the current directory, else in the repository the executable
    /// was built in (…/<repo>/.build/<triple>/release/cpae-mpi), so `bench train` works from anywhere.
    public static func defaultScript() -> String? {
        let relative = "tools/bench_train_torch.py"
        if FileManager.default.fileExists(atPath: relative) { return relative }
        var dir = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        while dir.path != "/" {
            let candidate = dir.appendingPathComponent(relative).path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
            dir.deleteLastPathComponent()
        }
        return nil
    }

    /// Whether python and torch are there; the torch version and its CPU kernels.
    public func check() throws -> Version {
        let out = try invoke(["--check"] + modelArguments, what: "check")
        do { return try JSONDecoder().decode(Version.self, from: out) } catch {
            throw Failure.failed("\(script) --check printed no version JSON: \(String(decoding: out, as: UTF8.self).prefix(300))")
        }
    }

    /// The arguments of /usr/bin/env that start the script serving one configuration step by step
    /// (its --serve: `{"ready":true}`, then one timed step per "step" line, its run on "end").
    public func serveArguments(threads: Int, objective: Objective) -> [String] {
        [python, script, "--serve", "--threads", "\(threads)", "--objectives", objective.rawValue, "--batch", "\(batch)"] + modelArguments
    }

    private var modelArguments: [String] {
        let json = (try? JSONEncoder().encode(model)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return ["--model-config", json]
    }

    /// Runs the script; its stdout on success. Exit statuses: env's 127 (python missing) and the
    /// script's 3 (torch missing) and 2 (a model it cannot build) are `unavailable`, others `failed`.
    private func invoke(_ arguments: [String], what: String) throws -> Data {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [python, script] + arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        do { try p.run() } catch { throw Failure.unavailable("cannot start /usr/bin/env \(python): \(error)") }
        // stderr is drained on its own thread: a chatty child must not block on a full pipe while we read stdout.
        nonisolated(unsafe) var errData = Data()
        let drained = DispatchSemaphore(value: 0)
        DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); drained.signal() }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        drained.wait()
        p.waitUntilExit()
        let stderr = String(decoding: errData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        switch p.terminationStatus {
        case 0: return data
        case 127: throw Failure.unavailable("\(python) not found (pass --python)")
        case 2, 3: throw Failure.unavailable(stderr.isEmpty ? "\(script) exited with \(p.terminationStatus)" : String(stderr.suffix(600)))
        default:
            throw Failure.failed("PyTorch peer (\(what)): \(python) \(script) exited with \(p.terminationStatus): \(stderr.suffix(600))")
        }
    }
}
