import Foundation
import Training
import XCTest

/// A NaN put into the loss or a gradient at a chosen step (`PARSEVAL_FAULT`) is caught in
/// that step and handled as `training.on_nonfinite` says.
final class NonFiniteTests: TrainingRunTestCase {
    func testNaNLossStopsWithTheStepAndExitCode5() throws {
        let outcome = try train(run: "stop", fault: "step:5,kind:nan_loss")
        assertExit(outcome, 5, mentions: ["non-finite loss at step 5", "step-00000004"])
        XCTAssertEqual(try latestName(run: "stop"), "step-00000004", "the last good checkpoint stays")
    }

    func testNaNLossIsSkippedAndCountedWhenConfigured() throws {
        let outcome = try train(run: "skip", ["training.on_nonfinite=skip"], fault: "step:5,kind:nan_loss")
        assertExit(outcome, 0, mentions: ["step 5: non-finite loss; step skipped"])
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let records = try metrics(run: "skip").split(separator: "\n").map { try decoder.decode(MetricsRecord.self, from: Data($0.utf8)) }
        let train = records.filter { $0.split == "train" }
        XCTAssertEqual(train.map(\.step), Array(1...30), "training goes on to the end")
        XCTAssertEqual(train.map { $0.skippedSteps ?? -1 }, (1...30).map { $0 == 5 ? 1 : 0 }, "only step 5 is counted as skipped")
        XCTAssertTrue(train.filter { $0.step != 5 }.allSatisfy { $0.loss?.isFinite == true }, "a skipped step's NaN stays out of the metrics")
        let skipped = try XCTUnwrap(train.first { $0.step == 5 })
        XCTAssertEqual(skipped.examples, 0)
        XCTAssertNil(skipped.loss, "a window with no counted example has no loss (not 0)")
        XCTAssertNil(skipped.accuracy)
        XCTAssertTrue(try finalParameters(run: "skip").allSatisfy { $0.values.allSatisfy(\.isFinite) })
    }

    /// An update that makes a parameter non-finite (here injected after step 6's update) stops
    /// the run under either policy, naming the step and the tensor, before the parameters reach a
    /// checkpoint: the last one stays the newest, and it is finite.
    func testANonFiniteUpdateStopsUnderEitherPolicyBeforeAnyCheckpoint() throws {
        for policy in ["stop", "skip"] {
            let run = "update-\(policy)"
            let outcome = try train(run: run, ["training.on_nonfinite=\(policy)"], fault: "step:6,kind:nan_parameter")
            assertExit(outcome, 5, mentions: ["non-finite parameter '", "at step 6", "step-00000004"])
            XCTAssertEqual(try latestName(run: run), "step-00000004", policy)
            XCTAssertTrue(try finalParameters(run: run).allSatisfy { $0.values.allSatisfy(\.isFinite) }, policy)
        }
    }

    /// A decay far too large for its learning rate (1 − lr·λ = −99 each step) overflows the
    /// parameters within a few steps: the run ends with exit 5, not 0, and never saves them.
    func testAnOverflowingRunExitsFiveAndKeepsItsCheckpointsFinite() throws {
        let outcome = try train(run: "overflow", ["optimizer.learning_rate=1", "optimizer.weight_decay=100", "training.checkpoint_every=1"])
        assertExit(outcome, 5, mentions: ["non-finite"])
        XCTAssertFalse(outcome.output.contains("test accuracy"), outcome.summary)
        XCTAssertTrue(try finalParameters(run: "overflow").allSatisfy { $0.values.allSatisfy(\.isFinite) })
    }

    /// One rank's gradient is poisoned before the all-reduce: every rank sees it after, and
    /// every rank stops in the same step.
    func testNaNGradientOnOneRankStopsEveryRank() throws {
        let outcome = try train(run: "ranks", ranks: 2, fault: "rank:1,step:4,kind:nan_gradient")
        XCTAssertFalse(outcome.timedOut, outcome.summary)
        XCTAssertEqual(outcome.exitCode, 5, outcome.summary)
        for rank in 0..<2 {
            XCTAssertTrue(outcome.output.contains("rank \(rank): non-finite gradient norm at step 4"), outcome.summary)
        }
    }

    /// Clipping is on by default and in every shipped config, except a paper's recipe whose
    /// official code does not clip (configs/lra: LRA's, FFTNet's and the LUMIA code's train
    /// loops): that file must say so in its header, so clipping is never off unannounced.
    func testGradientClippingIsOnByDefaultAndInEveryConfig() throws {
        XCTAssertGreaterThan(TrainingConfiguration().optimizer.gradientClip, 0)
        let folder = "\(ParsevalProcess.packageRoot)/configs"
        let files = try FileManager.default.subpathsOfDirectory(atPath: folder).filter { $0.hasSuffix(".yaml") }
        XCTAssertFalse(files.isEmpty, "no configs under \(folder)")
        for file in files {
            let configuration = try ConfigurationLoader.load(path: "\(folder)/\(file)")
            guard configuration.optimizer.gradientClip == 0 else { continue }
            let header = try String(contentsOfFile: "\(folder)/\(file)", encoding: .utf8).split(separator: "\n")
                .prefix { $0.hasPrefix("#") }.joined(separator: " ")
            XCTAssertTrue(file.hasPrefix("lra/") && header.contains("no clipping"),
                          "\(file): optimizer.gradient_clip is off without a paper recipe's header saying 'no clipping'")
        }
    }
}
