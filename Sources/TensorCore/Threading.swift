import CBLAS
import CFFTW
import Dispatch
import Foundation
import Synchronization

/// The one place that sets how many threads a rank uses: the matrix engine (oneDNN gets the
/// count with every product; OpenBLAS through `openblas_set_num_threads`), FFTW and the
/// `parallelFor` used by elementwise kernels all follow `Threading.count`.
///
/// Default: `PARSEVAL_THREADS` if set, else this rank's share of the cores it may run on
/// (`Machine`: its affinity mask, capped by a cgroup CPU quota). Under mpirun the MPI runtime
/// measures the share once every rank has started (`nodeShare`): ranks bound to cores of their
/// own keep them, ranks that share one mask split it — so `mpirun -np 2` on 2 cores runs one
/// thread per rank, and a rank bound to one core never runs 8 threads on it.
public enum Threading {
    static let configured = Atomic<Int>(0)
    static let fftwThreadsReady = Mutex<Bool>(false)
    static let measuredShare = Atomic<Int>(0)

    /// The thread count in force (configures the default on first use).
    public static var count: Int {
        let value = configured.load(ordering: .relaxed)
        if value > 0 { return value }
        apply(threads: defaultCount(), explicit: false)
        return configured.load(ordering: .relaxed)
    }

    /// `PARSEVAL_THREADS` when set to a positive integer; else the share the MPI runtime
    /// measured; else the usable cores divided by the ranks mpirun placed on this machine.
    public static func defaultCount(environment: [String: String] = ProcessInfo.processInfo.environment) -> Int {
        if let text = environment["PARSEVAL_THREADS"], let value = Int(text), value > 0 { return min(value, maximum) }
        let share = measuredShare.load(ordering: .relaxed)
        if share > 0 { return share }
        return max(1, Machine.usableCores() / ranksOnThisHost(environment: environment))
    }

    /// Records this rank's share of the node's cores, measured across the node's ranks
    /// (`MPIRuntime`); a count already in force that came from the default follows it.
    public static func setNodeShare(_ threads: Int) {
        measuredShare.store(max(1, threads), ordering: .relaxed)
        if configured.load(ordering: .relaxed) > 0 && !explicitlySet.load(ordering: .relaxed) {
            apply(threads: defaultCount(), explicit: false)
        }
    }
    /// True when the count in force was asked for (`configure`), not taken from the default.
    static let explicitlySet = Atomic<Bool>(false)

    /// The ranks mpirun placed on this machine (`OMPI_COMM_WORLD_LOCAL_SIZE`), 1 outside mpirun:
    /// they share its cores and its memory.
    public static func ranksOnThisHost(environment: [String: String] = ProcessInfo.processInfo.environment) -> Int {
        max(1, environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap(Int.init) ?? 1)
    }

    /// The most threads a rank runs (`parallel.threads`, `--threads` and `PARSEVAL_THREADS` are
    /// held to it; OpenBLAS and FFTW take the count as a C int).
    public static let maximum = 1024

    /// Sets the thread count for matrix products, FFTW plans made from now on, and `parallelFor`
    /// (1 … `maximum`; callers check what users give).
    public static func configure(threads: Int) { apply(threads: threads, explicit: true) }

    static func apply(threads: Int, explicit: Bool) {
        precondition((1...maximum).contains(threads), "Threading.configure: thread count must be 1…\(maximum), got \(threads)")
        initializeFFTWThreads()
        openblas_set_num_threads(Int32(threads))
        configured.store(threads, ordering: .relaxed)
        explicitlySet.store(explicit, ordering: .relaxed)
    }

    /// Runs `body` with every matrix product on one thread, for regions that call gemm from
    /// several `parallelFor` threads at once (one small product per task), then restores
    /// `count` threads. Not reentrant; call it from the thread that runs the step.
    public static func withSingleThreadedBLAS<R>(_ body: () throws -> R) rethrows -> R {
        let threads = count
        if threads == 1 { return try body() }
        openblas_set_num_threads(1)
        singleThreadedBLAS.store(true, ordering: .relaxed)
        defer {
            singleThreadedBLAS.store(false, ordering: .relaxed)
            openblas_set_num_threads(Int32(threads))
        }
        return try body()
    }

    /// True inside `withSingleThreadedBLAS`: each gemm occupies one core, not `count`.
    static let singleThreadedBLAS = Atomic<Bool>(false)

    /// Calls `fftwf_init_threads` once per process. The MPI runtime calls this between
    /// `MPI_Init_thread` and `fftwf_mpi_init`, as the FFTW manual orders.
    public static func initializeFFTWThreads() {
        fftwThreadsReady.withLock { ready in
            if ready { return }
            guard fftwf_init_threads() != 0 else { exitWithMessage("fftwf_init_threads failed (FFTW cannot start threads)", code: 1) }
            ready = true
        }
    }
}

/// Runs `body` over `0..<count` split into contiguous chunks of at least `grain` items,
/// on up to `Threading.count` threads. Chunks are disjoint; `body` must only write
/// locations owned by its chunk.
public func parallelFor(_ count: Int, grain: Int = 16_384, _ body: (Range<Int>) -> Void) {
    let threads = Threading.count
    let chunks = min(threads, max(1, count / max(grain, 1)))
    if chunks <= 1 {
        if count > 0 { body(0..<count) }
        return
    }
    let step = (count + chunks - 1) / chunks
    withoutActuallyEscaping(body) { body in
        let shared = DisjointChunks(body: body)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let start = chunk * step
            let end = min(count, start + step)
            if start < end { shared.body(start..<end) }
        }
    }
}

/// `@unchecked Sendable`: `parallelFor` hands each thread a disjoint range, and its
/// contract requires `body` to write only what its range owns.
private struct DisjointChunks: @unchecked Sendable {
    let body: (Range<Int>) -> Void
}
