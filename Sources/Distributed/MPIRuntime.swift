import CFFTW
import CMPI
import Foundation
import Synchronization
import TensorCore

/// The process-wide MPI and FFTW-MPI lifecycle.
///
/// `initialize()` runs, once per process and in the order the FFTW manual requires:
/// `MPI_Init_thread(MPI_THREAD_FUNNELED)` → `fftwf_init_threads` → `fftwf_mpi_init`, and
/// registers an exit hook that calls `fftwf_mpi_cleanup` and `MPI_Finalize`, so that
/// `mpirun` exits 0 when every rank succeeds. A process started without `mpirun` becomes
/// an MPI singleton of size 1. Only the main thread makes MPI calls (FUNNELED).
public enum MPIRuntime {
    static let state = Mutex<Bool>(false)

    /// Initialises MPI and FFTW-MPI if this process has not yet; returns the world.
    @discardableResult
    public static func initialize() -> Communicator {
        let first = state.withLock { initialized in
            if initialized { return false }
            var already: Int32 = 0
            MPI_Initialized(&already)
            if already == 0 {
                var provided: Int32 = 0
                let code = MPI_Init_thread(nil, nil, Int32(MPI_THREAD_FUNNELED), &provided)
                guard code == MPI_SUCCESS else {
                    exitWithMessage("MPI_Init_thread failed with error \(code): \(MPIError.message(for: code)); start the job "
                                    + "with a working mpirun or srun, or alone", code: 6)
                }
                if provided < Int32(MPI_THREAD_FUNNELED) {
                    FileHandle.standardError.write(Data(
                        "warning: MPI provides thread level \(provided) < FUNNELED; threads run only computation\n".utf8))
                }
                atexit { MPIRuntime.finalize() }
            }
            Threading.initializeFFTWThreads()
            fftwf_mpi_init()
            // Errors come back as return codes (turned into Swift errors) instead of aborting.
            MPI_Comm_set_errhandler(pv_mpi_comm_world(), pv_mpi_errors_return())
            initialized = true
            return true
        }
        if first { measureNodeShare() }
        return Communicator.world
    }

    /// Tells `Threading` this rank's share of its machine's cores. The ranks on one machine sum,
    /// CPU by CPU, how many of them may run there (their affinity masks: mpirun's `--bind-to`,
    /// a SLURM cpuset); each rank then counts 1 / that for each CPU of its mask, capped by the
    /// cgroup's CPU quota split among them. `PARSEVAL_THREADS` and `parallel.threads` override it.
    static func measureNodeShare() {
        let world = Communicator(handle: pv_mpi_comm_world(), owned: false)
        guard world.size > 1, ProcessInfo.processInfo.environment["PARSEVAL_THREADS"] == nil,
              let node = try? world.splitByNode() else { return }
        let mask = Machine.affinity()
        var width = [Double(max(ProcessInfo.processInfo.processorCount, (mask.max() ?? 0) + 1))]
        guard (try? node.allreduce(&width, .max)) != nil else { return }
        var ranksPerCPU = [Double](repeating: 0, count: Int(width[0]))
        for cpu in mask { ranksPerCPU[cpu] = 1 }
        guard (try? node.allreduce(&ranksPerCPU)) != nil else { return }
        var share = Machine.fairShare(of: mask, ranksPerCPU: ranksPerCPU.map { Int($0) })
        if let quota = Machine.cgroupQuota() { share = min(share, max(1, Int(quota.rounded(.up)) / node.size)) }
        Threading.setNodeShare(share)
    }

    /// True once MPI is initialised and not yet finalised.
    public static var isActive: Bool {
        var initialized: Int32 = 0, finalized: Int32 = 0
        MPI_Initialized(&initialized)
        MPI_Finalized(&finalized)
        return initialized != 0 && finalized == 0
    }

    /// Releases FFTW-MPI and finalises MPI; a no-op if already finalised.
    public static func finalize() {
        var finalized: Int32 = 0
        MPI_Finalized(&finalized)
        if finalized != 0 { return }
        ArrivalLedger.closeAll()
        FFTPlanner.lock.withLock { _ in fftwf_mpi_cleanup() }
        MPI_Finalize()
    }

    /// Ends every rank of the job: prints `message` to standard error with this rank's
    /// number, then `MPI_Abort`. Used when one rank fails so that no other rank hangs.
    ///
    /// With several ranks it pauses first: a rank on another host reaches mpirun's output only
    /// through its daemon, and an abort kills the daemons before they forward what is in flight
    /// (measured on the multi-host rig: every line lost). Rank 0 waits 0.5 s; the others wait
    /// 1.5 s, so that rank 0 — whose report names every failed rank (`PeerFailure`) — is heard
    /// and aborts first where it can.
    public static func abort(_ message: String, code: Int32 = 1) -> Never {
        let world = isActive ? Communicator.world : nil
        let rank = world?.rank ?? 0
        FileHandle.standardError.write(Data("parseval: rank \(rank): \(message)\n".utf8))
        if let world {
            if world.size > 1 { usleep(rank == 0 ? 500_000 : 1_500_000) }
            MPI_Abort(pv_mpi_comm_world(), code)
        }
        exit(code)
    }

    /// Library versions, for `parseval info`.
    public static var libraryVersion: String {
        var buffer = [CChar](repeating: 0, count: Int(pv_mpi_max_library_version_string()) + 1)
        var length: Int32 = 0
        MPI_Get_library_version(&buffer, &length)
        let text = String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text.split(separator: ",").first.map(String.init) ?? text
    }
}
