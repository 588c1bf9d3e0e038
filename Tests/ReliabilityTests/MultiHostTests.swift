import Foundation
import Training
import XCTest

/// Training across hosts, on two hosts simulated on this machine by `scripts/cluster-sim.sh`
/// (network namespaces joined by a bridge, each with its own host name; mpirun starts its
/// daemons through the rig's rsh agent) with MPI over TCP only (`--mca btl tcp,self`). Skips,
/// saying why, where the machine does not allow namespaces or the test is not root.
///
/// The rig is one per machine: the class holds `/run/parseval-cluster-sim.lock` while it runs.
final class MultiHostTests: TrainingRunTestCase {
    /// A folder every simulated host sees as its own (`--private`): a node-local disk.
    static let nodeLocal = "/tmp/parseval-node-local"
    nonisolated(unsafe) static var rigError: String?
    nonisolated(unsafe) static var lock: Int32 = -1

    static func sim(_ arguments: [String]) -> (status: Int32, output: String) {
        ParsevalProcess.capture("\(ParsevalProcess.packageRoot)/scripts/cluster-sim.sh", arguments)
    }

    override class func setUp() {
        super.setUp()
        let check = sim(["check"])
        guard check.status == 0 else {
            rigError = "multi-host rig unavailable: " + check.output.trimmingCharacters(in: .whitespacesAndNewlines)
            return
        }
        lock = open("/run/parseval-cluster-sim.lock", O_CREAT | O_RDWR, 0o644)
        if lock >= 0 { flock(lock, LOCK_EX) }
        try? FileManager.default.removeItem(atPath: nodeLocal)
        let up = sim(["up", "2", "--rate", "10gbit", "--slots", "1", "--private", nodeLocal])
        if up.status != 0 { rigError = "cluster-sim up failed: \(up.output)" }
    }

    override class func tearDown() {
        if rigError == nil { _ = sim(["down"]) }
        if lock >= 0 { flock(lock, LOCK_UN); close(lock) }
        try? FileManager.default.removeItem(atPath: nodeLocal)
        super.tearDown()
    }

    override func setUpWithError() throws {
        if let reason = Self.rigError { throw XCTSkip(reason) }
        try super.setUpWithError()
    }

    /// Host `host`'s own copy of a path under `nodeLocal`.
    func onHost(_ host: Int, _ path: String) -> String { "/var/lib/parseval-cluster-sim/pvsim\(host)\(path)" }

    func parameters(checkpointOf run: String) throws -> [Float] {
        let directory = try XCTUnwrap(try Checkpoint.resolve(run: run), "\(run) has no checkpoint")
        return try SafeTensors.read("\(directory)/model.safetensors").entries.sorted { $0.name < $1.name }.flatMap(\.values)
    }

    func assertClose(_ actual: [Float], _ expected: [Float], tolerance: Float, _ what: String,
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, what, file: file, line: line)
        let scale = max(expected.map(abs).max() ?? 1, 1)
        let worst = zip(actual, expected).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertLessThanOrEqual(worst, tolerance * scale, "\(what): largest difference \(worst)", file: file, line: line)
    }

    /// Without dropout, so ranks and one process compute the same function; 10 steps, as the
    /// in-process equivalence tests (AdamW's small differences grow with steps).
    let deterministic = ["model.dropout=0", "training.final_test=false", "training.steps=10"]

    /// Data parallelism over TCP between two hosts (1 and 2 ranks per host) gives one process's
    /// parameters (the tolerance of DataParallelTests for AdamW).
    func testDataParallelAcrossHostsEqualsOneProcess() throws {
        let single = try train(run: "single", deterministic)
        XCTAssertEqual(single.exitCode, 0, single.summary)
        for perHost in [1, 2] {
            let run = "hosts-\(perHost)"
            let outcome = try ParsevalProcess.run(trainArguments(run: run, deterministic),
                                                  cluster: .init(ranks: 2 * perHost, perHost: perHost), in: folder, timeout: 180)
            XCTAssertEqual(outcome.exitCode, 0, outcome.summary)
            XCTAssertTrue(outcome.output.contains("\(2 * perHost) rank(s)"), outcome.summary)
            assertClose(try parameters(checkpointOf: runFolder(run)), try parameters(checkpointOf: runFolder("single")),
                        tolerance: 1e-4, "\(perHost) rank(s) per host vs one process")
        }
    }

    /// FFTNet's sequence-parallel mixing (FFTW-MPI transposes) with its two ranks on two hosts.
    func testSequenceParallelAcrossHostsEqualsOneProcess() throws {
        let settings = deterministic + ["model.mixer=fftnet"]
        let single = try train(run: "single", settings)
        XCTAssertEqual(single.exitCode, 0, single.summary)
        let outcome = try ParsevalProcess.run(trainArguments(run: "sequence", settings + ["parallel.seq_parallel=2"]),
                                              cluster: .init(ranks: 2, perHost: 1), in: folder, timeout: 180)
        XCTAssertEqual(outcome.exitCode, 0, outcome.summary)
        assertClose(try parameters(checkpointOf: runFolder("sequence")), try parameters(checkpointOf: runFolder("single")),
                    tolerance: 1e-4, "sequence parallel across hosts vs one process")
    }

    /// A rank that crashes on the second host ends the whole job (within the 90 s time-out), and the output
    /// names it.
    func testARankKilledOnOneHostEndsTheJobNamingIt() throws {
        let outcome = try ParsevalProcess.run(trainArguments(run: "crash", ["training.steps=50"]),
                                              cluster: .init(ranks: 2, perHost: 1), fault: "rank:1,step:3,kind:crash",
                                              in: folder, timeout: 90)
        XCTAssertFalse(outcome.timedOut, outcome.summary)
        XCTAssertNotEqual(outcome.exitCode, 0, outcome.summary)
        XCTAssertTrue(outcome.output.contains("pvsim2"), "mpirun should name the host: \(outcome.summary)")
        XCTAssertTrue(outcome.output.contains("rank 1") || outcome.output.contains(",1]]"), "and the rank: \(outcome.summary)")
    }

    /// A run folder on node-local disks: only rank 0's host holds checkpoints. A job stopped
    /// after step 12 (every rank exits at the start of step 13) resumes: rank 0 reads the
    /// checkpoint and sends it to the other rank, and the run ends where an uninterrupted one
    /// does, bit for bit. The second host's copy of the folder stays empty.
    func testResumeWithANodeLocalRunFolder() throws {
        let settings = ["model.dropout=0", "training.final_test=false", "training.steps=20", "data.directory=\(folder!)/data"]
        let run = "\(Self.nodeLocal)/resumed"
        let arguments = ["train", "--config", configuration, "--set", "output.directory=\(run)"] + settings.flatMap { ["--set", $0] }
        let first = try ParsevalProcess.run(arguments, cluster: .init(ranks: 2, perHost: 1), fault: "step:13,kind:exit",
                                            in: folder, timeout: 180)
        XCTAssertNotEqual(first.exitCode, 0, first.summary)
        XCTAssertEqual(try String(contentsOfFile: onHost(1, "\(run)/checkpoints/latest"), encoding: .utf8), "step-00000012")
        let second = try ParsevalProcess.run(arguments, cluster: .init(ranks: 2, perHost: 1), in: folder, timeout: 180)
        XCTAssertEqual(second.exitCode, 0, second.summary)
        XCTAssertTrue(second.output.contains("resumed from"), second.summary)
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: onHost(2, run))) ?? [], [],
                       "the second host's run folder should stay empty")
        let straight = try ParsevalProcess.run(trainArguments(run: "straight", settings),
                                               cluster: .init(ranks: 2, perHost: 1), in: folder, timeout: 180)
        XCTAssertEqual(straight.exitCode, 0, straight.summary)
        XCTAssertEqual(try parameters(checkpointOf: onHost(1, run)).map(\.bitPattern),
                       try parameters(checkpointOf: runFolder("straight")).map(\.bitPattern))
    }

    /// A data folder present on one host only: the rank on the other host stops the job before
    /// training with a data error (exit 3) naming itself and the folder.
    func testADataFolderMissingOnOneHostIsNamed() throws {
        let data = "\(Self.nodeLocal)/data"
        try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: onHost(1, data)).deletingLastPathComponent().path,
                                                withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: onHost(1, data))
        try FileManager.default.copyItem(atPath: "\(folder!)/data", toPath: onHost(1, data))
        let outcome = try ParsevalProcess.run(trainArguments(run: "missing", ["data.directory=\(data)"]),
                                              cluster: .init(ranks: 2, perHost: 1), in: folder, timeout: 90)
        XCTAssertEqual(outcome.exitCode, 3, outcome.summary)
        XCTAssertTrue(outcome.output.contains("rank 0: stopping because rank 1: \(data): data.directory: no such folder"),
                      "rank 0 should report rank 1's error: \(outcome.summary)")
        XCTAssertFalse(outcome.output.contains("step 1/"), "no step may run: \(outcome.summary)")
    }

    /// The rig's `OMPI_MCA_*` settings (`cluster-sim.sh env`), so that any mpirun uses it.
    func rigEnvironment() throws -> [String: String] {
        let listing = Self.sim(["env"])
        XCTAssertEqual(listing.status, 0, listing.output)
        var environment: [String: String] = [:]
        for line in listing.output.split(separator: "\n") where line.hasPrefix("export ") {
            let pair = line.dropFirst("export ".count).split(separator: "=", maxSplits: 1).map(String.init)
            if pair.count == 2 { environment[pair[0]] = pair[1] }
        }
        return environment
    }

    /// Runs a launch script with the rig's settings; returns the process (output in `log`).
    func launch(_ script: String, _ arguments: [String], extra: [String: String] = [:], log: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["\(ParsevalProcess.packageRoot)/\(script)"] + arguments
        var environment = ProcessInfo.processInfo.environment.filter { key, _ in
            !["OMPI_", "PMIX_", "OPAL_", "ORTE_", "PARSEVAL_", "SLURM_"].contains { key.hasPrefix($0) }
        }
        environment.merge(try rigEnvironment()) { $1 }
        environment.merge(extra) { $1 }
        process.environment = environment
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        try handle.close()
        return process
    }

    func finish(_ process: Process, within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { process.terminate(); return false }
        process.waitUntilExit()
        return true
    }

    /// `launch/train.sh -H HOSTFILE` places one rank on each simulated host.
    func testLaunchScriptPlacesRanksOnEveryHost() throws {
        let log = "\(folder!)/launch.log"
        let process = try launch("launch/train.sh", ["-n", "2", "-H", "/run/parseval-cluster-sim/hostfile",
                                                     "-p", try ParsevalProcess.executable(), "--", "info"], log: log)
        XCTAssertTrue(finish(process, within: 60), "launch/train.sh timed out")
        let output = try String(contentsOfFile: log, encoding: .utf8)
        XCTAssertEqual(process.terminationStatus, 0, output)
        XCTAssertTrue(output.contains("rank 0/2 host pvsim1") && output.contains("rank 1/2 host pvsim2"), output)
    }

    /// `launch/slurm.sbatch` as SLURM would run it, on the rig (mpirun line; SLURM's variables and
    /// a recording `scontrol` stand in for the scheduler): SIGUSR1 ahead of the limit stops every
    /// rank at a step with a checkpoint, the script exits 7 and requeues the job; the requeued
    /// run resumes from that checkpoint and finishes.
    func testSlurmTemplateStopsRequeuesAndResumesAcrossHosts() throws {
        // The template runs .build/release/parseval from the submission folder.
        try FileManager.default.createDirectory(atPath: "\(folder!)/.build/release", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: "\(folder!)/.build/release/parseval",
                                                   withDestinationPath: try ParsevalProcess.executable())
        let bin = "\(folder!)/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        try "#!/bin/sh\necho \"$@\" >> \(folder!)/scontrol.calls\n".write(toFile: "\(bin)/scontrol", atomically: true, encoding: .utf8)
        chmod("\(bin)/scontrol", 0o755)
        let run = runFolder("slurm")
        let arguments = [configuration, "--set", "output.directory=\(run)", "--set", "training.steps=400",
                         "--set", "training.final_test=false", "--set", "data.directory=\(folder!)/data"]
        let slurm = ["SLURM_JOB_ID": "4242", "SLURM_CPUS_PER_TASK": "1", "PARSEVAL_LAUNCHER": "mpirun",
                     "PATH": bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")]
        let first = try launch("launch/slurm.sbatch", arguments, extra: slurm, log: "\(folder!)/slurm-1.log")
        // Signal once training is under way (metrics.jsonl has lines).
        let start = Date()
        while first.isRunning && Date().timeIntervalSince(start) < 60 {
            let lines = (try? String(contentsOfFile: "\(run)/metrics.jsonl", encoding: .utf8))?.split(separator: "\n").count ?? 0
            if lines >= 3 { break }
            usleep(20_000)
        }
        kill(first.processIdentifier, SIGUSR1)
        XCTAssertTrue(finish(first, within: 60), "the stopped job did not end")
        let firstLog = try String(contentsOfFile: "\(folder!)/slurm-1.log", encoding: .utf8)
        XCTAssertEqual(first.terminationStatus, 7, firstLog)
        XCTAssertTrue(firstLog.contains("requeueing job 4242"), firstLog)
        XCTAssertEqual(try String(contentsOfFile: "\(folder!)/scontrol.calls", encoding: .utf8), "requeue 4242\n")
        let stopped = try XCTUnwrap(try Checkpoint.resolve(run: run), "no checkpoint after the stop: \(firstLog)")

        let second = try launch("launch/slurm.sbatch", arguments, extra: slurm, log: "\(folder!)/slurm-2.log")
        XCTAssertTrue(finish(second, within: 120), "the requeued job did not end")
        let secondLog = try String(contentsOfFile: "\(folder!)/slurm-2.log", encoding: .utf8)
        XCTAssertEqual(second.terminationStatus, 0, secondLog)
        XCTAssertTrue(secondLog.contains("resumed from \(stopped)"), secondLog)
        XCTAssertTrue(secondLog.contains("after 400 steps"), secondLog)
    }
}

