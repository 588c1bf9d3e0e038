import ArgumentParser
import Distributed
import Foundation
import Layers
import Parameters
import SequenceParallel
import TensorCore

extension Parseval.Bench {
    struct SeqParBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "seqpar",
            abstract: "Sequence-parallel FFTNet mixing: forward+backward time and peak memory per rank, n = 2^16 … 2^22.",
            discussion: """
                Every rank of the job is one sequence group: each holds (batch, n/P, dim) of the \
                sequences and runs SequenceParallelFFTNetMixing's forward and backward (FFTW-MPI \
                transposes). Strong scaling (default): n is the whole sequence. --weak: n is \
                each rank's block, the sequence is n·P. Reports the median time (the slowest rank's) \
                and the largest peak tensor memory of any rank above its inputs. --csv adds lines \
                csv,<ranks>,<seconds>,<peak_mb> for launch/scaling.sh (which reads the last one).
                """)

        @OptionGroup var runtime: RuntimeOptions
        @Option(help: "Smallest n as a power of two.") var minLog2 = 16
        @Option(help: "Largest n as a power of two.") var maxLog2 = 22
        @Option(help: "Sequences per batch.") var batch = 1
        @Option(help: "Model width D.") var dim = 64
        @Option(help: "Heads H.") var heads = 4
        @Option(help: "FFTNet filter knots K (0: K = F, the paper's layer; its MLP then has D·H·(n/2+1) weights).")
        var filterKnots = 64
        @Flag(help: "Weak scaling: n is each rank's block.") var weak = false
        @Flag(help: "Also print csv,<ranks>,<seconds>,<peak_mb> lines.") var csv = false
        @Option(help: "Timed runs per case (the median is reported).") var repeats = 3
        @Option(help: "Untimed runs before timing.") var warmup = 1
        @Option(help: "FFTW planner effort.") var planning: FFTPlanningEffort = .estimate

        func validate() throws {
            if minLog2 < 2 || maxLog2 < minLog2 || maxLog2 > 30 {
                throw ValidationError("--min-log2/--max-log2 must satisfy 2 ≤ min ≤ max ≤ 30, got \(minLog2), \(maxLog2)")
            }
            for (name, value) in [("batch", batch), ("dim", dim), ("heads", heads), ("repeats", repeats)] where value < 1 {
                throw ValidationError("--\(name) must be at least 1, got \(value)")
            }
            if dim % heads != 0 { throw ValidationError("--dim \(dim) is not divisible by --heads \(heads)") }
            if filterKnots < 0 || warmup < 0 { throw ValidationError("--filter-knots and --warmup must be 0 or more") }
        }

        func run() throws {
            let world = try startFFTBenchmark(runtime, planning: planning)
            if world.isRoot {
                printBenchHeader("bench seqpar: FFTNet mixing forward+backward, \(weak ? "weak" : "strong") scaling, "
                                 + "batch \(batch), dim \(dim), heads \(heads), knots \(filterKnots > 0 ? "\(filterKnots)" : "F"), "
                                 + "FFTW \(planning.rawValue), median of \(repeats) after \(warmup) warm-up", world: world)
                print(formatRow(["ranks", "n", "n/rank", "ms", "peak MiB/rank"], widths: [5, 9, 9, 10, 13]))
            }
            for log2n in minLog2...maxLog2 {
                let n = weak ? (1 << log2n) * world.size : 1 << log2n
                let (seconds, peakBytes) = try measure(length: n, world: world)
                guard world.isRoot else { continue }
                let megabytes = Double(peakBytes) / 1_048_576
                print(formatRow(["\(world.size)", "\(n)", "\(n / world.size)",
                                 String(format: "%.1f", seconds * 1e3), String(format: "%.1f", megabytes)],
                                widths: [5, 9, 9, 10, 13]))
                if csv { print(String(format: "csv,%ld,%.6f,%.1f", world.size, seconds, megabytes)) }
            }
        }

        /// Median forward+backward seconds (the slowest rank's) and the largest peak tensor bytes.
        func measure(length n: Int, world: Communicator) throws -> (Double, Int) {
            var stream = RandomStream(seed: UInt64(2 + world.rank))
            var x = Tensor(zeros: [batch, n / world.size, dim]), dy = x
            x.withUnsafeMutableBufferPointer { stream.fillUniform($0, -1, 1) }
            dy.withUnsafeMutableBufferPointer { stream.fillUniform($0, -1, 1) }
            let context = ForwardContext(training: true)
            // Peak above the inputs: parameters, plan buffers and every activation count.
            MemoryStatistics.resetPeak()
            let baseline = MemoryStatistics.current
            let arena = ParameterArena()
            let layer = try world.allOrNone {
                try SequenceParallelFFTNetMixing("mixer", arena: arena, dim: dim, heads: heads, sequenceLength: n,
                                                 filterKnots: filterKnots > 0 ? min(filterKnots, n / 2 + 1) : nil,
                                                 group: world)
            }
            arena.allocate(seed: 1)
            var times: [Double] = []
            for index in 0..<(warmup + repeats) {
                try world.barrier()
                let start = ContinuousClock.now
                _ = layer.forward(x, context: context)
                _ = layer.backward(dy)
                let elapsed = ContinuousClock.now - start
                var slowest = [Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18]
                try world.allreduce(&slowest, .max)
                if index >= warmup { times.append(slowest[0]) }
            }
            var peak = [Double(MemoryStatistics.peak - baseline)]
            try world.allreduce(&peak, .max)
            return (times.sorted()[times.count / 2], Int(peak[0]))
        }
    }
}
