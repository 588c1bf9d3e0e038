import Foundation
import Layers
import Models
import Optimizers
import TensorCore
import Training
import XCTest

/// He et al.: DCT downsampling has no parameters, so a Fourier Transformer loads a plain
/// Transformer's checkpoint unchanged; with ratio 1.0 it computes the same function.
final class WeightInheritanceTests: XCTestCase {
    func testFourierTransformerInheritsATransformersCheckpoint() throws {
        let run = FileManager.default.temporaryDirectory.appendingPathComponent("parseval-inherit-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: run) }
        var c = ModelConfiguration()
        (c.vocabularySize, c.maxLength, c.dim, c.depth, c.heads, c.mlpHidden, c.dropout, c.classes) = (11, 12, 16, 2, 2, 32, 0, 4)
        let transformer = EncoderClassifier(c, seed: 1)
        try Checkpoint.save(run: run, arena: transformer.arena, optimizer: AdamW(arena: transformer.arena),
                            state: TrainingState(), configurationJSON: "{}")
        let directory = try XCTUnwrap(try Checkpoint.resolve(run: run))

        var stream = RandomStream(seed: 2)
        let tokens = (0..<3 * 12).map { _ in Int32(1 + stream.integer(below: 10)) }
        func logits(_ model: EncoderClassifier) -> [Float] {
            model.forward(tokens: tokens, mask: nil, batch: 3, length: 12, context: ForwardContext(training: false)).scalars
        }
        let expected = logits(transformer)

        var identity = c
        identity.downsample = [DownsampleStage(layer: 0, ratio: 1.0)]
        let inheriting = EncoderClassifier(identity, seed: 99)
        XCTAssertNotEqual(logits(inheriting), expected, "before loading, the models differ")
        try Checkpoint.load(from: directory, into: inheriting.arena)
        let actual = logits(inheriting)
        let worst = zip(actual, expected).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertLessThan(worst, 1e-4, "ratio 1.0 must reproduce the Transformer's logits (largest difference \(worst))")

        var shortened = c
        shortened.downsample = [DownsampleStage(layer: 0, ratio: 0.5)]
        let fourier = EncoderClassifier(shortened, seed: 7)
        try Checkpoint.load(from: directory, into: fourier.arena)
        XCTAssertTrue(logits(fourier).allSatisfy(\.isFinite), "the downsampling model evaluates with inherited weights")
    }
}
