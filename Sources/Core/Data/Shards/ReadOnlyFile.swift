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

/// Atomic file writes: temp file in the same directory, fsync, rename, fsync the directory —
/// a crash leaves either the old file or the complete new one, never a torn one.
enum AtomicFile {
    static func write(_ chunks: [[UInt8]], to path: String) throws {
        let dir = directoryOf(path)
        let name = String(path.split(separator: "/").last ?? Substring(path))
        let tmp = dir + "/." + name + ".tmp-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw DatasetError(.io, "cannot create \(tmp): \(String(cString: strerror(errno)))")
        }
        var ok = false
        defer { if !ok { close(fd); unlink(tmp) } }
        for chunk in chunks {
            try chunk.withUnsafeBytes { raw in
                var done = 0
                while done < raw.count {
                    let n = systemWrite(fd, raw.baseAddress! + done, raw.count - done)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw DatasetError(.io, "write to \(tmp) failed: \(String(cString: strerror(errno)))")
                    }
                    done += n
                }
            }
        }
        guard fsync(fd) == 0 else { throw DatasetError(.io, "fsync \(tmp) failed: \(String(cString: strerror(errno)))") }
        ok = true
        close(fd)
        guard rename(tmp, path) == 0 else {
            let msg = String(cString: strerror(errno))
            unlink(tmp)
            throw DatasetError(.io, "rename \(tmp) → \(path) failed: \(msg)")
        }
        let dfd = open(dir, O_RDONLY | O_CLOEXEC)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
    }

    static func directoryOf(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let d = String(path[..<slash])
        return d.isEmpty ? "/" : d
    }
}

@inline(__always) private func systemWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, p, n)
    #else
    return Darwin.write(fd, p, n)
    #endif
}
