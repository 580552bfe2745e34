#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An error about one file the program reads or writes: which file, which tensor or field (if
/// any), what is wrong, and what the user can do about it. Every reader and writer in IO/ throws
/// this, and so does the dataset code for every failure of the file itself (open, read, short
/// file), so a command can print it as it is.
public struct FileError: Error, CustomStringConvertible, Equatable {
    public let path: String
    /// The tensor, array or field concerned, if the problem is about one.
    public let item: String?
    public let problem: String
    public let advice: String
    /// The C library's errno when a system call failed (lets a caller tell "no such file" apart).
    public let systemErrorCode: Int32?

    public init(path: String, item: String? = nil, problem: String, advice: String, systemErrorCode: Int32? = nil) {
        self.path = path
        self.item = item
        self.problem = problem
        self.advice = advice
        self.systemErrorCode = systemErrorCode
    }

    /// True when the file (or a directory on its path) does not exist.
    public var isNotFound: Bool { systemErrorCode == ENOENT }

    public var description: String {
        let subject = item.map { "\(path): '\($0)'" } ?? path
        return "\(subject): \(problem). \(advice)"
    }

    /// Advice for a file whose bytes do not make sense.
    public static let corrupt = "The file is truncated or corrupt: restore it from a backup or re-create it"

    /// A failed system call, with the C library's reason.
    static func system(_ path: String, _ action: String, errno code: Int32) -> FileError {
        let reason = String(cString: strerror(code))
        let advice: String
        switch code {
        case ENOENT: advice = "Check the path (does the file or its directory exist?)"
        case EACCES, EPERM: advice = "Check the file's permissions"
        case ENOSPC, EDQUOT: advice = "Free disk space and try again"
        case EISDIR: advice = "Give the path of a file, not of a directory"
        default: advice = "Check the path and the file system"
        }
        return FileError(path: path, problem: "cannot \(action): \(reason) (errno \(code))", advice: advice, systemErrorCode: code)
    }
    /// A write that found no room: a full file system (ENOSPC), an exhausted quota (EDQUOT) or the
    /// process's file-size limit (EFBIG). Names the file being written (not its temporary file),
    /// how far the write got, the free space statvfs reports for the file's directory, and the
    /// file-size limit if there is one — what a user needs to decide where the bytes should go.
    static func outOfSpace(_ path: String, action: String, written: Int, errno code: Int32) -> FileError {
        let reason = String(cString: strerror(code))
        let directory = parentDirectory(of: path)
        var facts = ["\(bytesText(written)) of it written"]
        var fs = statvfs()
        if statvfs(directory, &fs) == 0 {
            facts.append("\(bytesText(Int(fs.f_bavail) &* Int(fs.f_frsize))) free on the file system of \(directory)")
        }
        if let limit = fileSizeLimit() { facts.append("this process may write files of at most \(bytesText(limit)) (ulimit -f)") }
        let advice: String
        switch code {
        case EFBIG: advice = "Raise the file-size limit (ulimit -f, or the batch system's file-size option) and try again"
        case EDQUOT: advice = "Free space within your disk quota (or write to a file system with room) and try again"
        default: advice = "Free disk space (or write to a file system with room) and try again"
        }
        return FileError(path: path,
                         problem: "cannot \(action): \(reason) (errno \(code)); \(facts.joined(separator: ", ")). The unfinished temporary file was removed; a previous version of the file, if any, is unchanged",
                         advice: advice, systemErrorCode: code)
    }

    /// The soft RLIMIT_FSIZE in bytes, nil when unlimited.
    static func fileSizeLimit() -> Int? {
        var limit = rlimit()
        #if canImport(Glibc)
        let status = getrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &limit)
        let unlimited = rlim_t.max   // RLIM_INFINITY, which Swift imports as an overflowing -1
        #else
        let status = getrlimit(RLIMIT_FSIZE, &limit)
        let unlimited = RLIM_INFINITY
        #endif
        guard status == 0, limit.rlim_cur != unlimited else { return nil }
        return Int(clamping: limit.rlim_cur)
    }

    static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// "123 bytes", "4.0 KiB (4096 bytes)", "1.5 GiB (1610612736 bytes)".
    static func bytesText(_ n: Int) -> String {
        let units = ["KiB", "MiB", "GiB", "TiB", "PiB"]
        guard n >= 1024 else { return "\(n) bytes" }
        var value = Double(n) / 1024, unit = 0
        while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10) \(units[unit]) (\(n) bytes)"
    }
}
