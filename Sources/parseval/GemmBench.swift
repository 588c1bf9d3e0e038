import ArgumentParser
import Distributed
import TensorCore

extension Parseval.Bench {
    struct GemmBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gemm",
            abstract: "sgemm GFLOP/s for the matrix products of one standard-encoder step.",
            discussion: """
                Covers the forward (NN), input-gradient (NT) and weight-gradient (TN) products of \
                the QKV, output, MLP and attention matrices. The last line, the flop-weighted rate \
                over all of them, is the bound the training-step target is judged against.
                """)

        @OptionGroup var runtime: RuntimeOptions
        @OptionGroup var options: BenchOptions

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
            if world.isRoot {
                printBenchHeader("bench gemm: sgemm through OpenBLAS, median of \(o.repeats)", world: world)
                print(formatRow(["case", "m", "n", "k", "batch", "ms", "GFLOP/s"], widths: [18, 7, 7, 7, 5, 9, 8]))
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
                print(String(format: "sgemm rate over all cases: %.1f GFLOP/s (%.3f GFLOP in %.1f ms)",
                             totalFlops / totalSeconds / 1e9, totalFlops / 1e9, totalSeconds * 1e3))
            }
        }
    }
}
