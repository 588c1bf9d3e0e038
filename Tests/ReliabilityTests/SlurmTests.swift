import Foundation
import Training
import XCTest

/// `launch/slurm.sbatch` on a real SLURM: `scripts/slurm-sim.sh up 2` starts munge, slurmctld and
/// one slurmd on each of two hosts simulated by `scripts/cluster-sim.sh`, and the tests submit
/// the job script with `sbatch` as a user would, then watch `scontrol show job`. Skips, saying
/// why, where the machine cannot run the rig (not root, no namespaces) or SLURM is not installed
/// (`scripts/setup.sh` installs slurm-wlm and munge).
///
/// The rig is one per machine: the class holds `/run/parseval-cluster-sim.lock`, as
/// `MultiHostTests` does. A requeued job starts again once its old credential expires, 21 s
/// later on the rig (`AuthInfo=cred_expire=20`; SLURM's default is 2 minutes).
final class SlurmTests: TrainingRunTestCase {
    nonisolated(unsafe) static var rigError: String?
    nonisolated(unsafe) static var lock: Int32 = -1
    nonisolated(unsafe) static var slurmEnvironment: [String: String] = [:]

    static let script = "\(ParsevalProcess.packageRoot)/scripts/slurm-sim.sh"

    override class func setUp() {
        super.setUp()
        let check = ParsevalProcess.capture(script, ["check"])
        guard check.status == 0 else {
            rigError = "SLURM rig unavailable: " + check.output.trimmingCharacters(in: .whitespacesAndNewlines)
            return
        }
        lock = open("/run/parseval-cluster-sim.lock", O_CREAT | O_RDWR, 0o644)
        if lock >= 0 { flock(lock, LOCK_EX) }
        let up = ParsevalProcess.capture(script, ["up", "2"])
        guard up.status == 0 else { rigError = "slurm-sim up failed: \(up.output)"; return }
        let listing = ParsevalProcess.capture(script, ["env"])
        for line in listing.output.split(separator: "\n") where line.hasPrefix("export ") {
            let pair = line.dropFirst("export ".count).split(separator: "=", maxSplits: 1).map(String.init)
            if pair.count == 2 { slurmEnvironment[pair[0]] = pair[1] }
        }
    }

    override class func tearDown() {
        if rigError == nil { _ = ParsevalProcess.capture(script, ["down"]) }
        if lock >= 0 { flock(lock, LOCK_UN); close(lock) }
        super.tearDown()
    }

    override func setUpWithError() throws {
        if let reason = Self.rigError { throw XCTSkip(reason) }
        try super.setUpWithError()
        // The job script runs .build/release/parseval from the submission folder.
        try FileManager.default.createDirectory(atPath: "\(folder!)/.build/release", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: "\(folder!)/.build/release/parseval",
                                                   withDestinationPath: try ParsevalProcess.executable())
    }

    // MARK: - SLURM's commands

    /// `sbatch OPTIONS launch/slurm.sbatch tiny.yaml` into run folder `run`, from the test's
    /// folder, with a clean environment plus `extra` (sbatch passes it on to the job). Returns the job id.
    func submit(_ options: [String], run: String, _ settings: [String], extra: [String: String] = [:]) throws -> String {
        var environment = ProcessInfo.processInfo.environment.filter { key, _ in
            !["OMPI_", "PMIX_", "OPAL_", "ORTE_", "PARSEVAL_", "SLURM_"].contains { key.hasPrefix($0) }
        }
        environment.merge(Self.slurmEnvironment) { $1 }
        environment.merge(extra) { $1 }
        let arguments = ["--parsable"] + options + ["\(ParsevalProcess.packageRoot)/launch/slurm.sbatch", configuration,
                                                    "--set", "output.directory=\(runFolder(run))"] + settings.flatMap { ["--set", $0] }
        let submitted = ParsevalProcess.capture("/usr/bin/env", ["sbatch"] + arguments, environment: environment, in: folder)
        XCTAssertEqual(submitted.status, 0, "sbatch failed: \(submitted.output)")
        return try XCTUnwrap(submitted.output.split(separator: "\n").last.map { String($0.split(separator: ";")[0]) },
                             "sbatch printed no job id")
    }

    /// `scontrol`, `scancel` or another SLURM command with the rig's configuration.
    @discardableResult
    func slurm(_ command: String, _ arguments: [String]) -> (status: Int32, output: String) {
        ParsevalProcess.capture("/usr/bin/env", [command] + arguments,
                                environment: ProcessInfo.processInfo.environment.merging(Self.slurmEnvironment) { $1 })
    }

    /// `scontrol show job -o JOB` as a dictionary (JobState, Restarts, Reason, ExitCode …).
    func job(_ id: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in slurm("scontrol", ["show", "job", "-o", id]).output.split(separator: " ") {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { fields[parts[0]] = parts[1] }
        }
        return fields
    }

    /// Polls the job every 0.2 s until `condition` holds or `seconds` pass; returns the last state.
    @discardableResult
    func waitFor(_ id: String, seconds: Double = 300, _ condition: ([String: String]) -> Bool) -> [String: String] {
        let deadline = Date().addingTimeInterval(seconds)
        var state = job(id)
        while !condition(state) && Date() < deadline {
            usleep(200_000)
            state = job(id)
        }
        return state
    }

    /// The job has ended: a final state, and its processes are gone (not COMPLETING).
    func ended(_ state: [String: String]) -> Bool {
        ["COMPLETED", "CANCELLED", "FAILED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED"].contains(state["JobState"] ?? "")
    }

    /// Waits until the run's metrics.jsonl has `lines` lines (one per step with log_every 1).
    func waitForSteps(_ lines: Int, run: String, job id: String, seconds: Double = 300) {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let count = (try? String(contentsOfFile: "\(runFolder(run))/metrics.jsonl", encoding: .utf8))?.split(separator: "\n").count ?? 0
            if count >= lines || ended(job(id)) { return }
            usleep(100_000)
        }
    }

    /// The job's output file (`--output=slurm-%x-%j.out` in the submission folder).
    func output(_ id: String) -> String {
        (try? String(contentsOfFile: "\(folder!)/slurm-parseval-\(id).out", encoding: .utf8)) ?? "(no output file)"
    }

    /// No line of the output is an error, except SLURM's own notice that it cancelled or requeued
    /// the job (`slurmstepd: error: *** JOB 12 ON pvsim1 CANCELLED AT … ***`), which slurmstepd
    /// writes into the output file itself.
    func assertNoErrorLines(_ text: String, file: StaticString = #filePath, line: UInt = #line) {
        let errors = text.split(separator: "\n").filter {
            $0.lowercased().contains("error") && $0.range(of: #"^slurmstepd[^:]*: error: \*\*\* (JOB|STEP) [0-9.]+ ON \S+ CANCELLED AT"#,
                                                            options: .regularExpression) == nil
        }
        XCTAssertEqual(errors, [], "error lines in the job output:\n\(text)", file: file, line: line)
    }

    func parameters(_ run: String) throws -> [Float] {
        try finalParameters(run: run).sorted { $0.name < $1.name }.flatMap(\.values)
    }

    // MARK: - Tests

    /// Two nodes, one task each, through srun's PMIx plugin and through mpirun (as root): the
    /// job completes with one process's parameters (AdamW's tolerance, as `MultiHostTests`), and
    /// the output's first line names the geometry and the launcher.
    func testATwoNodeJobEqualsOneProcessWithSrunAndWithMpirun() throws {
        let deterministic = ["model.dropout=0", "training.final_test=false", "training.steps=10"]
        assertExit(try train(run: "single", deterministic), 0)
        for (launcher, expected) in [("", "launcher: srun --mpi=pmix"), ("mpirun", "launcher: mpirun (PARSEVAL_LAUNCHER)")] {
            let run = "two-nodes-\(launcher.isEmpty ? "srun" : launcher)"
            let id = try submit(["-N", "2", "--ntasks-per-node=1", "-c", "1"], run: run, deterministic,
                                extra: launcher.isEmpty ? [:] : ["PARSEVAL_LAUNCHER": launcher])
            let state = waitFor(id) { self.ended($0) }
            let text = output(id)
            XCTAssertEqual(state["JobState"], "COMPLETED", "\(launcher): \(state)\n\(text)")
            let first = text.split(separator: "\n").first.map(String.init) ?? ""
            XCTAssertTrue(first.hasPrefix("parseval job \(id): 2 node(s) × 1 task(s), 1 thread(s) each; \(expected)"), first)
            XCTAssertTrue(text.contains("2 rank(s)"), text)
            assertNoErrorLines(text)
            let single = try parameters("single"), parallel = try parameters(run)
            XCTAssertEqual(parallel.count, single.count)
            let worst = zip(parallel, single).map { abs($0 - $1) }.max() ?? .infinity
            XCTAssertLessThanOrEqual(worst, 1e-4 * max(single.map(abs).max() ?? 1, 1), "\(run) vs one process")
        }
    }

    /// The time-limit warning stops the run with a checkpoint; the script requeues the job, which
    /// resumes and ends with an uninterrupted run's metrics and parameters. slurmctld checks time
    /// limits every 30 s and sends the warning up to 30 s early: with a 2-minute limit and
    /// `--signal=B:USR1@60` it comes 30–60 s after the start, well after the run has begun, and
    /// `PARSEVAL_FAULT=kind:slow` (0.5 s per step) makes the 140 steps last at least 70 s, so it
    /// always comes while the run trains.
    func testTheTimeLimitWarningCheckpointsRequeuesAndEndsLikeAnUninterruptedRun() throws {
        let settings = ["training.steps=140", "training.checkpoint_every=0", "training.log_every=10", "training.final_test=false"]
        assertExit(try train(run: "straight", settings), 0)
        let id = try submit(["--time=2", "--signal=B:USR1@60", "-c", "1"], run: "warned", settings,
                            extra: ["PARSEVAL_FAULT": "kind:slow,step:1"])
        let requeued = waitFor(id) { $0["Restarts"] != "0" || self.ended($0) }
        XCTAssertEqual(requeued["Restarts"], "1", "the warning should have requeued the job: \(requeued)\n\(output(id))")
        // While it waits to start again, the job gets a limit it cannot reach: it is warned no more.
        slurm("scontrol", ["update", "JobId=\(id)", "TimeLimit=30"])
        let state = waitFor(id) { self.ended($0) }
        let text = output(id)
        XCTAssertEqual(state["JobState"], "COMPLETED", "\(state)\n\(text)")
        XCTAssertGreaterThanOrEqual(Int(state["Restarts"] ?? "") ?? 0, 1, text)
        for phrase in ["stopped by SIGUSR1 after step", "requeueing job \(id)", "parseval job \(id), restart 1:", "resumed from"] {
            XCTAssertTrue(text.contains(phrase), "output should mention '\(phrase)':\n\(text)")
        }
        assertNoErrorLines(text)
        XCTAssertEqual(try metrics(run: "warned"), try metrics(run: "straight"), "metrics.jsonl must equal an uninterrupted run's")
        assertBitIdentical(try finalParameters(run: "warned"), try finalParameters(run: "straight"), "warned, requeued and resumed")
    }

    /// `scancel JOB` (SIGTERM to every process of the job) ends the job in one command: the run
    /// writes a checkpoint of its step and the script does not requeue. Submitted with the
    /// script's defaults (one node, one task, the whole node).
    func testScancelCancelsInOneCommandAfterACheckpoint() throws {
        let id = try submit([], run: "cancelled", ["training.steps=100000", "training.checkpoint_every=0"])
        waitForSteps(5, run: "cancelled", job: id)
        XCTAssertEqual(job(id)["JobState"], "RUNNING", output(id))
        slurm("scancel", [id])
        let state = waitFor(id) { self.ended($0) }
        let text = output(id)
        XCTAssertEqual(state["JobState"], "CANCELLED", "\(state)\n\(text)")
        XCTAssertEqual(state["Restarts"], "0", text)
        XCTAssertTrue(text.hasPrefix("parseval job \(id): 1 node(s) × 1 task(s)"), text)
        XCTAssertTrue(text.contains("stopped by SIGTERM after step"), text)
        XCTAssertFalse(text.contains("requeueing"), text)
        assertNoErrorLines(text)
        let stopped = try XCTUnwrap(text.range(of: #"after step (\d+);"#, options: .regularExpression).map { text[$0] })
        let step = Int(stopped.dropFirst("after step ".count).dropLast())!
        XCTAssertEqual(try latestName(run: "cancelled"), String(format: "step-%08d", step), "the checkpoint is the step it stopped at")
    }

    /// `scontrol requeue JOB` (SLURM requeues, sending SIGTERM first): the run checkpoints, the
    /// script leaves the requeue to SLURM (no "Job is pending execution" error), and the
    /// requeued job resumes and ends like an uninterrupted run.
    func testScontrolRequeueResumesFromTheCheckpoint() throws {
        let settings = ["training.steps=30", "training.checkpoint_every=0", "training.final_test=false"]
        assertExit(try train(run: "straight", settings), 0)
        let id = try submit(["-c", "1"], run: "requeued", settings, extra: ["PARSEVAL_FAULT": "kind:slow,step:1"])
        waitForSteps(5, run: "requeued", job: id)
        XCTAssertEqual(job(id)["JobState"], "RUNNING", output(id))
        slurm("scontrol", ["requeue", id])
        let state = waitFor(id) { self.ended($0) }
        let text = output(id)
        XCTAssertEqual(state["JobState"], "COMPLETED", "\(state)\n\(text)")
        XCTAssertEqual(state["Restarts"], "1", text)
        XCTAssertTrue(text.contains("stopped by SIGTERM after step") && text.contains("resumed from"), text)
        XCTAssertFalse(text.contains("requeueing job"), "SLURM requeued the job itself: \(text)")
        assertNoErrorLines(text)
        XCTAssertEqual(try metrics(run: "requeued"), try metrics(run: "straight"))
        assertBitIdentical(try finalParameters(run: "requeued"), try finalParameters(run: "straight"), "requeued and resumed")
    }
}
