import ArgumentParser
import CBLAS
import CFFTW
import Distributed
import Foundation
import TensorCore

extension Parseval {
    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print each rank's place in the job, its threads, and the native library versions.",
            discussion: "Rank 0 gathers one line from every rank and prints them in rank order.")

        @OptionGroup var runtime: RuntimeOptions

        func run() throws {
            let world = MPIRuntime.initialize()
            if let threads = runtime.threads { Threading.configure(threads: threads) }
            let host = ProcessInfo.processInfo.hostName
            let line = "rank \(world.rank)/\(world.size) host \(host) pid \(getpid()) threads \(Threading.count)"
            let lines = try world.gather(line)
            guard world.isRoot else { return }
            for entry in lines { print(entry) }
            print("MPI:      \(MPIRuntime.libraryVersion)")
            print("FFTW:     \(Libraries.fftwVersion)")
            print("OpenBLAS: \(Libraries.openBLASConfig)")
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
