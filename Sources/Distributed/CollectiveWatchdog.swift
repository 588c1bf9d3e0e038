import Foundation
import Synchronization

/// Horovod's stall check for MPI: when a blocking MPI call waits longer than the warning
/// time, this rank prints a warning naming itself, the call and what it was doing; past the
/// abort time it ends the whole job with `MPI_Abort` (exit code 6), so a rank that hangs or
/// vanishes never leaves the others waiting forever. Settings: `parallel.stall_warning_seconds`
/// and `parallel.stall_abort_seconds` (docs/reliability.md).
///
/// The main thread marks the start and end of every MPI call that `Communicator` makes
/// (`check` does it, once `arm` has been called). A background thread compares the start
/// time with the clock. It makes no MPI call except `MPI_Abort`: the MPI standard promises
/// nothing about calling it from a thread other than the main one under
/// `MPI_THREAD_FUNNELED`, but OpenMPI carries it out from any thread (it asks the runtime
/// to kill the job; measured by the ReliabilityTests hang test with OpenMPI 4.1).
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
            let (verdict, pause) = state.withLock { state -> (Verdict, Duration) in
                let shortest = [state.warning, state.abort].filter { $0 > .zero }.min() ?? .seconds(1)
                let pause = min(max(shortest / 10, .milliseconds(20)), .seconds(1))
                guard armed.load(ordering: .acquiring), let call = state.call else { return (.wait, pause) }
                let waited = ContinuousClock.now - state.since
                let doing = state.context.isEmpty ? "" : " (\(state.context))"
                if state.abort > .zero && waited >= state.abort {
                    return (.abort("\(call)\(doing) has waited \(describe(waited)) for another rank; aborting the job "
                                   + "(parallel.stall_abort_seconds: \(describe(state.abort))). A rank is stalled or has died; "
                                   + "its own message, or mpirun's, names it."), pause)
                }
                if state.warning > .zero && waited >= state.warning && !state.warned {
                    state.warned = true
                    return (.warn("warning: \(call)\(doing) has waited \(describe(waited)) for another rank "
                                  + "(parallel.stall_warning_seconds: \(describe(state.warning))); a rank may be stalled"), pause)
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
