import Foundation
import TensorCore
import Training
import XCTest

/// `timeline.jsonl` and `parseval report` (docs/results.md): run folders become a results table
/// and curves; the timeline continues across a resume.
final class ReportTests: TrainingRunTestCase {
    func records(_ run: String) throws -> [TimelineRecord] {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let text = try String(contentsOfFile: "\(runFolder(run))/timeline.jsonl", encoding: .utf8)
        return try text.split(separator: "\n").map { try decoder.decode(TimelineRecord.self, from: Data($0.utf8)) }
    }

    /// A resumed run's timeline keeps the lines up to the checkpoint and continues its clock and
    /// token count from them.
    func testTimelineContinuesAcrossAResume() throws {
        let first = try train(run: "timed", ["training.steps=30"], fault: "kind:exit,step:11")
        XCTAssertNotEqual(first.exitCode, 0, first.summary)
        let before = try records("timed")
        XCTAssertEqual(before.map(\.step), Array(1...10), "one line per logged step before the exit")
        let second = try train(run: "timed", ["training.steps=30"])
        XCTAssertEqual(second.exitCode, 0, second.summary)
        let after = try records("timed")
        XCTAssertEqual(Array(after.prefix(8)), Array(before.prefix(8)), "lines up to the checkpoint (step 8) are kept")
        let train = after.filter { $0.split == "train" }
        XCTAssertEqual(train.map(\.step), Array(1...30))
        for (earlier, later) in zip(train, train.dropFirst()) {
            XCTAssertGreaterThan(later.tokens, earlier.tokens)
            XCTAssertGreaterThanOrEqual(later.seconds, earlier.seconds)
        }
        XCTAssertTrue(after.allSatisfy { $0.peakMemoryMb > 1 })
    }

    /// Two seeds of two mixers → results.csv with one row each, curves.csv, and a Markdown table
    /// of means over seeds.
    func testReportTurnsRunFoldersIntoTheTable() throws {
        for (mixer, seed) in [("fnet", 1), ("fnet", 2), ("attention", 1)] {
            let outcome = try train(run: "\(mixer)-\(seed)", ["model.mixer=\(mixer)", "training.seed=\(seed)", "training.eval_every=10"])
            XCTAssertEqual(outcome.exitCode, 0, outcome.summary)
        }
        let report = try ParsevalProcess.run(["report", runFolder("fnet-1"), runFolder("fnet-2"), runFolder("attention-1"),
                                              "--out", runFolder("report")], in: folder)
        XCTAssertEqual(report.exitCode, 0, report.summary)
        let rows = try String(contentsOfFile: "\(runFolder("report"))/results.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.first, Substring(RunResult.header))
        XCTAssertEqual(rows.count, 4)
        let fnet = rows.first { $0.hasPrefix("listops,fnet,pre_norm,1,") }.map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        XCTAssertEqual(fnet?[5], "30", "steps")
        XCTAssertFalse(fnet?[11].isEmpty ?? true, "test accuracy")
        let curves = try String(contentsOfFile: "\(runFolder("report"))/curves.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(curves.count, 1 + 3 * 3, "validation at steps 10, 20, 30 for three runs")
        XCTAssertTrue(report.output.contains("| listops | fnet | pre_norm |"), report.summary)
        XCTAssertTrue(report.output.contains("| listops | attention | pre_norm |"), report.summary)
        // The machine behind the timing: rank 0's CPU and threads (PARSEVAL_THREADS=1 here).
        let machine = "\(Machine.cpuModel), 1 thread"
        XCTAssertTrue(fnet.map { $0.joined(separator: ",").contains("\"\(machine)\"") } ?? false, "\(String(describing: fnet))")
        XCTAssertTrue(report.output.contains("Timed on \(machine)."), report.summary)
    }
}

/// The header `parseval report` writes (kept here so the test reads without the executable's module).
enum RunResult {
    static let header = "task,mixer,block,seed,params,steps,tokens,wall_seconds,tokens_per_s,peak_memory_mb,val_accuracy,test_accuracy,machine,run"
}
