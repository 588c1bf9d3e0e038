import Foundation
import XCTest

/// The same config, seed and rank count give byte-identical `metrics.jsonl` files
/// (the records hold no timings), with one process and under `mpirun -np 2`.
final class DeterminismTests: TrainingRunTestCase {
    let settings = ["training.steps=12", "training.eval_every=6", "training.checkpoint_every=0"]

    func testTwoRunsWithOneRankWriteIdenticalMetrics() throws {
        try checkIdenticalMetrics(ranks: nil)
    }

    func testTwoRunsWithTwoRanksWriteIdenticalMetrics() throws {
        try checkIdenticalMetrics(ranks: 2)
    }

    func checkIdenticalMetrics(ranks: Int?, file: StaticString = #filePath, line: UInt = #line) throws {
        for run in ["first", "second"] {
            assertExit(try train(run: run, settings, ranks: ranks), 0, file: file, line: line)
        }
        let first = try metrics(run: "first")
        XCTAssertEqual(first.split(separator: "\n").count, 15, "12 training, 2 validation and 1 test record", file: file, line: line)
        XCTAssertEqual(first, try metrics(run: "second"), "\(ranks ?? 1) rank(s)", file: file, line: line)
    }
}
