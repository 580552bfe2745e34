import CMPI

/// An MPI call returned an error code. Every communicator here uses MPI_ERRORS_RETURN, so a failing
/// call comes back as a code (turned into this error, with MPI's own text) instead of killing the
/// process from inside the library with no context.
public struct MPIError: Error, CustomStringConvertible, Sendable {
    /// The MPI function that failed, e.g. "MPI_Allreduce".
    public let function: String
    public let code: Int32
    /// MPI_Error_string of `code`.
    public let message: String

    init(function: String, code: Int32) {
        self.function = function
        self.code = code
        self.message = MPIError.string(for: code)
    }

    public var description: String { "\(function) failed: \(message) (MPI error code \(code))" }

    /// MPI's text for an error code; works before MPI_Init and after MPI_Finalize too.
    static func string(for code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: Int(cmpi_max_error_string()) + 1)
        var length: Int32 = 0
        guard MPI_Error_string(code, &buffer, &length) == MPI_SUCCESS, length > 0 else {
            return "unknown MPI error"
        }
        return String(decoding: buffer[..<Int(length)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Throws `MPIError` unless `code` is MPI_SUCCESS.
@inline(__always) @_spi(SelfTest)
public func mpiCheck(_ code: Int32, _ function: @autoclosure () -> String) throws {
    if code != MPI_SUCCESS { throw MPIError(function: function(), code: code) }
}
