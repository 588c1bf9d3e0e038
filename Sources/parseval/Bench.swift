import ArgumentParser
import Distributed
import Foundation
import TensorCore
import Training

extension Parseval {
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure the kernels and steps that the performance targets are judged by (docs/benchmarks.md).",
            discussion: """
                Each benchmark warms up, then reports the median of --repeats runs. Under \
                mpirun every rank runs it and rank 0 prints. Paste the output into docs/ with \
                the machine and the command.
                """,
            subcommands: [GemmBench.self, FFTBench.self, StepBench.self, MixersBench.self, AllreduceBench.self,
                          SeqParBench.self, DataBench.self])
    }
}

/// Options every benchmark takes.
struct BenchOptions: ParsableArguments {
    @Option(help: "Timed runs per case (the median is reported).") var repeats = 5
    @Option(help: "Untimed runs before timing (the first fills the tensor pool and the optimizer state, the second reaches the steady state).") var warmup = 2
    @Option(help: "Batch size of the standard encoder.") var batch = 4
    @Option(help: "Sequence length of the standard encoder.") var sequence = 4096
    @Option(help: "Model width of the standard encoder.") var dim = 256
    @Option(help: "MLP width of the standard encoder.") var mlp = 1024
    @Option(help: "Attention heads of the standard encoder.") var heads = 8

    func validate() throws {
        if !(1...10_000).contains(repeats) { throw ValidationError("--repeats must be 1 … 10000, got \(repeats)") }
        if !(0...10_000).contains(warmup) { throw ValidationError("--warmup must be 0 … 10000, got \(warmup)") }
        // The configuration's own bounds (SettingRules), so no size product overflows.
        for (name, value, limit) in [("batch", batch, 1 << 24), ("sequence", sequence, 1 << 24), ("dim", dim, 1 << 20),
                                     ("mlp", mlp, 1 << 20), ("heads", heads, 4096)]
        where !(1...limit).contains(value) {
            throw ValidationError("--\(name) must be 1 … \(limit), got \(value)")
        }
        if dim % heads != 0 { throw ValidationError("--dim \(dim) is not divisible by --heads \(heads)") }
        // One activation of the encoder, batch × sequence × max(dim, mlp) floats, must fit in
        // memory (a lower bound: a step keeps many).
        let (tokens, overflowA) = batch.multipliedReportingOverflow(by: sequence)
        let (floats, overflowB) = tokens.multipliedReportingOverflow(by: max(dim, mlp))
        let available = Double(ProcessInfo.processInfo.physicalMemory)
        if overflowA || overflowB || Double(floats) * 4 > available {
            throw ValidationError(String(format: "--batch %ld × --sequence %ld × width %ld floats do not fit in this machine's %.1f GB",
                                         batch, sequence, max(dim, mlp), available / 1e9))
        }
    }

    /// Median wall time in seconds of `body` over `repeats` runs after `warmup` runs.
    func median(_ body: () -> Void) -> Double {
        for _ in 0..<warmup { body() }
        var times: [Double] = []
        for _ in 0..<repeats {
            let start = ContinuousClock.now
            body()
            let elapsed = ContinuousClock.now - start
            times.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
        }
        times.sort()
        return times[times.count / 2]
    }
}

extension MatmulEngine: ExpressibleByArgument {}
extension MatmulPrecision: ExpressibleByArgument {}
extension FFTPlanningEffort: ExpressibleByArgument {}

/// The matrix engine and precision of a benchmark (the defaults are what `parseval train` uses).
struct MatmulOptions: ParsableArguments {
    @Option(help: "Matrix engine: onednn or openblas (default: oneDNN where it loads, else OpenBLAS).")
    var engine: MatmulEngine?
    @Option(help: "Precision of matrix-product inputs: fp32 or bf16 (training.precision).")
    var precision: MatmulPrecision = .fp32

    /// Selects the engine and precision; returns the line saying what runs.
    func apply() throws -> String {
        if let engine {
            do { try Matmul.select(engine) } catch { throw ValidationError(error.message) }
        }
        return Matmul.request(precision)
    }
}

/// Whether a benchmark runs the measured kernel choices (as `train` does), measures them
/// (`--tune`), or runs every operation as configured.
struct KernelChoiceOptions: ParsableArguments {
    @Flag(help: "Measure the kernel choices of this step's shapes that have none yet (KernelChoices: each matrix product's kernel, each attention layer's precision and query block) during the first warm-up step, and save them to --wisdom.")
    var tune = false
    @Flag(help: "Run every operation as configured, ignoring the committed and saved kernel choices.")
    var noKernelChoices = false
    @Option(help: "The kernel-choices file that --tune writes and runs read (default: $XDG_CACHE_HOME or ~/.cache, then parseval/kernel-choices.tsv).")
    var wisdom: String?

    func validate() throws {
        if tune && noKernelChoices { throw ValidationError("--tune and --no-kernel-choices exclude each other") }
    }

    var path: String { wisdom ?? KernelWisdom.userPath() }

    /// Puts the committed and saved choices and this CPU's FFTW wisdom in force (with --tune,
    /// measuring the missing choices, and planning every FFT with `measure`), unless they are
    /// turned off or `engine` was chosen by hand; returns what runs, for the header.
    func apply(engineChosen: Bool) -> String {
        guard !noKernelChoices, !engineChosen else {
            KernelChoices.deactivate()
            return "kernel choices: off (every operation as configured)"
        }
        let (count, fft) = activateKernelChoices(tune ? .measure : .table, path: path)
        if tune { FFTPlanner.effort = .measure }
        return "kernel choices: \(count) in force for this CPU" + (tune ? ", measuring the missing ones" : "")
            + "; \(fft)" + (tune ? ", planning with measure" : "")
    }

    /// With --tune: merges what this process measured into the wisdom file (atomically, keeping
    /// other CPUs' entries) and stops measuring; returns the line to print.
    func save() throws -> String? {
        guard tune else { return nil }
        KernelChoices.stopMeasuring()  // the table in force already holds the file's entries and the new ones
        let fft = try FFTWisdomFile.save(path: FFTWisdomFile.path(nextTo: path))
        let measured = KernelChoices.measuredEntries()
        guard !measured.isEmpty else { return "kernel choices: nothing new to measure; \(fft)" }
        var existing = KernelWisdom()
        if FileManager.default.fileExists(atPath: path) {
            do {
                existing = try KernelWisdom(parsing: try String(contentsOfFile: path, encoding: .utf8), source: path)
            } catch let error as KernelWisdomError {
                throw ValidationError("\(error.message): fix or delete the file before --tune adds to it")
            }
        }
        try writeCreatingFolder(existing.merging(measured).text, to: path)
        return "kernel choices: \(measured.count) measured and saved to \(path); \(fft)"
    }
}

/// FFTW's measured plans for this CPU (its wisdom), kept beside the kernel-choices file as
/// `fftw-wisdom/<CPU>.txt` and used the same way: `bench step --tune` plans the step's
/// transforms with `measure` and saves what FFTW learned; `train`, `eval` and the benchmarks
/// import the file before planning, so their `estimate` plans run the measured algorithms for
/// those shapes and the heuristic ones elsewhere — the same plans in every run that reads the
/// same file, where measuring inside a run could pick different algorithms, and so different
/// bits, per rank or per attempt. One file per CPU model and oneDNN ISA (`KernelChoices.cpu`):
/// FFTW's wisdom is only good on the machine that measured it.
enum FFTWisdomFile {
    static func path(nextTo choicesPath: String) -> String {
        (choicesPath as NSString).deletingLastPathComponent + "/fftw-wisdom/\(KernelChoices.cpuFileName).txt"
    }

    /// Imports the file where it exists; returns the status for a header and, for a file FFTW
    /// refuses, a warning (the run goes on without it).
    static func load(path: String) -> (status: String, warning: String?) {
        guard FileManager.default.fileExists(atPath: path) else { return ("FFTW wisdom: none for this CPU", nil) }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8), FFTPlanner.importWisdom(text) else {
            return ("FFTW wisdom: none for this CPU",
                    "FFTW wisdom: \(path): FFTW cannot read it (damaged, or written by another FFTW version); "
                    + "the file is ignored (delete it or rerun `parseval bench step --tune`)")
        }
        return ("FFTW wisdom: \(path)", nil)
    }

    /// Writes everything the planner knows (the imported file and what this process measured),
    /// atomically; returns the line to print.
    static func save(path: String) throws -> String {
        try writeCreatingFolder(FFTPlanner.exportWisdom(), to: path)
        return "FFTW wisdom saved to \(path)"
    }
}

/// Writes `text` to `path` atomically, creating its folder first (the cache folder of a fresh user).
func writeCreatingFolder(_ text: String, to path: String) throws {
    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                            withIntermediateDirectories: true)
    try AtomicFile.write(Data(text.utf8), to: path)
}

/// Puts the committed kernel choices and the user's file (`KernelWisdom.forRuns`) in force, and
/// imports this CPU's FFTW wisdom from beside that file, as `train`, `eval` and the benchmarks
/// run; a damaged file is ignored with a warning on stderr naming it (and its line). Returns the
/// number of choices in force for this CPU and the FFTW wisdom's status.
@discardableResult
func activateKernelChoices(_ mode: KernelChoices.Mode = .table,
                           path: String = KernelWisdom.userPath()) -> (choices: Int, fft: String) {
    let (wisdom, warning) = KernelWisdom.forRuns(path: path)
    if let warning { FileHandle.standardError.write(Data((warning + "\n").utf8)) }
    let (fft, fftWarning) = FFTWisdomFile.load(path: FFTWisdomFile.path(nextTo: path))
    if let fftWarning { FileHandle.standardError.write(Data((fftWarning + "\n").utf8)) }
    return (KernelChoices.activate(mode, wisdom: wisdom), fft)
}

/// MPI and the thread count for a benchmark that plans FFTs, and FFTW's planner effort
/// (`--planning estimate|measure`); returns the world.
func startFFTBenchmark(_ runtime: RuntimeOptions, planning: FFTPlanningEffort) throws -> Communicator {
    let world = MPIRuntime.initialize()
    if let threads = runtime.threads { Threading.configure(threads: threads) }
    FFTPlanner.effort = planning
    return world
}

/// Prints a header line naming the machine and the run, so pasted output is self-describing.
func printBenchHeader(_ title: String, world: Communicator) {
    let info = ProcessInfo.processInfo
    print("# \(title)")
    print("# host \(info.hostName), CPU \(Machine.cpuModel), \(Machine.usableCores()) usable cores of \(info.processorCount), "
          + "ranks \(world.size), threads/rank \(Threading.count)")
}

func formatRow(_ columns: [String], widths: [Int]) -> String {
    zip(columns, widths).map { column, width in
        column.count >= width ? column : String(repeating: " ", count: width - column.count) + column
    }.joined(separator: "  ")
}
