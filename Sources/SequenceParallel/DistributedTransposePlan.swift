import CFFTW
import Distributed
import TensorCore

/// An FFTW-MPI transpose of a `rows × columns` real matrix split by rows over a group of P
/// ranks into the `columns × rows` matrix split by columns: rank r holds rows
/// `[r·rows/P, (r+1)·rows/P)` of the input in `input` and, after `execute()`, rows
/// `[r·columns/P, (r+1)·columns/P)` of the transpose in `output`. Equivalent to one
/// `MPI_Alltoall` plus local transposes (docs/distributed.md).
///
/// Both buffers have the size `fftwf_mpi_local_size_many_transposed` asks for. Planning and
/// destruction take `FFTPlanner.lock`; planning and execution are collective over the group.
/// `@unchecked Sendable`: immutable after init, used from the thread that owns the layer.
final class DistributedTransposePlan: @unchecked Sendable {
    let rows: Int
    let columns: Int
    let localRows: Int
    let localColumns: Int
    let input: TensorStorage
    let output: TensorStorage
    let plan: fftwf_plan

    init(rows: Int, columns: Int, group: Communicator) throws {
        let ranks = group.size
        guard rows % ranks == 0 && columns % ranks == 0 else {
            throw SequenceParallelError(
                "a \(rows) × \(columns) transpose does not split evenly over \(ranks) ranks (both sides must be divisible by \(ranks))")
        }
        self.rows = rows
        self.columns = columns
        let localRows = rows / ranks, localColumns = columns / ranks
        self.localRows = localRows
        self.localColumns = localColumns
        var n = [rows, columns]
        var localN0 = 0, start0 = 0, localN1 = 0, start1 = 0
        let count = FFTPlanner.lock.withLock { _ in
            fftwf_mpi_local_size_many_transposed(2, &n, 1, localRows, localColumns, group.handle,
                                                 &localN0, &start0, &localN1, &start1)
        }
        guard localN0 == localRows && localN1 == localColumns else {
            throw SequenceParallelError(
                "FFTW-MPI splits a \(rows) × \(columns) transpose as \(localN0) rows → \(localN1) columns on rank "
                + "\(group.rank), expected \(localRows) → \(localColumns)")
        }
        let input = TensorStorage(count: max(count, localRows * columns))
        let output = TensorStorage(count: max(count, localColumns * rows))
        self.input = input
        self.output = output
        let flags = UInt32(FFTPlanner.effort == .measure ? FFTW_MEASURE : FFTW_ESTIMATE)
        var made: fftwf_plan?
        FFTPlanner.lock.withLock { _ in
            fftwf_plan_with_nthreads(Int32(Threading.count))
            made = fftwf_mpi_plan_many_transpose(rows, columns, 1, localRows, localColumns, input.pointer,
                                                 output.pointer, group.handle, flags)
        }
        guard let made else {
            throw SequenceParallelError("FFTW-MPI could not plan a \(rows) × \(columns) transpose over \(ranks) ranks")
        }
        plan = made
    }

    deinit {
        FFTPlanner.lock.withLock { _ in fftwf_destroy_plan(plan) }
    }

    /// `input` (localRows × columns) → `output` (localColumns × rows). May overwrite `input`.
    /// Collective.
    func execute() { CollectiveWatchdog.watching("fftwf_mpi transpose") { fftwf_execute(plan) } }
}
