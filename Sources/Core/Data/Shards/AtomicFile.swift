#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
