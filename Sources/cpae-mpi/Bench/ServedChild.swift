import Foundation

/// A child process that answers each command line on its stdin with one JSON line on its stdout
/// (`bench train --single --serve`, `tools/bench_train_torch.py --serve`): how `bench train --peer`
/// times our step and PyTorch's alternately, each in a process of its own (its own peak RSS) and
/// both alive, so every pair of timings is taken seconds apart. Its stderr passes through.
final class ServedChild {
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private var buffer = Data()
    /// Names the child in errors ("our step at 2 thread(s), reconstruction").
    let what: String

    init(executable: String, arguments: [String], what: String) throws {
        self.what = what
        // A child that dies makes our next write fail with EPIPE (an error we report) instead of
        // killing this process with SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = input
        process.standardOutput = output
        do { try process.run() } catch { throw UserError("cannot start \(what) (\(executable)): \(error)") }
    }

    deinit {
        if process.isRunning { process.terminate() }
    }

    /// The child's next JSON line (lines not starting with "{" are skipped), decoded as `T`.
    func read<T: Decodable>(_ type: T.Type) throws -> T {
        let line = try nextJSONLine()
        do { return try JSONDecoder().decode(T.self, from: line) } catch {
            throw UserError("\(what) answered \(String(decoding: line.prefix(300), as: UTF8.self)), not the expected JSON: \(error)")
        }
    }

    /// Sends `command` and reads the answer.
    func ask<T: Decodable>(_ command: String, _ type: T.Type) throws -> T {
        do { try input.fileHandleForWriting.write(contentsOf: Data((command + "\n").utf8)) } catch {
            throw UserError("\(what) is no longer reading its commands (\(error)); its stderr above says why")
        }
        return try read(type)
    }

    /// Closes its stdin and waits for it; a non-zero exit is an error.
    func finish() throws {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw UserError("\(what) exited with \(process.terminationStatus)") }
    }

    private func nextJSONLine() throws -> Data {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Data(buffer[buffer.startIndex..<newline])
                buffer.removeSubrange(buffer.startIndex...newline)
                if line.first == UInt8(ascii: "{") { return line }
                continue
            }
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else {
                process.waitUntilExit()
                throw UserError("\(what) exited with \(process.terminationStatus) before answering; its stderr above says why")
            }
            buffer.append(chunk)
        }
    }
}
