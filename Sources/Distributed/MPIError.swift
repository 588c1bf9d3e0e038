import CMPI

/// An MPI call that returned an error code (communicators use `MPI_ERRORS_RETURN`).
public struct MPIError: Error, CustomStringConvertible, Sendable {
    public let call: String
    public let code: Int32
    public let rank: Int

    public var description: String {
        "rank \(rank): \(call) failed with MPI error \(code): \(MPIError.message(for: code))"
    }

    static func message(for code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: Int(pv_mpi_max_error_string()) + 1)
        var length: Int32 = 0
        guard MPI_Error_string(code, &buffer, &length) == MPI_SUCCESS else { return "unknown error" }
        return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Makes the MPI call `code` and throws `MPIError` unless it returns `MPI_SUCCESS`. A blocking
/// call is timed by the `CollectiveWatchdog` once it is armed; `timed: false` is for calls that
/// return at once (starting a non-blocking operation, testing one).
@inline(__always)
func check(_ code: @autoclosure () -> Int32, _ call: @autoclosure () -> String, rank: Int, timed: Bool = true) throws {
    let result = timed && CollectiveWatchdog.isArmed ? CollectiveWatchdog.timing(call(), code) : code()
    if result != MPI_SUCCESS { throw MPIError(call: call(), code: result, rank: rank) }
}
