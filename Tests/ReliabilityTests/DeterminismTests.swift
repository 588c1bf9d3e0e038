import Foundation
import Training
import XCTest

/// The same config, seed and rank count give byte-identical `metrics.jsonl` files
/// (the records hold no timings), with one process and under `mpirun -np 2`, and byte-identical
/// checkpoint files, wherever their run folders are.
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

    /// Two runs into different folders write the same bytes in every checkpoint file: metadata
    /// with sorted keys and no run folder. The first folder then moves and resumes from there.
    func testTwoRunsWriteIdenticalCheckpointFilesAndARunFolderCanMove() throws {
        let settings = ["training.steps=8", "training.checkpoint_every=4"]
        for run in ["first", "second"] { assertExit(try train(run: run, settings), 0) }
        for step in ["step-00000004", "step-00000008"] {
            for file in ["model.safetensors", "optimizer.safetensors", "manifest.json"] {
                let paths = ["first", "second"].map { "\(Checkpoint.folder(run: runFolder($0)))/\(step)/\(file)" }
                XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: paths[0])), try Data(contentsOf: URL(fileURLWithPath: paths[1])),
                               "\(step)/\(file) differs between two identical runs")
            }
        }
        let model = try Data(contentsOf: URL(fileURLWithPath: "\(Checkpoint.folder(run: runFolder("first")))/step-00000008/model.safetensors"))
        XCTAssertNil(String(decoding: model.prefix(8192), as: UTF8.self).range(of: folder!), "a checkpoint names no absolute path")

        try FileManager.default.moveItem(atPath: runFolder("first"), toPath: runFolder("moved"))
        assertExit(try train(run: "moved", ["training.steps=12", "training.checkpoint_every=4"]), 0, mentions: ["resumed from", "at step 8"])
    }
}
