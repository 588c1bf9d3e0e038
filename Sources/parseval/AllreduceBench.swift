import ArgumentParser
import Distributed
import Foundation
import TensorCore

extension Parseval.Bench {
    struct AllreduceBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "allreduce",
            abstract: "MPI_Allreduce (in place, float sum) bandwidth over message sizes; run under mpirun.",
            discussion: """
                Bandwidths follow nccl-tests' definitions: algbw = bytes / time, busbw = algbw · 2(P−1)/P, \
                the per-link rate comparable across rank counts. The time is the slowest rank's median.
                """)

        @Option(help: "Smallest message in bytes.") var minBytes = 4 << 10
        @Option(help: "Largest message in bytes.") var maxBytes = 64 << 20
        @Option(help: "Timed runs per size (the median is reported).") var repeats = 10
        @Option(help: "Untimed runs before timing.") var warmup = 2
        @Flag(help: "MPI_Iallreduce then wait: the call the gradient all-reduce makes (GradientSynchronizer).")
        var nonblocking = false

        func run() throws {
            let world = MPIRuntime.initialize()
            guard minBytes >= 4, maxBytes >= minBytes, repeats >= 1 else {
                throw ValidationError("need 4 ≤ --min-bytes ≤ --max-bytes and --repeats ≥ 1")
            }
            if world.isRoot {
                printBenchHeader("bench allreduce: \(nonblocking ? "MPI_Iallreduce + wait" : "MPI_Allreduce") in place, "
                                 + "float sum, median of \(repeats)", world: world)
                print(formatRow(["bytes", "floats", "time us", "algbw GB/s", "busbw GB/s"], widths: [11, 10, 10, 10, 10]))
            }
            var bytes = minBytes
            while bytes <= maxBytes {
                let buffer = TensorStorage(count: bytes / 4)
                let values = UnsafeMutableBufferPointer(start: buffer.pointer, count: buffer.count)
                var times: [Double] = []
                for index in 0..<(warmup + repeats) {
                    try world.barrier()
                    let start = ContinuousClock.now
                    if nonblocking { try world.startAllreduce(values).wait() } else { try world.allreduce(values) }
                    let elapsed = ContinuousClock.now - start
                    if index >= warmup {
                        times.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
                    }
                }
                var median = [times.sorted()[times.count / 2]]
                try world.allreduce(&median, .max)
                let algbw = Double(bytes) / median[0] / 1e9
                let busbw = algbw * 2 * Double(world.size - 1) / Double(max(world.size, 1))
                if world.isRoot {
                    print(formatRow(["\(bytes)", "\(bytes / 4)", String(format: "%.1f", median[0] * 1e6),
                                     String(format: "%.3f", algbw), String(format: "%.3f", busbw)], widths: [11, 10, 10, 10, 10]))
                }
                bytes *= 4
            }
        }
    }
}
