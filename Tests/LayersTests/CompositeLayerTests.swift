import Parameters
import ParsevalTestSupport
import Foundation
@testable import Layers
import TensorCore
import XCTest

final class CompositeLayerTests: XCTestCase {
    func testMLPGradients() {
        let arena = ParameterArena()
        let mlp = MLP("mlp", arena: arena, dim: 4, hidden: 7)
        arena.allocate(seed: 1)
        GradientCheck().assertMatchesFiniteDifferences(arena: arena, input: randomTensor([2, 3, 4], seed: 2),
                              forward: { mlp.forward($0, context: $1) }, backward: { mlp.backward($0) })
    }

    /// The fused MLP (bias + GELU in one pass, GELU backward + bias gradient in one pass)
    /// against its naive twin: Linear, GELU, Linear as separate layers on the same weights,
    /// over enough rows for several column-sum blocks.
    func testFusedMLPMatchesSeparateLayers() {
        let arena = ParameterArena()
        let mlp = MLP("mlp", arena: arena, dim: 6, hidden: 20)
        arena.allocate(seed: 5)
        let separate = [mlp.fc1, GELU(), mlp.fc2] as [any SequenceLayer]
        let x = randomTensor([3, 100, 6], seed: 6), dy = randomTensor([3, 100, 6], seed: 7)
        let context = ForwardContext(training: false)

        arena.zeroGradients()
        let fusedY = mlp.forward(x, context: context)
        let fusedDx = mlp.backward(dy)
        let fusedGradients = Array(UnsafeBufferPointer(start: arena.gradients.pointer, count: arena.gradients.count))

        arena.zeroGradients()
        let y = separate.reduce(x) { $1.forward($0, context: context) }
        let dx = separate.reversed().reduce(dy) { $1.backward($0) }
        let gradients = Array(UnsafeBufferPointer(start: arena.gradients.pointer, count: arena.gradients.count))
        assertClose(fusedY.scalars, y.scalars.map(Double.init), rtol: 1e-6, atol: 1e-6, "output")
        assertClose(fusedDx.scalars, dx.scalars.map(Double.init), rtol: 1e-5, atol: 1e-6, "input gradient")
        assertClose(fusedGradients, gradients.map(Double.init), rtol: 1e-4, atol: 1e-5, "parameter gradients")
    }

    /// Backward recomputes GELU(a) for fc2's weight gradient instead of keeping it: the same bits
    /// as keeping it (output, input gradient, every parameter gradient, both GELU forms), over
    /// two steps so the released input is handed back each time.
    func testRecomputedHiddenGivesTheKeptHiddensBits() {
        for tanh in [false, true] {
            func run(recomputes: Bool) -> [Float] {
                let arena = ParameterArena()
                let mlp = MLP("mlp", arena: arena, dim: 6, hidden: 20, tanhGELU: tanh)
                mlp.recomputesHidden = recomputes
                arena.allocate(seed: 8)
                var values: [Float] = []
                for step in 0..<2 {
                    let x = randomTensor([3, 50, 6], seed: 9 + UInt64(step)), dy = randomTensor([3, 50, 6], seed: 11 + UInt64(step))
                    let y = mlp.forward(x, context: ForwardContext(training: true))
                    XCTAssertEqual(mlp.fc2.input.count == 0, recomputes, "fc2 keeps its input only when not recomputing")
                    values += y.scalars + mlp.backward(dy).scalars
                }
                return values + Array(arena.sharedGradients)
            }
            let kept = run(recomputes: false), recomputed = run(recomputes: true)
            XCTAssertEqual(kept.map(\.bitPattern), recomputed.map(\.bitPattern), "tanh GELU: \(tanh)")
        }
    }

    func testEncoderBlockWithAttentionGradients() {
        let arena = ParameterArena()
        let block = EncoderBlock("blocks.0", arena: arena, dim: 8, mlpHidden: 16, dropout: 0, streamID: 1) { name in
            SoftmaxAttention(name, arena: arena, dim: 8, heads: 2)
        }
        arena.allocate(seed: 3)
        XCTAssertNotNil(arena.parameter(named: "blocks.0.mixer.qkv.weight"))
        XCTAssertNotNil(arena.parameter(named: "blocks.0.mlp.fc2.bias"))
        let mask = Tensor(shape: [2, 4], values: [1, 1, 1, 1, 1, 1, 0, 0])
        GradientCheck().assertMatchesFiniteDifferences(arena: arena, input: randomTensor([2, 4, 8], seed: 4),
                              context: ForwardContext(training: false, mask: mask),
                              forward: { block.forward($0, context: $1) }, backward: { block.backward($0) })
    }

    func testMeanPoolingUsesValidTokensAndClsTakesTheFirst() {
        let x = Tensor(shape: [2, 3, 2], values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
        let mask = Tensor(shape: [2, 3], values: [1, 1, 0, 1, 1, 1])
        let mean = Pooling(.mean)
        XCTAssertEqual(mean.forward(x, mask: mask).scalars, [2, 3, 9, 10])
        let dx = mean.backward(Tensor(shape: [2, 2], values: [1, 2, 3, 6]))
        XCTAssertEqual(dx.scalars, [0.5, 1, 0.5, 1, 0, 0, 1, 2, 1, 2, 1, 2])
        let cls = Pooling(.cls)
        XCTAssertEqual(cls.forward(x, mask: mask).scalars, [1, 2, 7, 8])
        XCTAssertEqual(cls.backward(Tensor(shape: [2, 2], values: [1, 2, 3, 4])).scalars, [1, 2, 0, 0, 0, 0, 3, 4, 0, 0, 0, 0])
    }

    func testCrossEntropyValuesSmoothingAndIgnoreIndex() {
        let logits = Tensor(shape: [3, 3], values: [2, 1, 0, 0, 0, 0, 1, 3, 2])
        let loss = SoftmaxCrossEntropy()
        let result = loss.forward(logits: logits, labels: [0, 2, -100])
        let expected0 = -(2 - log(exp(2.0) + exp(1.0) + 1)), expected1 = log(3.0)
        XCTAssertEqual(result.loss, (expected0 + expected1) / 2, accuracy: 1e-9)
        XCTAssertEqual(result.count, 2)
        XCTAssertEqual(result.correct, 1, "example 0 is right; example 1 is a tie resolved to class 0")
        let gradient = loss.backward()
        XCTAssertEqual(Array(gradient.scalars[6...]), [0, 0, 0], "ignored examples get no gradient")
        XCTAssertEqual(Double(gradient[1, 2]), (1.0 / 3 - 1) / 2, accuracy: 1e-7)

        let smoothed = SoftmaxCrossEntropy(labelSmoothing: 0.3).forward(logits: logits, labels: [1, -100, -100])
        let logP = [2.0, 1, 0].map { $0 - log(exp(2.0) + exp(1.0) + 1) }
        XCTAssertEqual(smoothed.loss, -(0.8 * logP[1] + 0.1 * logP[0] + 0.1 * logP[2]), accuracy: 1e-9)
    }

    func testCrossEntropyGradientAgainstFiniteDifferences() {
        let loss = SoftmaxCrossEntropy(labelSmoothing: 0.1)
        let logits = randomTensor([4, 5], seed: 6, scale: 2)
        let labels: [Int32] = [0, 4, -100, 2]
        _ = loss.forward(logits: logits, labels: labels)
        let analytic = loss.backward()
        for i in 0..<logits.count {
            var plus = logits, minus = logits
            plus[flat: i] += 1e-2
            minus[flat: i] -= 1e-2
            let numeric = (loss.forward(logits: plus, labels: labels).loss - loss.forward(logits: minus, labels: labels).loss) / 2e-2
            XCTAssertEqual(Double(analytic[flat: i]), numeric, accuracy: 1e-4, "logit \(i)")
        }
    }

    func testEmbeddingsLookUpSkipPaddingAndAccumulate() throws {
        let arena = ParameterArena()
        let tokens = TokenEmbedding("embed", arena: arena, vocabularySize: 5, dim: 3, paddingIndex: 0)
        let positions = PositionalEmbedding("position", arena: arena, maxLength: 6, dim: 3)
        arena.allocate(seed: 7)
        let ids: [Int32] = [3, 1, 0, 3]
        let e = tokens.forward(tokens: ids, batch: 2, length: 2)
        let table = arena.tensor(tokens.table)
        XCTAssertEqual(Array(e.scalars[0..<3]), Array(table.scalars[9..<12]))
        XCTAssertEqual(Array(e.scalars[6..<9]), [0, 0, 0], "the padding id embeds to zeros")
        XCTAssertEqual(Array(table.scalars[0..<3]), [0, 0, 0], "and its row is stored as zeros (PyTorch's padding_idx)")
        XCTAssertTrue(table.scalars[3...].allSatisfy { $0 != 0 }, "the other rows are drawn as before")
        let unpadded = ParameterArena()
        let plain = TokenEmbedding("embed", arena: unpadded, vocabularySize: 5, dim: 3, paddingIndex: nil)
        unpadded.allocate(seed: 7)
        XCTAssertEqual(Array(unpadded.tensor(plain.table).scalars[3...]), Array(table.scalars[3...]),
                       "zeroing the padding row leaves every other value as the normal draw made it")
        positions.offset = 2
        let withPositions = positions.forward(e, context: ForwardContext(training: false))
        let positionTable = arena.tensor(try XCTUnwrap(positions.table))
        XCTAssertEqual(withPositions[1, 1, 2], e[1, 1, 2] + positionTable[3, 2], "positions shifted by the offset")

        arena.zeroGradients()
        let g = Tensor(shape: [2, 2, 3], repeating: 1)
        tokens.backward(positions.backward(g))
        let tokenGradient = UnsafeBufferPointer(start: arena.gradient(tokens.table), count: 15)
        XCTAssertEqual(Array(tokenGradient[9..<12]), [2, 2, 2], "id 3 appears twice")
        XCTAssertEqual(Array(tokenGradient[0..<3]), [0, 0, 0], "the padding row gets no gradient")
        XCTAssertEqual(arena.gradient(try XCTUnwrap(positions.table))[3 * 3], 2, "position 3 is used by both examples")
        XCTAssertEqual(arena.gradient(try XCTUnwrap(positions.table))[0], 0)
    }

    func testDropoutIsIdentityInEvalAndReproducibleInTraining() {
        let dropout = Dropout(rate: 0.25, streamID: 9)
        let x = Tensor(shape: [100, 100], repeating: 1)
        XCTAssertEqual(dropout.forward(x, context: ForwardContext(training: false)), x)
        let context = ForwardContext(training: true, random: RandomStream(seed: 5))
        let y = dropout.forward(x, context: context)
        let kept = y.scalars.filter { $0 != 0 }
        XCTAssertEqual(Double(kept.count) / 10_000, 0.75, accuracy: 0.02)
        XCTAssertTrue(kept.allSatisfy { abs($0 - 4.0 / 3) < 1e-6 }, "kept values are scaled by 1/(1-rate)")
        let dx = dropout.backward(Tensor(shape: [100, 100], repeating: 2))
        XCTAssertEqual(dx.scalars.map { $0 != 0 }, y.scalars.map { $0 != 0 }, "backward uses the forward mask")
        XCTAssertEqual(Dropout(rate: 0.25, streamID: 9).forward(x, context: context), y, "same stream, same mask")
    }

    /// The parallel mask (four elements per Philox block) against its naive twin: element i
    /// dropped exactly when the stream's i-th sequential `uniform()` is below the rate, for any
    /// thread count and for sizes that end mid-block.
    func testDropoutMaskIsTheSequentialStreamForAnyThreadCount() {
        let before = Threading.count
        defer { Threading.configure(threads: before) }
        for count in [1, 6, 16_387, 70_001] {
            let x = randomTensor([count], seed: 3)
            let context = ForwardContext(training: true, random: RandomStream(seed: 8))
            var stream = context.random.derived(4)
            let scale = 1 / (1 - Float(0.3))
            let expected = x.scalars.map { value in stream.uniform() < 0.3 ? 0 : value * scale }
            for threads in [1, 3] {
                Threading.configure(threads: threads)
                let y = Dropout(rate: 0.3, streamID: 4).forward(x, context: context)
                let differing = zip(y.scalars, expected).filter { $0 != $1 }.count
                XCTAssertEqual(differing, 0, "n = \(count), \(threads) threads: elements that differ from the sequential stream")
            }
        }
    }
}
