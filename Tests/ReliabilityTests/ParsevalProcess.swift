import Datasets
import Foundation
import TensorCore
import Training
import XCTest

/// The real `parseval` binary (built beside this test bundle by `swift build --build-tests`)
/// run as a child process, alone or under `scripts/mpirun.sh`, with its output in a file.
final class ParsevalProcess {
    /// How a run ended.
    struct Outcome {
        var exitCode: Int32?
        var signal: Int32?
        var output: String
        var seconds: Double
        var timedOut: Bool

        var summary: String { "exit \(exitCode.map(String.init) ?? "-"), signal \(signal.map(String.init) ?? "-"), "
                              + String(format: "%.1f s", seconds) + (timedOut ? " (timed out)" : "") + "; output:\n\(output)" }
    }

    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// `parseval` from the folder of the running test bundle, else `.build/debug`.
    static func executable() throws -> String {
        var candidates: [String] = []
        if let bundle = Bundle.main.executablePath {
            candidates.append(URL(fileURLWithPath: bundle).deletingLastPathComponent().appendingPathComponent("parseval").path)
        }
        candidates.append("\(packageRoot)/.build/debug/parseval")
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw MissingBinary(description: "parseval not found at \(candidates.joined(separator: " or ")); "
                                + "build it with `swift build --build-tests`")
        }
        return found
    }

    let process = Process()
    let outputPath: String
    let started = Date()

    /// Where the ranks run: `scripts/cluster-sim.sh mpirun` over the simulated hosts, `perHost`
    /// ranks on each, over TCP only (MultiHostTests).
    struct Cluster {
        var ranks: Int
        var perHost: Int
    }

    /// Variables every rank needs; mpirun hands a remote rank only those named with -x.
    static let forwarded = ["PARSEVAL_THREADS", "PARSEVAL_PROGRESS", "SWIFT_BACKTRACE", "XDG_CACHE_HOME", FaultInjection.variable]

    /// Starts `parseval ARGUMENTS` in `folder`, under `scripts/mpirun.sh RANKS` when `ranks` is
    /// given (or across simulated hosts with `cluster`), with `PARSEVAL_FAULT=fault` when given.
    /// `wrapper`: a command that runs the binary (its path and the arguments follow the wrapper's).
    /// `threads`: `PARSEVAL_THREADS` for the child (nil: unset, so the default count applies).
    init(_ arguments: [String], ranks: Int? = nil, cluster: Cluster? = nil, fault: String? = nil, wrapper: [String]? = nil,
         threads: String? = "1", in folder: String) throws {
        let binary = try Self.executable()
        if let wrapper {
            process.executableURL = URL(fileURLWithPath: wrapper[0])
            process.arguments = Array(wrapper.dropFirst()) + [binary] + arguments
        } else if let cluster {
            process.executableURL = URL(fileURLWithPath: "\(Self.packageRoot)/scripts/cluster-sim.sh")
            process.arguments = ["mpirun", "-np", String(cluster.ranks), "--map-by", "ppr:\(cluster.perHost):node",
                                 "--wdir", folder] + Self.forwarded.filter { $0 != FaultInjection.variable || fault != nil }
                .flatMap { ["-x", $0] } + [binary] + arguments
        } else if let ranks {
            process.executableURL = URL(fileURLWithPath: "\(Self.packageRoot)/scripts/mpirun.sh")
            process.arguments = [String(ranks), binary] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = arguments
        }
        // A clean environment for the child: no MPI variables of this (singleton) process.
        var environment = ProcessInfo.processInfo.environment.filter { key, _ in
            !["OMPI_", "PMIX_", "OPAL_", "ORTE_", "PARSEVAL_"].contains { key.hasPrefix($0) }
        }
        environment["PARSEVAL_THREADS"] = threads
        environment["PARSEVAL_PROGRESS"] = "lines"
        environment["SWIFT_BACKTRACE"] = "interactive=no"
        // Kernel choices from the committed table only, never from the user's file (`KernelWisdom.userPath`).
        environment["XDG_CACHE_HOME"] = "\(folder)/.cache"
        if let fault { environment[FaultInjection.variable] = fault }
        process.environment = environment
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        outputPath = "\(folder)/.output-\(UUID().uuidString).txt"
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try output.close()
    }

    var isRunning: Bool { process.isRunning }

    func send(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for the end, or past `timeout` seconds stops it (SIGTERM, which mpirun passes
    /// on to its ranks, then SIGKILL) and reports a time-out.
    func wait(timeout: Double) -> Outcome {
        var timedOut = false
        while process.isRunning {
            if Date().timeIntervalSince(started) > timeout {
                timedOut = true
                send(SIGTERM)
                let grace = Date()
                while process.isRunning && Date().timeIntervalSince(grace) < 5 { usleep(20_000) }
                if process.isRunning { send(SIGKILL) }
                break
            }
            usleep(5_000)
        }
        process.waitUntilExit()
        let seconds = Date().timeIntervalSince(started)
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(atPath: outputPath)
        let signalled = process.terminationReason == .uncaughtSignal
        return Outcome(exitCode: signalled ? nil : process.terminationStatus, signal: signalled ? process.terminationStatus : nil,
                       output: output, seconds: seconds, timedOut: timedOut)
    }

    /// Runs to the end (at most `timeout` seconds).
    static func run(_ arguments: [String], ranks: Int? = nil, cluster: Cluster? = nil, fault: String? = nil,
                    wrapper: [String]? = nil, threads: String? = "1", in folder: String, timeout: Double = 60) throws -> Outcome {
        try ParsevalProcess(arguments, ranks: ranks, cluster: cluster, fault: fault, wrapper: wrapper, threads: threads, in: folder)
            .wait(timeout: timeout)
    }
}

extension ParsevalProcess {
    /// Runs a helper command (the rigs' scripts, SLURM's commands) to its end; returns its status
    /// and its standard output and error together.
    static func capture(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                        in folder: String? = nil) -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        if let folder { process.currentDirectoryURL = URL(fileURLWithPath: folder) }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { return (-1, "\(executable): \(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

/// The test bundle was built without the `parseval` product beside it.
struct MissingBinary: Error, CustomStringConvertible {
    let description: String
}
