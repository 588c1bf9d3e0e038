import CFFTW
import Distributed
import TensorCore

/// A pair of FFTW-MPI 1-D complex transforms of length N (forward, sign −1, and backward,
/// sign +1) over `howmany` interleaved sequences split by tokens over a group of P ranks,
/// executed in place on the buffer this class owns.
///
/// Layout (FFTW's "howmany tuples"): the buffer holds `[N/P][howmany]` complex values; before
/// `forward()` row i is token `tokenStart + i`, after it row i is frequency `frequencyStart + i`
/// (FFTW's default, unscrambled order). `backward()` maps the frequency block back to the
/// token block. Both are unnormalised.
///
/// FFTW splits evenly only when N is divisible by P² (docs/distributed.md); any other split is
/// refused at construction. Planning and destruction take `FFTPlanner.lock`; planning and
/// execution are collective over the group.
/// `@unchecked Sendable`: the plans are immutable after init and used from the thread that owns
/// the layer (MPI is FUNNELED).
final class DistributedFourierPlan: @unchecked Sendable {
    let length: Int
    let howmany: Int
    /// N/P: the tokens in, and the frequencies out of, this rank's block.
    let localLength: Int
    let tokenStart: Int
    let frequencyStart: Int
    /// `fftwf_mpi_local_size_many_1d`'s complex element count (at least localLength · howmany).
    let buffer: TensorStorage
    let forwardPlan: fftwf_plan
    let backwardPlan: fftwf_plan

    init(length: Int, howmany: Int, group: Communicator) throws {
        let ranks = group.size
        guard length % (ranks * ranks) == 0 else {
            throw SequenceParallelError(
                "sequence length \(length) is not divisible by P² = \(ranks * ranks) (P = \(ranks) ranks): "
                + "FFTW-MPI's distributed 1-D transform would split it unevenly")
        }
        self.length = length
        self.howmany = howmany
        localLength = length / ranks
        let flags = UInt32(FFTPlanner.effort == .measure ? FFTW_MEASURE : FFTW_ESTIMATE)
        var sizes: [(count: Int, inLength: Int, inStart: Int, outLength: Int, outStart: Int)] = []
        for sign in [FFTW_FORWARD, FFTW_BACKWARD] {
            var localIn = 0, inStart = 0, localOut = 0, outStart = 0
            let count = FFTPlanner.lock.withLock { _ in
                fftwf_mpi_local_size_many_1d(length, howmany, group.handle, sign, flags, &localIn, &inStart,
                                             &localOut, &outStart)
            }
            sizes.append((count, localIn, inStart, localOut, outStart))
        }
        let expected = group.rank * localLength
        for (size, direction) in zip(sizes, ["forward", "backward"])
        where size.inLength != localLength || size.outLength != localLength || size.inStart != expected
            || size.outStart != expected {
            throw SequenceParallelError(
                "FFTW-MPI splits a \(direction) transform of length \(length) over \(ranks) ranks as "
                + "\(size.inLength) tokens from \(size.inStart) → \(size.outLength) frequencies from \(size.outStart) "
                + "on rank \(group.rank); sequence parallelism needs \(localLength) from \(expected)")
        }
        tokenStart = expected
        frequencyStart = expected
        buffer = TensorStorage(count: 2 * max(sizes.map(\.count).max() ?? 0, localLength * howmany))
        var n = [length]
        let data = UnsafeMutableRawPointer(buffer.pointer).assumingMemoryBound(to: fftwf_complex.self)
        var plans: [fftwf_plan?] = []
        FFTPlanner.lock.withLock { _ in
            fftwf_plan_with_nthreads(Int32(Threading.count))
            plans = [FFTW_FORWARD, FFTW_BACKWARD].map { sign in
                fftwf_mpi_plan_many_dft(1, &n, howmany, ptrdiff_t(FFTW_MPI_DEFAULT_BLOCK), ptrdiff_t(FFTW_MPI_DEFAULT_BLOCK),
                                        data, data, group.handle, sign, flags)
            }
        }
        guard let forward = plans[0], let backward = plans[1] else {
            FFTPlanner.lock.withLock { _ in plans.compactMap { $0 }.forEach(fftwf_destroy_plan) }
            throw SequenceParallelError(
                "FFTW-MPI could not plan a distributed transform of length \(length) × \(howmany) over \(ranks) ranks")
        }
        forwardPlan = forward
        backwardPlan = backward
        buffer.pointer.initialize(repeating: 0, count: buffer.count)  // FFTW_MEASURE scribbles on it
    }

    deinit {
        FFTPlanner.lock.withLock { _ in
            fftwf_destroy_plan(forwardPlan)
            fftwf_destroy_plan(backwardPlan)
        }
    }

    /// `[N/P][howmany]` complex, as interleaved (re, im) Floats.
    var data: UnsafeMutablePointer<Float> { buffer.pointer }

    /// Token block → frequency block, Σ_n x_n e^{−2πi kn/N}. Collective.
    func forward() { CollectiveWatchdog.watching("fftwf_mpi forward transform") { fftwf_execute(forwardPlan) } }

    /// Frequency block → token block, Σ_k X_k e^{+2πi kn/N}. Collective.
    func backward() { CollectiveWatchdog.watching("fftwf_mpi backward transform") { fftwf_execute(backwardPlan) } }
}
