#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-file reads and atomic writes (temporary file in the same directory, fsync, rename), so a
/// crash never leaves a half-written image behind. Errors name the path and the OS reason.
enum ImageFileIO {
    static func read(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw ImageCodecError(source: path, reason: "cannot open: \(osError())") }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { posixRead(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ImageCodecError(source: path, reason: "read failed: \(osError())")
            }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }

    static func write(_ bytes: [UInt8], to path: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw ImageCodecError(source: path, reason: "cannot create \(temporary): \(osError())") }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { posixWrite(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                let reason = osError(); close(fd); unlink(temporary)
                throw ImageCodecError(source: path, reason: "write failed: \(reason)")
            }
            offset += n
        }
        guard fsync(fd) == 0 else {
            let reason = osError(); close(fd); unlink(temporary)
            throw ImageCodecError(source: path, reason: "fsync failed: \(reason)")
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let reason = osError(); unlink(temporary)
            throw ImageCodecError(source: path, reason: "rename from \(temporary) failed: \(reason)")
        }
    }

    private static func osError() -> String { String(cString: strerror(errno)) }
}

// The enum's own `read`/`write` shadow the C functions inside it.
private func posixRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int { read(fd, buffer, count) }
private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int { write(fd, buffer, count) }
