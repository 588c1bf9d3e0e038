import ArgumentParser
import CBLAS
import CFFTW
import Distributed
import Foundation
import TensorCore

extension Parseval {
    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print each rank's place in the job, its threads, the native library versions and the matrix engine.",
            discussion: "Rank 0 gathers one line from every rank and prints them in rank order.")

        @OptionGroup var runtime: RuntimeOptions
        @Flag(help: "Also measure the matrix engine's GFLOP/s in fp32 and bf16 (a few seconds).") var rates = false

        func run() throws {
            let world = MPIRuntime.initialize()
            if let threads = runtime.threads { Threading.configure(threads: threads) }
            let host = ProcessInfo.processInfo.hostName
            let line = "rank \(world.rank)/\(world.size) host \(host) pid \(getpid()) threads \(Threading.count)"
                + " cpus \(Machine.cpuList(Machine.affinity()))"
            let lines = try world.gather(line)
            guard world.isRoot else { return }
            for entry in lines { print(entry) }
            print("CPU:      \(Machine.cpuModel)")
            let quota = Machine.cgroupQuota().map { String(format: ", cgroup quota %.2f cores", $0) } ?? ""
            print("cores:    \(Machine.usableCores()) usable by rank 0 (affinity \(Machine.cpuList(Machine.affinity()))\(quota))")
            print("MPI:      \(MPIRuntime.libraryVersion)")
            print("FFTW:     \(Libraries.fftwVersion)")
            print("OpenBLAS: \(Libraries.openBLASConfig)")
            print("matrix engine: \(Matmul.engine.rawValue) — \(Matmul.engineSummary)")
            if let reason = Matmul.oneDNNUnavailableReason { print("  oneDNN not in use: \(reason)") }
            switch Matmul.bf16Support {
            case .available(let kernel): print("  bf16 products (training.precision: bf16): yes, kernel \(kernel)")
            case .unavailable(let reason): print("  bf16 products (training.precision: bf16): no — \(reason); runs stay fp32")
            }
            if rates {
                for (precision, rate) in measureRates() {
                    print("  measured \(precision.rawValue): " + String(format: "%.1f GFLOP/s", rate)
                          + " (16384×1024×256 product, \(Threading.count) threads)")
                }
            }
        }
    }
}

/// GFLOP/s of the standard encoder's largest product (tokens × MLP × dim) in each precision
/// the CPU runs, best of five after a warm-up.
func measureRates(m: Int = 16384, n: Int = 1024, k: Int = 256) -> [(MatmulPrecision, Double)] {
    var precisions: [MatmulPrecision] = [.fp32]
    if case .available = Matmul.bf16Support { precisions.append(.bf16) }
    let a = TensorStorage(count: m * k), b = TensorStorage(count: k * n), c = TensorStorage(count: m * n)
    var stream = RandomStream(seed: 1)
    stream.fillUniform(UnsafeMutableBufferPointer(start: a.pointer, count: a.count), -1, 1)
    stream.fillUniform(UnsafeMutableBufferPointer(start: b.pointer, count: b.count), -1, 1)
    return precisions.map { precision in
        Matmul.withPrecision(precision) {
            var best = Double.infinity
            for round in 0..<6 {
                let start = ContinuousClock.now
                gemm(.none, .none, m: m, n: n, k: k, a: a.pointer, lda: k, b: b.pointer, ldb: n, beta: 0, c: c.pointer, ldc: n)
                let elapsed = ContinuousClock.now - start
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
                if round > 0 { best = min(best, seconds) }
            }
            return (precision, 2 * Double(m) * Double(n) * Double(k) / best / 1e9)
        }
    }
}

enum Libraries {
    static var fftwVersion: String {
        String(cString: pv_fftwf_version())
    }
    static var openBLASConfig: String {
        guard let config = openblas_get_config() else { return "unknown" }
        return String(cString: config).trimmingCharacters(in: .whitespaces)
    }
}
