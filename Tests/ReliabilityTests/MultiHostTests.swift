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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "\(ParsevalProcess.packageRoot)/scripts/cluster-sim.sh")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch { return (-1, "\(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
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
        let up = sim(["up", "2", "--rate", "10gbit", "--private", nodeLocal])
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

    /// A rank that crashes on the second host ends the whole job within 60 s, and the output
    /// names it.
    func testARankKilledOnOneHostEndsTheJobNamingIt() throws {
        let outcome = try ParsevalProcess.run(trainArguments(run: "crash", ["training.steps=50"]),
                                              cluster: .init(ranks: 2, perHost: 1), fault: "rank:1,step:3,kind:crash",
                                              in: folder, timeout: 90)
        XCTAssertFalse(outcome.timedOut, outcome.summary)
        XCTAssertLessThan(outcome.seconds, 60, outcome.summary)
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
}
