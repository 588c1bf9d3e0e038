import Foundation
import Training
import XCTest

/// SIGTERM, SIGINT and SIGUSR1 — what SLURM sends at the time limit and sites before preemption,
/// and what Ctrl-C sends — stop a run cleanly: the step finishes, a checkpoint is written, the
/// job exits 7, and the same command resumes exactly where it stopped.
final class SignalTests: TrainingRunTestCase {
    /// Waits until the run's metrics.jsonl has `lines` lines (one per step with log_every 1).
    func waitForSteps(_ lines: Int, run: String, job: ParsevalProcess, seconds: Double = 60) {
        let deadline = Date().addingTimeInterval(seconds)
        while job.isRunning && Date() < deadline {
            let count = (try? String(contentsOfFile: "\(runFolder(run))/metrics.jsonl", encoding: .utf8))?
                .split(separator: "\n").count ?? 0
            if count >= lines { return }
            usleep(2_000)
        }
    }

    /// Waits until the job's output contains `text` (an event the job announces), or it ends.
    func waitForOutput(_ text: String, job: ParsevalProcess, seconds: Double = 120) {
        let deadline = Date().addingTimeInterval(seconds)
        while job.isRunning && Date() < deadline
                && !((try? String(contentsOfFile: job.outputPath, encoding: .utf8)) ?? "").contains(text) {
            usleep(5_000)
        }
    }

    /// The step a stopped run wrote its checkpoint at, from its message.
    func stoppedStep(_ outcome: ParsevalProcess.Outcome) -> Int? {
        guard let range = outcome.output.range(of: #"after step (\d+);"#, options: .regularExpression) else { return nil }
        return Int(outcome.output[range].dropFirst("after step ".count).dropLast())
    }

    func testSIGTERMCheckpointsExitsSevenAndTheSameCommandResumesBitIdentical() throws {
        let settings = ["training.steps=150", "training.checkpoint_every=0"]
        assertExit(try train(run: "straight", settings), 0)
        for signal in [SIGTERM, SIGINT] {
            let run = "stopped-\(signal)"
            let job = try ParsevalProcess(trainArguments(run: run, settings), in: folder)
            waitForSteps(20, run: run, job: job)
            job.send(signal)
            let stopped = job.wait(timeout: 60)
            let name = signal == SIGTERM ? "SIGTERM" : "SIGINT"
            assertExit(stopped, StopSignals.exitCode, mentions: ["stopped by \(name) after step", "Run the same command to resume"])
            let step = try XCTUnwrap(stoppedStep(stopped), stopped.summary)
            XCTAssertGreaterThanOrEqual(step, 20)
            XCTAssertLessThan(step, 150, "the signal came after the run had finished")
            XCTAssertEqual(try latestName(run: run), String(format: "step-%08d", step), "the checkpoint is the step it stopped at")

            assertExit(try train(run: run, settings), 0, mentions: ["resumed from"])
            assertBitIdentical(try finalParameters(run: run), try finalParameters(run: "straight"),
                               "\(name) after step \(step), then resumed: parameters must equal an uninterrupted run's")
            XCTAssertEqual(try metrics(run: run), try metrics(run: "straight"), "metrics.jsonl must continue exactly")
        }
    }

    /// SIGUSR1 delivered to one rank only: the request travels in the step's all-reduce, so both
    /// ranks stop after the same step and mpirun exits 7.
    func testSIGUSR1OnOneRankStopsEveryRankAtTheSameStep() throws {
        let settings = ["training.steps=400", "training.checkpoint_every=0"]
        let job = try ParsevalProcess(trainArguments(run: "ranks", settings), ranks: 2, in: folder)
        waitForSteps(10, run: "ranks", job: job)
        let ranks = childProcesses(of: job.process.processIdentifier)
        XCTAssertEqual(ranks.count, 2, "mpirun should have started two ranks")
        if let rank = ranks.last { kill(rank, SIGUSR1) }
        let stopped = job.wait(timeout: 60)
        assertExit(stopped, StopSignals.exitCode, mentions: ["after step"])
        let step = try XCTUnwrap(stoppedStep(stopped), stopped.summary)
        XCTAssertEqual(try latestName(run: "ranks"), String(format: "step-%08d", step))
        XCTAssertLessThan(step, 400)
        assertExit(try train(run: "ranks", settings + ["training.steps=\(step + 5)"], ranks: 2), 0,
                   mentions: ["resumed from"])
    }

    /// Before the first step completes there is nothing new to save: a signal ends the run at
    /// once with exit 7, however long set-up would take (here step 1 never ends: an injected
    /// hang), and the run folder holds no checkpoint; the same command then trains normally.
    func testASignalBeforeTheFirstStepStopsAtOnce() throws {
        let job = try ParsevalProcess(trainArguments(run: "setup", ["training.steps=5"]), fault: "kind:hang,step:1", in: folder)
        waitForOutput("hang at step 1", job: job)
        job.send(SIGTERM)
        let stopped = job.wait(timeout: 60)
        assertExit(stopped, StopSignals.exitCode, mentions: ["stopped by a signal before the first step completed"])
        XCTAssertNil(try Checkpoint.resolve(run: runFolder("setup")))
        assertExit(try train(run: "setup", ["training.steps=5"]), 0)
    }

    /// A second signal does not wait for the step: here the step never ends (an injected hang).
    func testASecondSignalStopsAtOnce() throws {
        let job = try ParsevalProcess(trainArguments(run: "hang", ["training.steps=50"]),
                                      fault: "kind:hang,step:6", in: folder)
        // Signal only once the step hangs (the fault announces itself), not while step 5 may still run.
        waitForOutput("hang at step 6", job: job)
        job.send(SIGTERM)
        // The first signal is taken and the step goes on (the hang says so): then the second.
        waitForOutput("SIGTERM received, still hanging", job: job)
        XCTAssertTrue(job.isRunning, "the first signal waits for the step to end")
        job.send(SIGTERM)
        let outcome = job.wait(timeout: 60)
        XCTAssertFalse(outcome.timedOut, "the second signal must end the process at once: \(outcome.summary)")
        XCTAssertEqual(outcome.exitCode, 128 + SIGTERM, outcome.summary)
    }

    /// Direct children of `pid` (mpirun's ranks on one host), from /proc.
    func childProcesses(of pid: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { child in
            guard let stat = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 2 && Int32(fields[1]) == pid
        }.sorted()
    }
}
