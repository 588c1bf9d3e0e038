import CMPI

// MARK: - Collectives beyond allreduce. Every rank of the group must call each of these
// in the same order with matching sizes.

extension Communicator {
    /// Copies `buffer` from `root` to every rank, in place.
    public func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int = 0) throws {
        try broadcastBytes(UnsafeMutableRawBufferPointer(buffer), root: root)
    }

    /// Copies raw bytes from `root` to every rank, in place.
    public func broadcastBytes(_ bytes: UnsafeMutableRawBufferPointer, root: Int = 0) throws {
        // MPI counts are Int32: send in chunks of at most 1 GiB.
        var offset = 0
        while offset < bytes.count {
            let chunk = min(bytes.count - offset, 1 << 30)
            let start = bytes.baseAddress! + offset
            try collective("MPI_Bcast(\(chunk) bytes from rank \(root))",
                           blocking: { MPI_Bcast(start, Int32(chunk), pv_mpi_byte(), Int32(root), handle) },
                           start: { MPI_Ibcast(start, Int32(chunk), pv_mpi_byte(), Int32(root), handle, $0) })
            offset += chunk
        }
    }

    /// Broadcasts a string from `root` (other ranks' argument is ignored).
    public func broadcast(_ text: String, root: Int = 0) throws -> String {
        var length = [Int64(text.utf8.count)]
        try length.withUnsafeMutableBytes { bytes in try broadcastBytes(bytes, root: root) }
        var bytes = rank == root ? Array(text.utf8) : [UInt8](repeating: 0, count: Int(length[0]))
        try bytes.withUnsafeMutableBytes { raw in try broadcastBytes(raw, root: root) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Splits the group: ranks with the same `color` form a new communicator, ordered by `key`.
    public func split(color: Int, key: Int) throws -> Communicator {
        var comm: MPI_Comm? = nil
        try check(MPI_Comm_split(handle, Int32(color), Int32(key), &comm), "MPI_Comm_split(color \(color))", rank: rank)
        guard let comm else { throw MPIError(call: "MPI_Comm_split returned no communicator", code: -1, rank: rank) }
        MPI_Comm_set_errhandler(comm, pv_mpi_errors_return())
        return Communicator(handle: comm, owned: true)
    }

    /// The ranks of this group that share this machine's memory (`MPI_Comm_split_type`
    /// `MPI_COMM_TYPE_SHARED`), ordered as here.
    public func splitByNode() throws -> Communicator {
        var comm: MPI_Comm? = nil
        try check(MPI_Comm_split_type(handle, Int32(MPI_COMM_TYPE_SHARED), Int32(rank), pv_mpi_info_null(), &comm),
                  "MPI_Comm_split_type(shared)", rank: rank)
        guard let comm else { throw MPIError(call: "MPI_Comm_split_type returned no communicator", code: -1, rank: rank) }
        MPI_Comm_set_errhandler(comm, pv_mpi_errors_return())
        return Communicator(handle: comm, owned: true)
    }

    /// Starts an in-place sum over all ranks; the buffer must stay alive and untouched
    /// until the returned request completes.
    public func startAllreduce(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> AllreduceRequest {
        let ledger = try watchedLedger()
        let number = try ledger?.arrive() ?? 0
        var request: MPI_Request? = pv_mpi_request_null()
        try check(MPI_Iallreduce(pv_mpi_in_place(), buffer.baseAddress, Int32(buffer.count), pv_mpi_float(),
                                 pv_mpi_sum(), handle, &request), "MPI_Iallreduce(\(buffer.count) floats)", rank: rank, timed: false)
        return AllreduceRequest(request: request, rank: rank, count: buffer.count, ledger: ledger, number: number)
    }
}

/// An in-flight non-blocking allreduce. `wait()` must be called before the buffer is read.
public final class AllreduceRequest {
    var request: MPI_Request?
    let rank: Int
    let count: Int
    /// The arrival ledger and collective number, while the stall watchdog is armed.
    let ledger: ArrivalLedger?
    let number: Int64
    public private(set) var isComplete = false

    init(request: MPI_Request?, rank: Int, count: Int, ledger: ArrivalLedger?, number: Int64) {
        self.request = request
        self.rank = rank
        self.count = count
        self.ledger = ledger
        self.number = number
    }

    /// Lets MPI progress the operation; true once complete.
    @discardableResult
    public func test() throws -> Bool {
        if isComplete { return true }
        var flag: Int32 = 0
        try check(MPI_Test(&request, &flag, pv_mpi_status_ignore()), "MPI_Test(allreduce of \(count) floats)",
                  rank: rank, timed: false)
        isComplete = flag != 0
        return isComplete
    }

    public func wait() throws {
        if isComplete { return }
        if let ledger {
            try ledger.wait(&request, call: { "MPI_Wait(allreduce of \(count) floats)" }, number: number)
        } else {
            try check(MPI_Wait(&request, pv_mpi_status_ignore()), "MPI_Wait(allreduce of \(count) floats)", rank: rank)
        }
        isComplete = true
    }
}

extension Communicator {
    /// True on every rank when every rank passed the same value (e.g. a parameter checksum).
    public func agree(on value: UInt64) throws -> Bool {
        var extremes = [value, value]  // the smallest and the largest over the ranks
        try extremes.withUnsafeMutableBufferPointer { buffer in
            for (index, operation) in [pv_mpi_min(), pv_mpi_max()].enumerated() {
                let result = buffer.baseAddress! + index
                try collective("MPI_Allreduce(checksum)",
                               blocking: { MPI_Allreduce(pv_mpi_in_place(), result, 1, pv_mpi_uint64(), operation, handle) },
                               start: { MPI_Iallreduce(pv_mpi_in_place(), result, 1, pv_mpi_uint64(), operation, handle, $0) })
            }
        }
        return extremes[0] == extremes[1]
    }
}

extension Communicator {
    /// Runs `body` on every rank; if it throws on any rank, it throws on every rank (the
    /// local error where there is one), so no rank walks on into a collective the others
    /// skip. A rank that did not fail throws `PeerFailure`, which on rank 0 carries every
    /// failed rank's message and the largest exit code among them (`Communicator.exitCode`):
    /// rank 0's report names the failure even where the failed rank's own output is lost (a
    /// remote host's output when the job is aborted). A collective itself: every rank must call it.
    public func allOrNone<T>(_ body: () throws -> T) throws -> T {
        let result = Result { try body() }
        var failure: (any Error)? = nil
        if case .failure(let error) = result { failure = error }
        var flags: [Double] = [failure == nil ? 0 : 1, failure.map { Double(Communicator.exitCode($0)) } ?? 0]
        try allreduce(&flags, .max)
        guard flags[0] > 0 else { return try result.get() }
        let messages = try gather(failure.map { "rank \(rank): \($0)" } ?? "")
        if let failure { throw failure }
        throw PeerFailure(rank: rank, failures: messages.filter { !$0.isEmpty }, code: Int32(flags[1]))
    }
}

/// Another rank failed in a step every rank had to complete. On rank 0, `failures` holds each
/// failed rank's message; elsewhere it is empty (rank 0 reports).
public struct PeerFailure: Error, CustomStringConvertible {
    public let rank: Int
    public let failures: [String]
    /// The largest exit code among the failed ranks' errors.
    public let code: Int32
    public var description: String {
        failures.isEmpty ? "rank \(rank): stopping because another rank failed (its message says why)"
            : "stopping because " + failures.joined(separator: "; ")
    }
}

extension Communicator {
    /// The exit code an error stands for (the `parseval` executable sets its table at start;
    /// default 1), so that every rank of a failed job exits with the failed rank's code.
    nonisolated(unsafe) public static var exitCode: (any Error) -> Int32 = { _ in 1 }
}
