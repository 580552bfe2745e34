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
}
