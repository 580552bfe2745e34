#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one file wrapper for reading: a regular file opened for positioned reads (pread), closed on
/// deinit, with its size known up front so readers can check header values against it before
/// allocating anything from them. A read returns exactly the requested bytes or throws a
/// `FileError` naming the file: a short read means the file is truncated or changed while open.
public final class FileReader {
    public let path: String
    public let size: Int
    /// What to tell the user when the bytes are missing (the shard readers say how to regenerate).
    private let damagedAdvice: String
    private let fd: Int32

    public init(path: String, ifDamaged advice: String = FileError.corrupt) throws {
        self.path = path
        damagedAdvice = advice
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw FileError.system(path, "open", errno: errno) }
        var info = stat()
        if fstat(fd, &info) != 0 {
            let code = errno
            close(fd)
            throw FileError.system(path, "stat", errno: code)
        }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw FileError.system(path, "read", errno: EISDIR)
        }
        if (info.st_mode & S_IFMT) != S_IFREG {
            close(fd)
            throw FileError(path: path, problem: "is not a regular file", advice: "Give the path of a regular file")
        }
        self.fd = fd
        size = Int(info.st_size)
    }

    deinit { close(fd) }

    /// Reads exactly `count` bytes at `offset` into `destination`; a read past the end is an error.
    public func read(into destination: UnsafeMutableRawPointer, count: Int, at offset: Int) throws {
        try checkBounds(count: count, at: offset)
        var done = 0
        while done < count {
            let n = pread(fd, destination + done, count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError.system(path, "read at offset \(offset + done)", errno: errno)
            }
            if n == 0 {
                throw FileError(path: path, problem: "file ends at byte \(offset + done), expected \(count) bytes at offset \(offset) (did it shrink while open?)",
                                advice: damagedAdvice)
            }
            done += n
        }
    }

    /// Reads exactly `count` bytes at `offset`.
    public func read(count: Int, at offset: Int) throws -> [UInt8] {
        try checkBounds(count: count, at: offset)
        var bytes = [UInt8](repeating: 0, count: count)
        try bytes.withUnsafeMutableBytes { buf in
            if let base = buf.baseAddress { try read(into: base, count: count, at: offset) }
        }
        return bytes
    }

    /// Before any allocation or system call: a header that claims more bytes than the file holds
    /// gets this message, not an out-of-memory or a short read.
    private func checkBounds(count: Int, at offset: Int) throws {
        guard count >= 0, offset >= 0, count <= size - offset else {
            throw FileError(path: path, problem: "a read of \(count) bytes at offset \(offset) runs past the end of the file (\(size) bytes)",
                            advice: damagedAdvice)
        }
    }
}
