import ArgumentParser
import Distributed
import Foundation
import TensorCore

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
        if repeats < 1 { throw ValidationError("--repeats must be at least 1, got \(repeats)") }
        if warmup < 0 { throw ValidationError("--warmup must be 0 or more, got \(warmup)") }
        for (name, value) in [("batch", batch), ("sequence", sequence), ("dim", dim), ("mlp", mlp), ("heads", heads)]
        where value < 1 {
            throw ValidationError("--\(name) must be at least 1, got \(value)")
        }
        if dim % heads != 0 { throw ValidationError("--dim \(dim) is not divisible by --heads \(heads)") }
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
