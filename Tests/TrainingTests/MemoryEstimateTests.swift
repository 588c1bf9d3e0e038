import Foundation
import Layers
import Models
import TensorCore
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

extension MemoryEstimateTests {
    /// The activation bound stays below what a training step really holds (peak tensor memory of
    /// forward and backward), for every mixer, at a short and a long sequence: a bound above it
    /// would refuse runs that fit (an N × N term for attention, which never stores it, did at
    /// LRA's ListOps sizes).
    func testTheActivationBoundIsBelowARealStepsPeak() throws {
        for mixer in MixerKind.allCases {
            for (batch, length) in [(4, 256), (1, 2048)] {
                try assertBoundBelowPeak(mixer, batch: batch, length: length)
            }
        }
    }

    func assertBoundBelowPeak(_ mixer: MixerKind, batch: Int, length: Int) throws {
        var c = TrainingConfiguration()
        (c.model.mixer, c.model.dim, c.model.depth, c.model.heads, c.model.mlpHidden) = (mixer, 64, 2, 4, 128)
        (c.model.maxLength, c.data.sequenceLength, c.training.batchSize, c.model.dropout) = (length, length, batch, 0)
        c.model.randomFeatures = 16
        c = try c.resolvingTaskFacts()
        do {
            let model = EncoderClassifier(c.model, seed: 1)
            let tokens = (0..<batch * length).map { Int32(1 + $0 % 15) }
            let loss = SoftmaxCrossEntropy()
            MemoryStatistics.resetPeak()
            let logits = model.forward(tokens: tokens, mask: nil, batch: batch, length: length, context: ForwardContext(training: true))
            _ = loss.forward(logits: logits, labels: [Int32](repeating: 1, count: batch))
            model.backward(loss.backward())
            let bound = MemoryEstimate(c, dataParallelRanks: 1).activationBytes
            XCTAssertLessThanOrEqual(bound, Double(MemoryStatistics.peak),
                                     "\(mixer), batch \(batch) × \(length): the activation bound exceeds a real step's peak")
        }
    }
}
