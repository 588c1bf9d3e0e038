import Foundation
import XCTest

/// One rank of an `mpirun -np 2` job exits, crashes or hangs in the middle of step 3
/// (`PARSEVAL_FAULT`): the whole job must end non-zero within 60 s, and its output must
/// name a rank. These tests run in the single-process suite and start mpirun themselves.
final class RankFailureTests: TrainingRunTestCase {
    /// What mpirun prints about a rank that ended on its own: "Process name: [[J,1],1]"
    /// with its exit code, or "process rank 1 ... exited on signal 11".
    let mpirunNamesRankOne = try! NSRegularExpression(pattern: #"Process name: \[\[\d+,\d+\],1\]|process rank 1 "#)

    func job(fault: String, _ settings: [String] = []) throws -> ParsevalProcess.Outcome {
        try train(run: "job", settings, ranks: 2, fault: fault, timeout: 60)
    }

    func assertEndedPromptly(_ outcome: ParsevalProcess.Outcome, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(outcome.timedOut, "the job must never hang: \(outcome.summary)", file: file, line: line)
        XCTAssertTrue(outcome.exitCode.map { $0 != 0 } ?? true, "the job must fail: \(outcome.summary)", file: file, line: line)
    }

    func assertMpirunNamesRankOne(_ outcome: ParsevalProcess.Outcome, file: StaticString = #filePath, line: UInt = #line) {
        let range = NSRange(outcome.output.startIndex..., in: outcome.output)
        XCTAssertNotNil(mpirunNamesRankOne.firstMatch(in: outcome.output, range: range),
                        "mpirun should name rank 1: \(outcome.summary)", file: file, line: line)
    }

    func testARankExitingWithoutFinalizeEndsTheJob() throws {
        let outcome = try job(fault: "rank:1,step:3,kind:exit")
        assertEndedPromptly(outcome)
        assertMpirunNamesRankOne(outcome)
        XCTAssertTrue(outcome.output.contains("Exit code:    3"), outcome.summary)
    }

    func testARankCrashingEndsTheJob() throws {
        let outcome = try job(fault: "rank:1,step:3,kind:crash")
        assertEndedPromptly(outcome)
        assertMpirunNamesRankOne(outcome)
        XCTAssertTrue(outcome.output.contains("signal 11"), outcome.summary)
    }

    /// Rank 1 sleeps forever in step 3; rank 0 waits in the gradient all-reduce, warns after
    /// 1 s and aborts the job after 4 s (exit 6), naming the rank that never arrived, the MPI
    /// call and the step.
    func testAHangingRankIsNamedThenTheJobAborted() throws {
        let outcome = try job(fault: "rank:1,step:3,kind:hang",
                              ["parallel.stall_warning_seconds=1", "parallel.stall_abort_seconds=4"])
        assertEndedPromptly(outcome)
        XCTAssertEqual(outcome.exitCode, 6, outcome.summary)
        let lines = outcome.output.split(separator: "\n")
        let warning = lines.first { $0.hasPrefix("parseval: rank 0: warning: MPI_") }
        XCTAssertNotNil(warning, "rank 0 should warn about the waiting MPI call: \(outcome.summary)")
        XCTAssertTrue(warning?.contains("(step 3)") ?? false, "the warning should name the step: \(outcome.summary)")
        XCTAssertTrue(warning?.contains("waiting for rank 1 (still at collective") ?? false,
                      "the warning should name the rank it waits for: \(outcome.summary)")
        let abort = lines.first { $0.hasPrefix("parseval: rank 0: MPI_") && $0.contains("aborting the job") }
        XCTAssertNotNil(abort, "rank 0 should say why it aborts: \(outcome.summary)")
        XCTAssertTrue(abort?.contains("never arrived: rank 1 (still at collective") ?? false,
                      "the abort should name rank 1: \(outcome.summary)")
        XCTAssertGreaterThanOrEqual(outcome.seconds, 4, "the abort must wait for parallel.stall_abort_seconds")
    }

    /// Rank 0, the coordinator of the arrival notes, hangs: rank 1 names it.
    func testAHangingRankZeroIsNamedByTheOthers() throws {
        let outcome = try job(fault: "rank:0,step:3,kind:hang",
                              ["parallel.stall_warning_seconds=1", "parallel.stall_abort_seconds=4"])
        assertEndedPromptly(outcome)
        XCTAssertEqual(outcome.exitCode, 6, outcome.summary)
        let abort = outcome.output.split(separator: "\n").first {
            $0.hasPrefix("parseval: rank 1: MPI_") && $0.contains("aborting the job")
        }
        XCTAssertTrue(abort?.contains("never arrived: rank 0 (still at collective") ?? false, "rank 1 should name rank 0: \(outcome.summary)")
    }
}
