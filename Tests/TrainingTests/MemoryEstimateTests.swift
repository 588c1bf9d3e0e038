import Foundation
import Models
import Training
import XCTest

/// `MemoryEstimate` is a lower bound that counts every mixer's weights: within 10% below the
/// parameters the model really allocates, for every mixer, block, pooling and head.
final class MemoryEstimateTests: XCTestCase {
    func testTheParameterBoundIsWithinTenPercentBelowTheRealCount() throws {
        for mixer in MixerKind.allCases {
            for (block, pooling, head) in [(BlockKind.preNorm, "mean", "linear"), (.paper, "cls", "mlp")] {
                var c = TrainingConfiguration()
                (c.model.mixer, c.model.block, c.model.dim, c.model.depth, c.model.heads) = (mixer, block, 64, 2, 4)
                (c.model.mlpHidden, c.model.maxLength, c.data.sequenceLength) = (128, 256, 256)
                c.model.pooling = try XCTUnwrap(.init(rawValue: pooling))
                c.model.head = try XCTUnwrap(.init(rawValue: head))
                c = try c.resolvingTaskFacts()
                let actual = Double(EncoderClassifier(c.model, seed: 1).arena.count)
                let bound = MemoryEstimate(c, dataParallelRanks: 1).parameters
                XCTAssertLessThanOrEqual(bound, actual, "\(mixer) \(block): the bound must not exceed the real count")
                XCTAssertGreaterThanOrEqual(bound, 0.9 * actual, "\(mixer) \(block): \(bound) of \(actual) parameters counted")
            }
        }
    }

    /// Issue 30: `model.dim=1000000` passed the old bound (it left out attention's 4·D² weights)
    /// and aborted allocating 4 TB; it is a configuration error naming the parameters.
    func testAModelTooLargeForTheMachineIsRefusedBeforeAllocation() throws {
        var c = TrainingConfiguration()
        (c.model.dim, c.model.heads) = (1_000_000, 8)
        c = try c.resolvingTaskFacts()
        let estimate = MemoryEstimate(c, dataParallelRanks: 1)
        XCTAssertGreaterThan(estimate.parameters, 4 * 4e12, "four layers of 4·D² attention weights")
        XCTAssertThrowsError(try estimate.check(ranksOnHost: 1, available: 64e9)) { error in
            XCTAssertTrue("\(error)".contains("parameters with gradients and AdamW moments"), "\(error)")
        }
    }
}
