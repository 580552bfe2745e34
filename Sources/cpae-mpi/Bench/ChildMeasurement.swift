import Foundation

/// A measurement run in a child process that prints its result as one JSON line on stdout (last
/// line starting with "{"); its stderr passes through. The benchmarks that need a fresh process per
/// configuration (its own peak RSS, its own rank count) share it.
enum ChildMeasurement {
    /// This executable, for re-invoking itself.
    static var executable: String { URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path }

    /// Runs `executable arguments` and decodes its last JSON line as `T`; `what` names the run in the error.
    static func run<T: Decodable>(_ type: T.Type, executable: String, arguments: [String],
                                  environment: [String: String]? = nil, what: String) throws -> T {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        if let environment { p.environment = environment }
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0,
              let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last(where: { $0.hasPrefix("{") }) else {
            throw UserError("\(what) failed (exit \(p.terminationStatus)): \(executable) \(arguments.joined(separator: " "))")
        }
        return try JSONDecoder().decode(T.self, from: Data(line.utf8))
    }
}
