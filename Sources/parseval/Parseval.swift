import ArgumentParser
import Distributed
import Foundation
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
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            // A bad flag or flag value is bad input like a bad config: exit 2 (ArgumentParser's
            // own code for it is 64), with its message and usage. Parseval's own errors from a
            // command without `reportingFailures` (bench, report, generate) get their documented
            // codes too. Help, --version and the commands' own exit codes pass through.
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            let code = documentedExitCode(for: error)
            if code != 1 {
                FileHandle.standardError.write(Data("parseval: error: \(error)\n".utf8))
                Foundation.exit(code)
            }
            exit(withError: error)
        }
    }
}

/// Options shared by every subcommand that computes.
struct RuntimeOptions: ParsableArguments {
    @Option(help: "Threads per rank for OpenBLAS, FFTW and kernels (default: PARSEVAL_THREADS, else cores per local rank).")
    var threads: Int?

    func validate() throws {
        if let threads, !(1...Threading.maximum).contains(threads) {
            throw ValidationError("--threads must be 1 … \(Threading.maximum), got \(threads)")
        }
    }
}
