import Foundation
import TensorCore
import Training
import XCTest

/// `training.precision` from the command line: every run names its matrix engine and precision
/// first, bf16 where the CPU supports it and fp32 with the reason elsewhere, and a run trained
/// in one precision resumes in the other from its fp32 checkpoint.
final class PrecisionRunTests: TrainingRunTestCase {
    func testEveryRunNamesItsEngineAndPrecision() throws {
        let single = try train(run: "fp32", ["training.steps=4"])
        assertExit(single, 0, mentions: ["matrix products: fp32 on \(Matmul.engineSummary)"])
        let half = try train(run: "bf16", ["training.steps=4", "training.precision=bf16"], ranks: 2)
        switch Matmul.bf16Support {
        case .available(let kernel):
            assertExit(half, 0, mentions: ["matrix products: bf16 inputs, fp32 accumulation (\(kernel))"])
        case .unavailable(let reason):
            assertExit(half, 0, mentions: ["matrix products: fp32 — bf16 was asked for, but \(reason)"])
        }
    }

    func testUnknownPrecisionIsAConfigurationErrorListingTheChoices() throws {
        assertExit(try train(run: "bad", ["training.precision=fp16"]), 2, mentions: ["training.precision", "fp32, bf16"])
    }

    /// 20 steps in bf16, then the same run resumed to 30 in fp32: the checkpoint holds fp32
    /// master weights, so the switch needs nothing but the key.
    func testARunTrainedInBF16ResumesInFP32() throws {
        assertExit(try train(run: "switch", ["training.steps=20", "training.precision=bf16"]), 0)
        let resumed = try train(run: "switch", ["training.steps=30", "training.precision=fp32"])
        assertExit(resumed, 0, mentions: ["resumed from", "matrix products: fp32"])
        let entries = try finalParameters(run: "switch")
        XCTAssertFalse(entries.isEmpty)
        XCTAssertTrue(entries.allSatisfy { $0.values.allSatisfy(\.isFinite) })
        XCTAssertTrue(try latestName(run: "switch").contains("30"))
    }
}
