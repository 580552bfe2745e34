#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file opened for positioned reads (pread), with its size known up front so readers can check
/// header values against it before allocating anything from them.
public final class FileReader {
    public let path: String
    public let size: Int
    private let fd: Int32

    public init(path: String) throws {
        self.path = path
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
        self.fd = fd
        size = Int(info.st_size)
    }

    deinit { close(fd) }

    /// Reads exactly `count` bytes at `offset` into `destination`; a short file is an error.
    public func read(into destination: UnsafeMutableRawPointer, count: Int, at offset: Int) throws {
        var done = 0
        while done < count {
            let n = pread(fd, destination + done, count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError.system(path, "read", errno: errno)
            }
            if n == 0 {
                throw FileError(path: path, problem: "file ends at byte \(offset + done), expected \(count) bytes at offset \(offset)",
                                advice: FileError.corrupt)
            }
            done += n
        }
    }

    /// Reads exactly `count` bytes at `offset`. Callers check `count` against `size` first.
    public func read(count: Int, at offset: Int) throws -> [UInt8] {
        precondition(count >= 0 && offset >= 0)
        var bytes = [UInt8](repeating: 0, count: count)
        try bytes.withUnsafeMutableBytes { buf in
            if let base = buf.baseAddress { try read(into: base, count: count, at: offset) }
        }
        return bytes
    }
}
