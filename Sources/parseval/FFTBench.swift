import ArgumentParser
import Distributed
import Foundation
import TensorCore

extension Parseval.Bench {
    struct FFTBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "fft",
            abstract: "FFTW GFLOP/s for sequence-axis transforms of a (batch, sequence, dim) activation.",
            discussion: """
                Real-to-complex and complex-to-real along the sequence axis, batch·dim transforms \
                in one plan, ortho scaling, at the given sequence length and at 2× and 4× it. \
                GFLOP/s uses FFTW's convention (2.5·n·log2 n per real transform).
                """)

        @OptionGroup var runtime: RuntimeOptions
        @OptionGroup var options: BenchOptions
        @Option(help: "FFTW planner effort.") var planning: FFTPlanningEffort = .measure

        func run() throws {
            let world = try startFFTBenchmark(runtime, planning: planning)
            let o = options
            if world.isRoot {
                printBenchHeader("bench fft: FFTW \(planning.rawValue), median of \(o.repeats)", world: world)
                print(formatRow(["transform", "batch", "n", "dim", "ms", "GFLOP/s"], widths: [10, 5, 8, 5, 9, 8]))
            }
            for n in [o.sequence, 2 * o.sequence, 4 * o.sequence] {
                let bins = n / 2 + 1
                let real = TensorStorage(count: o.batch * n * o.dim)
                let spectrum = TensorStorage(count: o.batch * bins * o.dim * 2)
                var stream = RandomStream(seed: 2)
                stream.fillUniform(UnsafeMutableBufferPointer(start: real.pointer, count: real.count), -1, 1)
                let flops = 2.5 * Double(n) * log2(Double(n)) * Double(o.batch * o.dim)
                let forward = o.median {
                    FFT.realForward(input: real.pointer, output: spectrum.pointer, outer: o.batch,
                                    length: n, inner: o.dim, scaling: .ortho)
                }
                let inverse = o.median {
                    FFT.realInverse(input: spectrum.pointer, output: real.pointer, outer: o.batch,
                                    length: n, inner: o.dim, scaling: .ortho)
                }
                if world.isRoot {
                    for (name, seconds) in [("rfft", forward), ("irfft", inverse)] {
                        print(formatRow([name, "\(o.batch)", "\(n)", "\(o.dim)", String(format: "%.2f", seconds * 1e3),
                                         String(format: "%.2f", flops / seconds / 1e9)], widths: [10, 5, 8, 5, 9, 8]))
                    }
                }
            }
        }
    }
}
