import Foundation
import Training
import XCTest

/// `parseval train` killed with SIGKILL (by the test, or by itself in the middle of writing
/// a checkpoint) and started again with the same command ends exactly where an
/// uninterrupted run ends.
final class KillAndResumeTests: TrainingRunTestCase {
    func testKilledAtARandomStepThenResumedEndsBitIdentical() throws {
        assertExit(try train(run: "straight"), 0)
        var random = SeededGenerator(seed: 10)
        let killStep = Int.random(in: 3...26, using: &random)

        let job = try ParsevalProcess(trainArguments(run: "killed"), in: folder)
        let metricsPath = "\(runFolder("killed"))/metrics.jsonl"
        let deadline = Date().addingTimeInterval(60)
        while job.isRunning && Date() < deadline {
            let lines = (try? String(contentsOfFile: metricsPath, encoding: .utf8))?.split(separator: "\n").count ?? 0
            if lines >= killStep { job.send(SIGKILL); break }
            usleep(2_000)
        }
        let killed = job.wait(timeout: 10)
        XCTAssertEqual(killed.signal, SIGKILL, "the run should have been killed at step \(killStep): \(killed.summary)")
        let reached = try metrics(run: "killed").split(separator: "\n").count
        XCTAssertLessThan(reached, 30, "killed at step \(killStep), yet the run had finished")

        let resumed = try train(run: "killed")
        assertExit(resumed, 0, mentions: ["resumed from"])
        assertBitIdentical(try finalParameters(run: "killed"), try finalParameters(run: "straight"),
                           "killed at step \(killStep) and resumed: parameters must equal an uninterrupted run's")
        XCTAssertEqual(try metrics(run: "killed"), try metrics(run: "straight"), "metrics.jsonl must continue exactly")
    }

    /// Metrics windows longer than the checkpoint interval (log every 5 steps, checkpoint every
    /// 4): the window open at the checkpoint is saved with it, so every record after a resume
    /// covers the same steps as an uninterrupted run's.
    func testMetricsWindowsSpanningAResumeMatchAnUninterruptedRun() throws {
        let settings = ["training.log_every=5", "training.checkpoint_every=4"]
        assertExit(try train(run: "windows-straight", settings), 0)
        for stop in [6, 13, 22] {
            let run = "windows-\(stop)"
            assertExit(try train(run: run, settings, fault: "kind:exit,step:\(stop + 1)"), 3)
            assertExit(try train(run: run, settings), 0, mentions: ["resumed from"])
            XCTAssertEqual(try metrics(run: run), try metrics(run: "windows-straight"),
                           "killed at step \(stop + 1) with a window open since step \(stop / 5 * 5)")
        }
    }

    /// Performer with feature redraws every 3 steps: the draws follow the optimizer step, so a
    /// resumed run uses the features an uninterrupted one uses.
    func testFeatureRedrawsContinueAcrossAResume() throws {
        let settings = ["model.mixer=performer", "model.feature_redraw_interval=3", "model.random_features=8"]
        assertExit(try train(run: "redraw-straight", settings), 0)
        assertExit(try train(run: "redraw-resumed", settings, fault: "kind:exit,step:11"), 3)
        assertExit(try train(run: "redraw-resumed", settings), 0, mentions: ["resumed from"])
        assertBitIdentical(try finalParameters(run: "redraw-resumed"), try finalParameters(run: "redraw-straight"),
                           "feature redraws across a resume at step 8")
        XCTAssertEqual(try metrics(run: "redraw-resumed"), try metrics(run: "redraw-straight"))
    }

    /// Killed while writing the first checkpoint: the rerun starts at step 0 and the lines the
    /// killed run wrote are not kept twice.
    func testKilledDuringTheFirstCheckpointLeavesNoDuplicateMetrics() throws {
        assertExit(try train(run: "first-straight"), 0)
        let killed = try train(run: "first-killed", fault: "kind:kill_mid_write,step:4")
        XCTAssertEqual(killed.signal, SIGKILL, killed.summary)
        assertExit(try train(run: "first-killed"), 0)
        XCTAssertEqual(try metrics(run: "first-killed"), try metrics(run: "first-straight"))
    }

    func testKillAfterWritingACheckpointBeforeUpdatingLatestKeepsThePreviousOne() throws {
        try checkKillDuringCheckpoint(kind: "kill_before_pointer") { stepFolder in
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(stepFolder)/model.safetensors"),
                          "the fault should strike after the step folder's files are written")
        }
    }

    func testKillHalfwayThroughWritingModelFileKeepsThePreviousOne() throws {
        try checkKillDuringCheckpoint(kind: "kill_mid_write") { stepFolder in
            XCTAssertFalse(FileManager.default.fileExists(atPath: "\(stepFolder)/model.safetensors"),
                           "a half-written file must never appear under its final name")
            let partial = try FileManager.default.contentsOfDirectory(atPath: stepFolder).filter { $0.hasPrefix(".model.safetensors.tmp") }
            XCTAssertEqual(partial.count, 1, "the half-written temporary file should be left behind by the kill")
        }
    }

    /// The run is killed while writing the checkpoint of step 8: `latest` still names step 4,
    /// which `parseval eval` loads; the same command then resumes and ends bit-identical.
    func checkKillDuringCheckpoint(kind: String, stepFolderCheck: (String) throws -> Void,
                                   file: StaticString = #filePath, line: UInt = #line) throws {
        assertExit(try train(run: "straight"), 0, file: file, line: line)
        let killed = try train(run: "faulty", fault: "step:8,kind:\(kind)")
        XCTAssertEqual(killed.signal, SIGKILL, "\(kind): \(killed.summary)", file: file, line: line)
        XCTAssertEqual(try latestName(run: "faulty"), "step-00000004", "latest must still name the previous checkpoint",
                       file: file, line: line)
        try stepFolderCheck("\(Checkpoint.folder(run: runFolder("faulty")))/step-00000008")

        let evaluation = try ParsevalProcess.run(["eval", "--run", runFolder("faulty")], in: folder)
        assertExit(evaluation, 0, mentions: ["(step 4)"], file: file, line: line)

        assertExit(try train(run: "faulty"), 0, mentions: ["resumed from", "at step 4"], file: file, line: line)
        assertBitIdentical(try finalParameters(run: "faulty"), try finalParameters(run: "straight"),
                           "\(kind): resumed run must end with an uninterrupted run's parameters", file: file, line: line)
    }
}
