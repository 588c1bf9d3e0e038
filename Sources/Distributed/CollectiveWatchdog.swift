import Foundation
import Synchronization

/// Horovod's stall check for MPI: when an MPI call waits longer than the warning time, this
/// rank prints a warning naming itself, the call, what it was doing and the ranks it waits
/// for; past the abort time the job ends with `MPI_Abort` (exit code 6) and a message naming
/// the rank(s) that never arrived, so a rank that hangs or vanishes never leaves the others
/// waiting forever. Settings: `parallel.stall_warning_seconds` and
/// `parallel.stall_abort_seconds` (docs/reliability.md).
///
/// Two mechanisms, one set of times:
/// - `Communicator`'s collectives, once armed, run non-blocking and the main thread polls
///   them while reading arrival notes (`ArrivalLedger`): their messages name the missing ranks.
/// - Blocking calls (communicator set-up, FFTW-MPI's transposes through `watching`) are timed:
///   the main thread marks their start and end, and a background thread compares the start
///   with the clock. It makes no MPI call except `MPI_Abort`: the MPI standard promises
///   nothing about calling it from a thread other than the main one under
///   `MPI_THREAD_FUNNELED`, but OpenMPI carries it out from any thread (it asks the runtime to
///   kill the job; measured by the ReliabilityTests hang test with OpenMPI 4.1). These
///   messages cannot name the missing rank.
///
/// Phases where one rank works alone while the others wait (rank 0 writing a checkpoint,
/// loading data) run under `patience`, which multiplies both times.
public enum CollectiveWatchdog {
    struct State {
        var rank = 0
        var warning: Duration = .zero
        var abort: Duration = .zero
        var watcherStarted = false
        /// The MPI call the main thread is in, and since when.
        var call: String?
        var since = ContinuousClock.now
        var warned = false
        /// What the program is doing, e.g. "step 12"; set by the trainer.
        var context = ""
        /// Multiplies both times during a `patience` phase.
        var patience = 1.0
        var phase = ""
    }

    /// The times in force now, and the " (step 12)" that names what the program is doing.
    struct Times {
        var warning: Duration
        var abort: Duration
        var doing: String
    }

    static func times() -> Times {
        state.withLock { state in
            let what = [state.context, state.phase].filter { !$0.isEmpty }.joined(separator: ", ")
            return Times(warning: state.warning * state.patience, abort: state.abort * state.patience,
                         doing: what.isEmpty ? "" : " (\(what))")
        }
    }

    /// Runs `body`, in which one rank may work alone for long while the others wait (every
    /// rank calls it at the same point), with both times multiplied by `factor`; `phase`
    /// joins the context in messages ("writing checkpoint").
    public static func patience<T>(_ factor: Double, _ phase: String, _ body: () throws -> T) rethrows -> T {
        guard isArmed else { return try body() }
        let saved = state.withLock { state -> (Double, String) in
            defer { state.patience = factor; state.phase = phase }
            return (state.patience, state.phase)
        }
        defer { state.withLock { state in (state.patience, state.phase) = saved } }
        return try body()
    }

    /// Times `body`, a blocking call that makes MPI calls itself (an FFTW-MPI transpose),
    /// described by `call`; a no-op unless armed.
    public static func watching(_ call: @autoclosure () -> String, _ body: () -> Void) {
        guard isArmed else { return body() }
        _ = timing(call()) { body(); return 0 }
    }

    static let state = Mutex(State())
    /// Read on every MPI call: when false, calls are not timed at all.
    static let armed = Atomic<Bool>(false)

    /// Starts watching (or changes the times). 0 turns the warning, or the abort, off.
    public static func arm(rank: Int, warningSeconds: Double, abortSeconds: Double) {
        let startWatcher = state.withLock { state -> Bool in
            state.rank = rank
            state.warning = .seconds(max(warningSeconds, 0))
            state.abort = .seconds(max(abortSeconds, 0))
            defer { state.watcherStarted = true }
            return !state.watcherStarted
        }
        armed.store(warningSeconds > 0 || abortSeconds > 0, ordering: .releasing)
        if startWatcher { Thread.detachNewThread { watch() } }
    }

    /// Names what the program is doing in stall messages ("step 12").
    public static func setContext(_ context: @autoclosure () -> String) {
        guard isArmed else { return }
        let text = context()
        state.withLock { $0.context = text }
    }

    static var isArmed: Bool { armed.load(ordering: .relaxed) }

    /// Runs `body`, an MPI call described by `call`, with its start time on record.
    static func timing(_ call: String, _ body: () -> Int32) -> Int32 {
        state.withLock { state in
            state.call = call
            state.since = .now
            state.warned = false
        }
        let code = body()
        let warned = state.withLock { state -> (String, Duration)? in
            defer { state.call = nil }
            return state.warned ? (call, ContinuousClock.now - state.since) : nil
        }
        if let (call, waited) = warned {
            report("\(call) completed after \(describe(waited))")
        }
        return code
    }

    // MARK: - The watcher thread

    enum Verdict { case wait, warn(String), abort(String) }

    static func watch() {
        while true {
            let times = CollectiveWatchdog.times()
            let (verdict, pause) = state.withLock { state -> (Verdict, Duration) in
                let shortest = [times.warning, times.abort].filter { $0 > .zero }.min() ?? .seconds(1)
                let pause = min(max(shortest / 10, .milliseconds(20)), .seconds(1))
                guard armed.load(ordering: .acquiring), let call = state.call else { return (.wait, pause) }
                let waited = ContinuousClock.now - state.since
                if times.abort > .zero && waited >= times.abort {
                    return (.abort("\(call)\(times.doing) has waited \(describe(waited)) for another rank; aborting the job "
                                   + "(parallel.stall_abort_seconds: \(describe(times.abort))). A rank is stalled or has died; "
                                   + "its own message, or mpirun's, names it."), pause)
                }
                if times.warning > .zero && waited >= times.warning && !state.warned {
                    state.warned = true
                    return (.warn("warning: \(call)\(times.doing) has waited \(describe(waited)) for another rank "
                                  + "(parallel.stall_warning_seconds: \(describe(times.warning))); a rank may be stalled"), pause)
                }
                return (.wait, pause)
            }
            switch verdict {
            case .wait: break
            case .warn(let message): report(message)
            case .abort(let message): MPIRuntime.abort(message, code: 6)
            }
            Thread.sleep(forTimeInterval: seconds(pause))
        }
    }

    static func report(_ message: String) {
        let rank = state.withLock { $0.rank }
        FileHandle.standardError.write(Data("parseval: rank \(rank): \(message)\n".utf8))
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// "3.1 s", "75 s".
    static func describe(_ duration: Duration) -> String {
        let value = seconds(duration)
        return value >= 10 ? "\(Int(value)) s" : String(format: "%.1f s", value)
    }
}
