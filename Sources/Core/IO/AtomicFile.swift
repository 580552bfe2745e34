#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a file so that readers only ever see the old content or the complete new content: the
/// bytes go to `<path>.tmp.<pid>` in the same directory (so the rename cannot cross file
/// systems), the temporary file is fsync'ed, renamed over the target, and the directory is
/// fsync'ed so the rename itself survives a crash. A process killed mid-write leaves at most a
/// stale `.tmp.<pid>` file beside an intact previous version.
///
/// A full file system (ENOSPC, EDQUOT) or a file-size limit (EFBIG: `ulimit -f`, RLIMIT_FSIZE) while
/// writing, syncing or closing is reported by `FileError.outOfSpace`: the TARGET path, the bytes
/// written so far, the free space statvfs reports for its file system and the limit; the temporary
/// file is removed (by `AtomicFile.write`, or the writer's deinit), so the previous version stays
/// as it was and nothing partial is left.
///
/// Usage: `try AtomicFile.write(bytes, to: path)`, or for streamed content
/// `try AtomicFile.write(to: path) { try $0.write(chunk) }`.
public enum AtomicFile {
    public static func temporaryPath(for path: String) -> String { "\(path).tmp.\(getpid())" }

    public static func write(_ bytes: [UInt8], to path: String) throws {
        try write(to: path) { try $0.write(bytes) }
    }

    /// Opens the temporary file, lets `body` write to it, then commits; if `body` throws, the
    /// temporary file is removed and the target is left untouched.
    public static func write(to path: String, _ body: (AtomicFileWriter) throws -> Void) throws {
        let writer = try AtomicFileWriter(path: path)
        do {
            try body(writer)
            try writer.commit()
        } catch {
            writer.abort()
            throw error
        }
    }
}

/// The open temporary file of one atomic write (see `AtomicFile`).
public final class AtomicFileWriter {
    public let path: String
    public let temporaryPath: String
    private var fd: Int32
    private var finished = false
    /// Bytes written so far (for the out-of-space message).
    private var written = 0

    public init(path: String) throws {
        AtomicFile.ignoreFileSizeSignal()
        self.path = path
        temporaryPath = AtomicFile.temporaryPath(for: path)
        fd = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 { throw failure("create the temporary file", errno: errno) }
    }

    deinit { if !finished { abort() } }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        precondition(!finished, "write after commit/abort of \(path)")
        guard var p = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {   // write(2) may write less than asked (signals, large sizes)
            let n = systemWrite(fd, p, left)
            if n < 0 {
                if errno == EINTR { continue }
                throw failure("write", errno: errno)
            }
            p += n
            left -= n
            written += n
        }
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// fsync, close, rename over the target, fsync the directory.
    public func commit() throws {
        precondition(!finished, "commit twice of \(path)")
        // fsync and close can be where a full disk shows (delayed allocation, network file systems).
        if fsync(fd) != 0 { throw failure("fsync", errno: errno) }
        let closed = close(fd)
        fd = -1
        if closed != 0 { throw failure("close", errno: errno) }
        if rename(temporaryPath, path) != 0 { throw FileError.system(path, "rename the temporary file onto", errno: errno) }
        finished = true
        try AtomicFile.syncDirectory(containing: path)
    }

    /// The error for a failed system call on the temporary file: out of space names the target
    /// and the free space; anything else the temporary file and the C library's reason.
    private func failure(_ action: String, errno code: Int32) -> FileError {
        switch code {
        case ENOSPC, EDQUOT, EFBIG: return FileError.outOfSpace(path, action: action, written: written, errno: code)
        default: return FileError.system(temporaryPath, action, errno: code)
        }
    }

    /// Closes and removes the temporary file; the target is untouched.
    public func abort() {
        guard !finished else { return }
        finished = true
        if fd >= 0 { close(fd); fd = -1 }
        unlink(temporaryPath)
    }
}

extension AtomicFile {
    /// A process over its file-size limit (RLIMIT_FSIZE, `ulimit -f`, set by some batch systems) is
    /// killed by SIGXFSZ by default — no message, a core dump at best. Ignored, write(2) fails with
    /// EFBIG instead and the writer reports it like a full disk. Done once, before the first write.
    static func ignoreFileSizeSignal() { _ = fileSizeSignalIgnored }
    private static let fileSizeSignalIgnored: Void = { _ = signal(SIGXFSZ, SIG_IGN) }()

    /// Makes a rename (or creation) in the directory of `path` durable.
    static func syncDirectory(containing path: String) throws {
        let directory = FileError.parentDirectory(of: path)
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd < 0 { throw FileError.system(directory, "open the directory to fsync it", errno: errno) }
        defer { close(dfd) }
        if fsync(dfd) != 0 && errno != EINVAL {   // some file systems cannot fsync directories
            throw FileError.system(directory, "fsync the directory", errno: errno)
        }
    }
}

/// The C library's write(2), named so the method `write` above does not shadow it.
@inline(__always)
private func systemWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, p, n)
    #else
    return Darwin.write(fd, p, n)
    #endif
}
