#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An append-only log of one JSON record per line (the per-step metrics log), encoded by
/// `JSONCoding` (sorted keys; non-finite numbers as "NaN", "Infinity", "-Infinity").
///
/// Each line is handed to the kernel with a single write(2) on an O_APPEND descriptor as soon as it
/// is appended, so a crash loses at most the line being written and a concurrent reader (tail -f,
/// a plotting script) sees whole lines. Lines are not fsync'ed (one per step would cost more than
/// the step); the checkpoint is the durable record. If the file exists and its last line was torn
/// by a crash, a newline is added first so the torn line does not swallow the next one.
/// One writer per file, used from one thread (rank 0 of a run).
public final class JSONLinesWriter<Record: Encodable> {
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

    /// Appends one record as one line.
    public func append(_ record: Record) throws {
        try writeLine(try JSONLines.line(record))
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

/// The line format shared by `JSONLinesWriter` and its readers.
public enum JSONLines {
    /// One record as a line, newline included.
    public static func line<Record: Encodable>(_ record: Record) throws -> [UInt8] {
        try JSONCoding.encode(record) + [0x0A]
    }

    /// Every complete line of `path` decoded as `Record`; a decoding error names the file, the
    /// line and the field. A last line without its newline is being written, or was torn by a
    /// crash (see `JSONLinesWriter`), and is left out.
    public static func read<Record: Decodable>(_ type: Record.Type, from path: String) throws -> [Record] {
        let reader = try FileReader(path: path)
        let bytes = try reader.read(count: reader.size, at: 0)
        var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
        lines.removeLast()   // empty after the final newline, else the unfinished line
        return try lines.enumerated().map { index, line in
            try JSONCoding.decode(type, from: Array(line), file: "\(path) line \(index + 1)")
        }
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
