import ArgumentParser
import Distributed
import TensorCore

extension Parseval.Bench {
    struct GemmBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gemm",
            abstract: "GFLOP/s of the matrix products of one standard-encoder step, in fp32 and bf16.",
            discussion: """
                Covers the forward (NN), input-gradient (NT) and weight-gradient (TN) products of \
                the QKV, output, MLP and attention matrices, through the engine Parseval uses \
                (oneDNN where it loads, else OpenBLAS; --engine chooses), first with fp32 inputs, \
                then with bf16 inputs where the CPU has bf16 instructions (the rate includes the \
                conversion of both operands to bf16). The flop-weighted rate over all cases is the \
                bound the training-step target is judged against.
                """)

        @OptionGroup var runtime: RuntimeOptions
        @OptionGroup var options: BenchOptions
        @Option(help: "Matrix engine: onednn or openblas (default: oneDNN where it loads, else OpenBLAS).")
        var engine: MatmulEngine?

        func run() throws {
            let world = MPIRuntime.initialize()
            if let threads = runtime.threads { Threading.configure(threads: threads) }
            let o = options
            let tokens = o.batch * o.sequence, headDim = o.dim / o.heads
            // (name, transA, transB, m, n, k, batch)
            let cases: [(String, Transpose, Transpose, Int, Int, Int, Int)] = [
                ("qkv forward", .none, .none, tokens, 3 * o.dim, o.dim, 1),
                ("qkv input-grad", .none, .transposed, tokens, o.dim, 3 * o.dim, 1),
                ("qkv weight-grad", .transposed, .none, o.dim, 3 * o.dim, tokens, 1),
                ("out forward", .none, .none, tokens, o.dim, o.dim, 1),
                ("mlp1 forward", .none, .none, tokens, o.mlp, o.dim, 1),
                ("mlp1 weight-grad", .transposed, .none, o.dim, o.mlp, tokens, 1),
                ("mlp2 forward", .none, .none, tokens, o.dim, o.mlp, 1),
                ("mlp2 input-grad", .none, .transposed, tokens, o.mlp, o.dim, 1),
                ("scores q·kᵀ", .none, .transposed, o.sequence, o.sequence, headDim, o.batch * o.heads),
                ("context p·v", .none, .none, o.sequence, headDim, o.sequence, o.batch * o.heads),
            ]
            if let engine {
                do { try Matmul.select(engine) } catch { throw ValidationError(error.message) }
            }
            if world.isRoot {
                printBenchHeader("bench gemm: \(Matmul.engine.rawValue), median of \(o.repeats)", world: world)
                print("# engine: \(Matmul.engineSummary)")
                if let reason = Matmul.oneDNNUnavailableReason { print("# oneDNN not in use: \(reason)") }
            }
            var precisions: [MatmulPrecision] = [.fp32]
            switch Matmul.bf16Support {
            case .available(let kernel):
                precisions.append(.bf16)
                if world.isRoot { print("# bf16 kernel: \(kernel)") }
            case .unavailable(let reason):
                if world.isRoot { print("# bf16: not measured, \(reason)") }
            }
            for precision in precisions {
                try Matmul.withPrecision(precision) { try measure(cases, precision: precision, world: world) }
            }
        }

        private func measure(_ cases: [(String, Transpose, Transpose, Int, Int, Int, Int)], precision: MatmulPrecision,
                             world: Communicator) throws {
            let o = options
            if world.isRoot {
                print("")
                print(formatRow(["\(precision.rawValue) case", "m", "n", "k", "batch", "ms", "GFLOP/s"], widths: [18, 7, 7, 7, 5, 9, 8]))
            }
            var totalFlops = 0.0, totalSeconds = 0.0
            for (name, ta, tb, m, n, k, batch) in cases {
                let a = TensorStorage(count: m * k * batch), b = TensorStorage(count: k * n * batch)
                let c = TensorStorage(count: m * n * batch)
                var stream = RandomStream(seed: 1)
                stream.fillUniform(UnsafeMutableBufferPointer(start: a.pointer, count: a.count), -1, 1)
                stream.fillUniform(UnsafeMutableBufferPointer(start: b.pointer, count: b.count), -1, 1)
                let seconds = o.median {
                    batchedGemm(ta, tb, batch: batch, m: m, n: n, k: k,
                                a: a.pointer, lda: ta == .none ? k : m, strideA: m * k,
                                b: b.pointer, ldb: tb == .none ? n : k, strideB: k * n,
                                beta: 0, c: c.pointer, ldc: n, strideC: m * n)
                }
                let flops = 2 * Double(m) * Double(n) * Double(k) * Double(batch)
                totalFlops += flops
                totalSeconds += seconds
                if world.isRoot {
                    print(formatRow([name, "\(m)", "\(n)", "\(k)", "\(batch)", String(format: "%.2f", seconds * 1e3),
                                     String(format: "%.1f", flops / seconds / 1e9)], widths: [18, 7, 7, 7, 5, 9, 8]))
                }
            }
            if world.isRoot {
                print("\(precision.rawValue) rate over all cases: " + String(format: "%.1f GFLOP/s (%.3f GFLOP in %.1f ms)",
                             totalFlops / totalSeconds / 1e9, totalFlops / 1e9, totalSeconds * 1e3))
            }
        }
    }
}
