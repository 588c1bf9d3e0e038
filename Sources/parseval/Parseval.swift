import ArgumentParser
import Distributed
import TensorCore

@main
struct Parseval: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parseval",
        abstract: "Train FFT-based token mixers, from one process to MPI clusters.",
        discussion: """
            Every subcommand runs the same way alone or under mpirun; only rank 0 prints \
            results. Threads per rank: --threads, else PARSEVAL_THREADS, else cores divided \
            by the ranks on this machine.
            """,
        subcommands: [Train.self, Eval.self, Generate.self, Config.self, Info.self, Bench.self, CheckpointCommand.self, Report.self, Fuzz.self])

    static func main() {
        // Load the matrix engine while this is the only thread: loading sets OpenMP's wait
        // policy through the environment (docs/architecture.md, "The matrix engine").
        _ = Matmul.engine
        main(nil)
    }
}

/// Options shared by every subcommand that computes.
struct RuntimeOptions: ParsableArguments {
    @Option(help: "Threads per rank for OpenBLAS, FFTW and kernels (default: PARSEVAL_THREADS, else cores per local rank).")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }
}
