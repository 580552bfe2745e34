#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file opened read-only for positioned reads (pread), closed on deinit. Reads of exactly the
/// requested length or an error: a short read means the file changed or is truncated.
final class ReadOnlyFile {
    let path: String
    let size: Int64
    private let fd: Int32

    init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            throw DatasetError(code == ENOENT ? .missingShard : .io,
                               "cannot open \(path): \(String(cString: strerror(code)))")
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let code = errno
            close(fd)
            throw DatasetError(.io, "cannot stat \(path): \(String(cString: strerror(code)))")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw DatasetError(.io, "\(path) is not a regular file")
        }
        self.fd = fd
        self.size = Int64(st.st_size)
    }

    deinit { close(fd) }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws {
        guard offset >= 0, offset + Int64(buffer.count) <= size else {
            throw DatasetError(.truncated, "\(path): read of \(buffer.count) bytes at offset \(offset) runs past the end of the file (size \(size)); the file is truncated — \(regenerateAdvice)")
        }
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw DatasetError(.io, "\(path): read failed at offset \(offset + Int64(done)): \(String(cString: strerror(errno)))")
            }
            if n == 0 {
                throw DatasetError(.truncated, "\(path): file ended at offset \(offset + Int64(done)) while reading (it shrank while open?) — \(regenerateAdvice)")
            }
            done += n
        }
    }

    func read(count: Int, at offset: Int64) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        try bytes.withUnsafeMutableBytes { try read(into: $0, at: offset) }
        return bytes
    }
}
