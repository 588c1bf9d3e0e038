#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// SIGTERM, SIGINT and SIGUSR1 ask a training run to stop cleanly: the step in progress
/// finishes, every rank learns of the request in that step's all-reduce (so a signal on any
/// one rank stops them all at the same step), rank 0 writes a checkpoint, and the job exits
/// with `StopSignals.exitCode`. A second signal ends the process at once (128 + the signal),
/// for an operator who will not wait. SLURM sends SIGTERM at the time limit and sites send
/// SIGUSR1 or SIGTERM before preemption; launch/slurm.sbatch asks for SIGUSR1 ahead of the
/// limit and requeues on this exit code after SIGUSR1, not after SIGTERM (scancel).
public enum StopSignals {
    /// The exit status of a run stopped by a signal after its checkpoint was written.
    public static let exitCode: Int32 = 7

    /// The first stop signal received, or 0.
    static let received = Atomic<Int32>(0)

    /// The signals that stop a run.
    public static let signals: [Int32] = [SIGTERM, SIGINT, SIGUSR1]

    /// Set once the run's first step has completed: from then on a signal is handled between
    /// steps. Before it (set-up, data loading, resuming, the first step with its first
    /// allocations) there is nothing new to save, so a signal ends the process at once with
    /// `exitCode`, however long set-up would take to reach a step boundary; the same command
    /// starts or resumes the run as before.
    static let stepping = Atomic<Bool>(false)

    /// What a signal before the first step prints (a C string: the handler may only write(2)).
    static let setUpMessage: StaticString = "\nparseval: stopped by a signal before the first step completed; nothing new to save. Run the same command to start or resume\n"

    /// Marks the first step done (`stepping`); idempotent.
    public static func firstStepDone() { stepping.store(true, ordering: .relaxed) }

    /// Installs the handlers (call once, after MPI is initialised: MPI may install its own).
    public static func install() {
        _ = received.load(ordering: .relaxed)  // initialise the statics before a handler can run
        _ = stepping.load(ordering: .relaxed)
        for signal in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { signal in
                // Async-signal-safe: lock-free atomics, write(2) and _exit only.
                if !StopSignals.stepping.load(ordering: .relaxed) {
                    _ = write(2, StopSignals.setUpMessage.utf8Start, StopSignals.setUpMessage.utf8CodeUnitCount)
                    _exit(StopSignals.exitCode)
                }
                if StopSignals.received.compareExchange(expected: 0, desired: signal, ordering: .relaxed).exchanged == false {
                    _exit(128 + signal)
                }
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(signal, &action, nil)
        }
    }

    /// The signal that asked this process to stop, or nil.
    public static var pending: Int32? {
        let signal = received.load(ordering: .relaxed)
        return signal == 0 ? nil : signal
    }

    /// The name of a stop signal, for messages.
    static func name(_ signal: Int32) -> String {
        switch signal {
        case SIGTERM: return "SIGTERM"
        case SIGINT: return "SIGINT"
        case SIGUSR1: return "SIGUSR1"
        default: return "signal \(signal)"
        }
    }
}

/// The run stopped on a signal after writing a checkpoint at `step`; the same command resumes it.
public struct StoppedBySignal: Error, CustomStringConvertible {
    public let step: Int
    public let signal: String
    public let checkpoint: String
    public var description: String {
        "stopped by \(signal) after step \(step); checkpoint \(checkpoint) written. Run the same command to resume"
    }
}
