#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An append-only log of one JSON object per line (the per-step metrics log).
///
/// Each line is handed to the kernel with a single write(2) on an O_APPEND descriptor as soon as it
/// is appended, so a crash loses at most the line being written and a concurrent reader (tail -f,
/// a plotting script) sees whole lines. Lines are not fsync'ed (one per step would cost more than
/// the step); the checkpoint is the durable record. If the file exists and its last line was torn
/// by a crash, a newline is added first so the torn line does not swallow the next one.
///
/// Numbers are JSON numbers (Floats via `JSONValue.float`, shortest round-trip form); non-finite
/// values, which JSON cannot express, are the strings "NaN", "Infinity", "-Infinity".
/// One writer per file, used from one thread (rank 0 of a run).
public final class JSONLinesWriter {
    public let path: String
    private var fd: Int32

    /// Opens `path` for appending, creating it if needed; `truncate` starts an empty log.
    public init(path: String, truncate: Bool = false) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0), 0o644)
        if fd < 0 { throw FileError.system(path, "open the log for appending", errno: errno) }
        if try endsWithoutNewline() { try writeLine([0x0A]) }
    }

    deinit { close() }

    /// Appends one object (members in the given order) as one line.
    public func append(_ members: [(key: String, value: JSONValue)]) throws {
        try writeLine(Array((JSONValue.object(members).jsonText + "\n").utf8))
    }

    /// Appends one object written as a literal: `try log.append(["step": .int(t), "loss": .float(l)])`.
    public func append(_ members: KeyValuePairs<String, JSONValue>) throws {
        try append(members.map { (key: $0.key, value: $0.value) })
    }

    public func close() {
        if fd >= 0 { _ = systemClose(fd); fd = -1 }
    }

    private func writeLine(_ bytes: [UInt8]) throws {
        guard fd >= 0 else { throw FileError(path: path, problem: "log is closed", advice: "This is a bug; report it") }
        try bytes.withUnsafeBytes { buf in
            var done = 0
            while done < buf.count {
                let n = systemWrite(fd, buf.baseAddress! + done, buf.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw FileError.system(path, "append to the log", errno: errno)
                }
                done += n
            }
        }
    }

    private func endsWithoutNewline() throws -> Bool {
        let reader = try FileReader(path: path)
        guard reader.size > 0 else { return false }
        return try reader.read(count: 1, at: reader.size - 1) != [0x0A]
    }
}

@inline(__always) private func systemClose(_ fd: Int32) -> Int32 {
    #if canImport(Glibc)
    return Glibc.close(fd)
    #else
    return Darwin.close(fd)
    #endif
}

@inline(__always) private func systemWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, p, n)
    #else
    return Darwin.write(fd, p, n)
    #endif
}
