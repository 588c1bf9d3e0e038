import Foundation

/// Faults injected on purpose, so that tests can check what a failure does to a run
/// (docs/reliability.md). Set by the environment variable `PARSEVAL_FAULT`, read once per
/// process, as comma-separated `key:value` pairs:
///
///     PARSEVAL_FAULT=rank:1,step:3,kind:crash
///
/// `step` is the 1-based optimizer step (the step a checkpoint is written after, for the
/// checkpoint kinds); `rank` limits the fault to one rank (every rank when left out).
///
/// | kind | what happens |
/// |---|---|
/// | `exit` | at the start of the step the process exits with status 3, skipping `MPI_Finalize` |
/// | `crash` | at the start of the step the process writes to a protected page (SIGSEGV) |
/// | `hang` | at the start of the step the process sleeps forever |
/// | `nan_loss` | the step's loss is NaN |
/// | `nan_gradient` | one gradient of the step is NaN (before the all-reduce spreads it) |
/// | `nan_parameter` | one parameter is NaN after the step's update (an update that overflowed) |
/// | `kill_before_pointer` | the step's checkpoint files are written, then SIGKILL before `latest` names them |
/// | `kill_mid_write` | SIGKILL when half of the step's `model.safetensors` is written |
/// | `slow` | from the step on, every step starts with a 0.5 s pause: a slow machine, so a run lasts at least that long |
///
/// Unset, every hook is a test of a process-wide constant against nil.
public struct FaultInjection: Sendable {
    enum Kind: String, CaseIterable, Sendable {
        case exit, crash, hang
        case nanLoss = "nan_loss", nanGradient = "nan_gradient", nanParameter = "nan_parameter"
        case killBeforePointer = "kill_before_pointer", killMidWrite = "kill_mid_write"
        case slow
    }

    var kind: Kind
    var step: Int
    var rank: Int?

    public static let variable = "PARSEVAL_FAULT"

    /// This process's fault, or the reason `PARSEVAL_FAULT` could not be read.
    static let configured: (fault: FaultInjection?, problem: String?) = {
        do { return (try parse(ProcessInfo.processInfo.environment[variable]), nil) } catch { return (nil, "\(error)") }
    }()

    /// The fault this process was started with, if any; a malformed `PARSEVAL_FAULT` is a
    /// configuration error (so a test never passes because its fault was silently ignored).
    static func fromEnvironment() throws -> FaultInjection? {
        if let problem = configured.problem { throw ConfigurationError(problem) }
        return configured.fault
    }

    /// Parses `rank:R,step:S,kind:K`; nil or empty text is no fault.
    static func parse(_ text: String?) throws -> FaultInjection? {
        guard let text, !text.isEmpty else { return nil }
        func fail(_ problem: String) -> ConfigurationError {
            ConfigurationError("\(variable)='\(text)': \(problem); expected e.g. rank:1,step:3,kind:exit with kind one of "
                               + Kind.allCases.map(\.rawValue).joined(separator: ", "))
        }
        var fields: [String: String] = [:]
        for pair in text.split(separator: ",") {
            let parts = pair.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, ["rank", "step", "kind"].contains(parts[0]), fields[parts[0]] == nil else {
                throw fail("'\(pair)' is not one of rank:N, step:N, kind:NAME")
            }
            fields[parts[0]] = parts[1]
        }
        guard let kindText = fields["kind"], let kind = Kind(rawValue: kindText) else { throw fail("no valid kind") }
        guard let stepText = fields["step"], let step = Int(stepText), step >= 1 else { throw fail("step must be a number ≥ 1") }
        var rank: Int?
        if let rankText = fields["rank"] {
            guard let value = Int(rankText), value >= 0 else { throw fail("rank must be a number ≥ 0") }
            rank = value
        }
        return FaultInjection(kind: kind, step: step, rank: rank)
    }

    /// True when this fault is of `kind` and due at `step` on `rank`.
    func isDue(_ kinds: Set<Kind>, step: Int, rank: Int) -> Bool {
        kinds.contains(kind) && self.step == step && (self.rank ?? rank) == rank
    }

    // MARK: - Hooks

    /// `exit`, `crash`, `hang` and `slow`, at the start of a step.
    func strikeProcess(step: Int, rank: Int) {
        if kind == .slow && step >= self.step && (self.rank ?? rank) == rank {
            if step == self.step { announce("slow from step \(step) (0.5 s per step)", rank: rank) }
            usleep(500_000)
            return
        }
        guard isDue([.exit, .crash, .hang], step: step, rank: rank) else { return }
        announce("\(kind.rawValue) at step \(step)", rank: rank)
        switch kind {
        case .exit: _exit(3)
        case .crash:
            // A real invalid access, not raise(SIGSEGV): Swift's crash handler returns from a
            // raised signal and the process would carry on.
            let page = mmap(nil, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
            page?.storeBytes(of: 1, as: UInt8.self)
            _exit(139)  // not reached
        default:
            // The hang notices a stop request without ending, and says so once: a test waits for
            // that line (an event), not for a clock, before it sends a second signal.
            var told = false
            while true {
                if !told, let signal = StopSignals.pending {
                    announce("hang: \(StopSignals.name(signal)) received, still hanging", rank: rank)
                    told = true
                }
                usleep(10_000)
            }
        }
    }

    /// `kill_before_pointer`: called between writing a checkpoint's files and updating `latest`.
    static func checkpointFilesWritten(step: Int) {
        guard let fault = configured.fault, fault.kind == .killBeforePointer, fault.step == step else { return }
        fault.announce("killed after writing checkpoint step \(step), before updating 'latest'", rank: fault.rank ?? 0)
        kill(getpid(), SIGKILL)
    }

    /// `kill_mid_write`: called by `AtomicFile` before it writes `bytes` into `descriptor`
    /// (a temporary file that will replace `path`); for the due step's `model.safetensors`
    /// it writes the first half and kills the process.
    static func beforeWriting(_ path: String, descriptor: Int32, bytes: UnsafeRawBufferPointer) {
        guard let fault = configured.fault, fault.kind == .killMidWrite,
              path.hasSuffix(String(format: "/step-%08ld/model.safetensors", fault.step)) else { return }
        fault.announce("killed halfway through writing \(path)", rank: fault.rank ?? 0)
        _ = write(descriptor, bytes.baseAddress, bytes.count / 2)
        fsync(descriptor)
        kill(getpid(), SIGKILL)
    }

    private func announce(_ what: String, rank: Int) {
        FileHandle.standardError.write(Data("parseval: rank \(rank): injected fault (\(Self.variable)): \(what)\n".utf8))
    }
}
