import CMPI

/// A group of ranks that make collective calls together: a wrapper over one `MPI_Comm`.
///
/// Every rank of the group must make the same collective calls in the same order.
/// Errors come back as `MPIError` (the communicator uses `MPI_ERRORS_RETURN`).
/// `@unchecked Sendable`: the handle is immutable; MPI is initialised FUNNELED, so callers
/// make MPI calls from the main thread only.
public final class Communicator: @unchecked Sendable {
    public let handle: MPI_Comm
    public let rank: Int
    public let size: Int
    let owned: Bool
    /// Arrival notes for the stall check; made at the first collective once it is armed.
    var ledger: ArrivalLedger?

    /// All ranks of the job (initialises MPI on first use).
    public static var world: Communicator {
        if !MPIRuntime.isActive { MPIRuntime.initialize() }
        return worldInstance
    }
    private static let worldInstance = Communicator(handle: pv_mpi_comm_world(), owned: false)

    /// This process alone (`MPI_COMM_SELF`): a world of one inside a larger job.
    public static var selfOnly: Communicator {
        if !MPIRuntime.isActive { MPIRuntime.initialize() }
        return selfInstance
    }
    private static let selfInstance = Communicator(handle: pv_mpi_comm_self(), owned: false)

    init(handle: MPI_Comm, owned: Bool) {
        self.handle = handle
        self.owned = owned
        var rank: Int32 = 0, size: Int32 = 0
        MPI_Comm_rank(handle, &rank)
        MPI_Comm_size(handle, &size)
        self.rank = Int(rank)
        self.size = Int(size)
    }

    deinit {
        ledger?.close()
        if owned && MPIRuntime.isActive {
            var comm: MPI_Comm? = handle
            MPI_Comm_free(&comm)
        }
    }

    public var isRoot: Bool { rank == 0 }

    /// The ledger of a collective about to start, or nil while the watchdog is off.
    func watchedLedger() throws -> ArrivalLedger? {
        guard size > 1 && CollectiveWatchdog.isArmed else { return nil }
        if let ledger { return ledger }
        let made = try ArrivalLedger(communicator: handle, rank: rank, size: size)
        ledger = made
        return made
    }

    /// Runs one collective, described by `call`. Unwatched, the blocking form runs. While the
    /// watchdog is armed the non-blocking form starts (`start` fills in the request) and the
    /// main thread polls it, reading arrival notes, so that a stall names the missing ranks.
    func collective(_ call: @autoclosure () -> String, blocking: () -> Int32,
                    start: (UnsafeMutablePointer<MPI_Request?>) -> Int32) throws {
        guard let ledger = try watchedLedger() else { return try check(blocking(), call(), rank: rank) }
        let number = try ledger.arrive()
        var request: MPI_Request? = pv_mpi_request_null()
        try check(start(&request), call(), rank: rank, timed: false)
        try ledger.wait(&request, call: call, number: number)
    }

    /// Blocks until every rank of the group has called `barrier`.
    public func barrier() throws {
        try collective("MPI_Barrier", blocking: { MPI_Barrier(handle) }, start: { MPI_Ibarrier(handle, $0) })
    }

    /// Element-wise sum (or mean) of `buffer` over all ranks, in place on every rank.
    public func allreduce(_ buffer: UnsafeMutableBufferPointer<Float>, _ operation: ReduceOperation = .sum) throws {
        guard buffer.count > 0 else { return }
        let count = Int32(buffer.count)
        try collective("MPI_Allreduce(\(buffer.count) floats)",
                       blocking: { MPI_Allreduce(pv_mpi_in_place(), buffer.baseAddress, count, pv_mpi_float(), operation.mpiOp, handle) },
                       start: { MPI_Iallreduce(pv_mpi_in_place(), buffer.baseAddress, count, pv_mpi_float(), operation.mpiOp, handle, $0) })
        if operation == .mean && size > 1 {
            let scale = 1 / Float(size)
            for i in buffer.indices { buffer[i] *= scale }
        }
    }

    /// Element-wise sum (or mean) of `values` over all ranks, in place on every rank.
    public func allreduce(_ values: inout [Float], _ operation: ReduceOperation = .sum) throws {
        try values.withUnsafeMutableBufferPointer { buffer in try allreduce(buffer, operation) }
    }

    /// Element-wise reduction of Doubles (metrics, checksums), in place on every rank.
    public func allreduce(_ values: inout [Double], _ operation: ReduceOperation = .sum) throws {
        guard !values.isEmpty else { return }
        let count = values.count
        try values.withUnsafeMutableBufferPointer { buffer in
            try collective("MPI_Allreduce(\(count) doubles)",
                           blocking: { MPI_Allreduce(pv_mpi_in_place(), buffer.baseAddress, Int32(count), pv_mpi_double(),
                                                     operation.mpiOp, handle) },
                           start: { MPI_Iallreduce(pv_mpi_in_place(), buffer.baseAddress, Int32(count), pv_mpi_double(),
                                                   operation.mpiOp, handle, $0) })
        }
        if operation == .mean && size > 1 { values = values.map { $0 / Double(size) } }
    }

    /// Gathers one string from every rank to `root`, in rank order (empty on other ranks).
    public func gather(_ text: String, root: Int = 0) throws -> [String] {
        let bytes = Array(text.utf8)
        var length = Int32(bytes.count)
        var lengths = [Int32](repeating: 0, count: rank == root ? size : 0)
        try collective("MPI_Gather(lengths)",
                       blocking: { MPI_Gather(&length, 1, pv_mpi_int32(), &lengths, 1, pv_mpi_int32(), Int32(root), handle) },
                       start: { MPI_Igather(&length, 1, pv_mpi_int32(), &lengths, 1, pv_mpi_int32(), Int32(root), handle, $0) })
        var offsets = [Int32](repeating: 0, count: lengths.count)
        for i in lengths.indices.dropFirst() { offsets[i] = offsets[i - 1] + lengths[i - 1] }
        var received = [UInt8](repeating: 0, count: Int(lengths.reduce(0, +)))
        var sent = bytes
        try collective("MPI_Gatherv(\(bytes.count) bytes)",
                       blocking: { MPI_Gatherv(&sent, length, pv_mpi_byte(), &received, &lengths, &offsets, pv_mpi_byte(),
                                               Int32(root), handle) },
                       start: { MPI_Igatherv(&sent, length, pv_mpi_byte(), &received, &lengths, &offsets, pv_mpi_byte(),
                                             Int32(root), handle, $0) })
        guard rank == root else { return [] }
        return lengths.indices.map { i in
            String(decoding: received[Int(offsets[i])..<Int(offsets[i] + lengths[i])], as: UTF8.self)
        }
    }
}

/// The reductions `Communicator.allreduce` offers.
public enum ReduceOperation: Sendable {
    case sum, mean, max, min

    var mpiOp: MPI_Op {
        switch self {
        case .sum, .mean: return pv_mpi_sum()
        case .max: return pv_mpi_max()
        case .min: return pv_mpi_min()
        }
    }
}
