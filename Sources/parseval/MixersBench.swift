import ArgumentParser
import Distributed
import Foundation
import Layers
import Models
import Parameters
import SpectralMixing
import TensorCore

extension Parseval.Bench {
    struct MixersBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "mixers",
            abstract: "Forward+backward time and peak memory of each token mixer for n = 2^10 … 2^20.",
            discussion: """
                One (batch, n, dim) activation through each mixer's forward and backward. Reports \
                the median time, its growth per doubling of n, and the peak tensor memory above the \
                input, upstream gradient and parameters. Softmax attention keeps no n² matrix (query \
                blocks, log-sum-exp, recompute in backward), so its memory grows like the others'; \
                any mixer stops at the first n slower than --max-seconds. The last lines give each mixer's crossover with \
                softmax attention: the smallest measured n from which it is faster.
                """)

        @OptionGroup var runtime: RuntimeOptions
        @OptionGroup var options: BenchOptions
        @Option(help: "Smallest n as a power of two.") var minLog2 = 10
        @Option(help: "Largest n as a power of two.") var maxLog2 = 20
        @Option(help: "Mixers, comma-separated: \(MixerKind.allCases.map(\.rawValue).joined(separator: ",")).")
        var mixers = MixerKind.allCases.map(\.rawValue).joined(separator: ",")
        @Option(help: "Random features m of kernelized attention (0: d_h).") var features = 0
        @Option(help: "FFTNet filter knots K (0: K = F, the paper's layer).") var filterKnots = 0
        @Option(help: "Stop a mixer at the first n whose median exceeds this many seconds.") var maxSeconds = 60.0
        @Option(help: "FFTW planner effort.") var planning: FFTPlanningEffort = .estimate

        func validate() throws {
            if minLog2 < 1 || maxLog2 < minLog2 || maxLog2 > 30 {
                throw ValidationError("--min-log2/--max-log2 must satisfy 1 ≤ min ≤ max ≤ 30, got \(minLog2), \(maxLog2)")
            }
            if !(0...65536).contains(features) || !(0...(1 << 24)).contains(filterKnots) {
                throw ValidationError("--features must be 0 … 65536 and --filter-knots 0 … 16777216 (model.random_features' and filter_knots' ranges)")
            }
            if maxSeconds <= 0 { throw ValidationError("--max-seconds must be positive, got \(maxSeconds)") }
        }

        func run() throws {
            let world = try startFFTBenchmark(runtime, planning: planning)
            let selected = try mixers.split(separator: ",").map { name in
                guard let mixer = MixerKind(rawValue: String(name)) else {
                    throw ValidationError("--mixers: unknown mixer '\(name)'; valid: \(MixerKind.allCases.map(\.rawValue))")
                }
                return mixer
            }
            let o = options
            let m = features > 0 ? features : o.dim / o.heads
            if world.isRoot {
                printBenchHeader("bench mixers: forward+backward, batch \(o.batch), dim \(o.dim), heads \(o.heads), "
                                 + "random features \(m), FFTNet knots \(filterKnots > 0 ? "\(filterKnots)" : "F"), "
                                 + "FFTW \(planning.rawValue), median of \(o.repeats) after \(o.warmup) warm-up", world: world)
            }
            let widths = [28, 9, 11, 8, 10]
            var times: [MixerKind: [Int: Double]] = [:]
            for mixer in selected {
                if world.isRoot {
                    print("")
                    print(formatRow(["mixer", "n", "ms", "×/2n", "peak MiB"], widths: widths))
                }
                var previous: Double?
                for log2n in minLog2...maxLog2 {
                    let n = 1 << log2n
                    let (seconds, peakBytes) = measure(mixer, length: n, features: m)
                    times[mixer, default: [:]][n] = seconds
                    if world.isRoot {
                        print(formatRow([mixer.title, "\(n)", String(format: "%.1f", seconds * 1e3),
                                         previous.map { String(format: "%.2f", seconds / $0) } ?? "",
                                         String(format: "%.1f", Double(peakBytes) / 1_048_576)], widths: widths))
                    }
                    previous = seconds
                    if seconds > maxSeconds {
                        if world.isRoot && log2n < maxLog2 {
                            print(String(format: "  (stopped: %.1f s > --max-seconds %.0f)", seconds, maxSeconds))
                        }
                        break
                    }
                }
            }
            guard world.isRoot, let softmax = times[.attention], !softmax.isEmpty else { return }
            print("")
            for mixer in selected where mixer != .attention {
                let compared = (times[mixer] ?? [:]).keys.filter { softmax[$0] != nil }.sorted()
                guard !compared.isEmpty else { continue }
                // The crossover: the smallest n from which the mixer stays faster at every compared n.
                let crossover = compared.first { n in compared.filter { $0 >= n }.allSatisfy { times[mixer]![$0]! < softmax[$0]! } }
                let largest = compared.last!
                if let crossover {
                    let note = crossover == compared.first! ? " (the smallest compared n)" : ""
                    print("crossover: \(mixer.title) is faster than softmax attention from n = \(crossover)\(note)"
                          + " up to n = \(largest), the largest n softmax attention was measured at")
                } else {
                    print("crossover: \(mixer.title) is not faster than softmax attention at n = \(largest)")
                }
            }
        }

        /// Median forward+backward seconds and the peak tensor bytes above what was live before.
        func measure(_ mixer: MixerKind, length n: Int, features m: Int) -> (Double, Int) {
            let o = options
            let arena = ParameterArena()
            var c = ModelConfiguration()
            (c.dim, c.heads, c.randomFeatures) = (o.dim, o.heads, m)
            c.filterKnots = filterKnots > 0 ? min(filterKnots, n / 2 + 1) : 0
            let layer = mixer.makeMixer(c, name: "mixer", arena: arena, length: n, seed: 3)
            arena.allocate(seed: 1)
            var stream = RandomStream(seed: 2)
            var x = Tensor(zeros: [o.batch, n, o.dim]), dy = x
            x.withUnsafeMutableBufferPointer { stream.fillUniform($0, -1, 1) }
            dy.withUnsafeMutableBufferPointer { stream.fillUniform($0, -1, 1) }
            let context = ForwardContext(training: true)
            MemoryStatistics.resetPeak()
            let baseline = MemoryStatistics.current
            let seconds = o.median {
                _ = layer.forward(x, context: context)
                _ = layer.backward(dy)
            }
            return (seconds, MemoryStatistics.peak - baseline)
        }
    }
}
