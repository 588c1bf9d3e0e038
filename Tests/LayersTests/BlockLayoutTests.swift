import Foundation
import Layers
import Parameters
import ParsevalTestSupport
import TensorCore
import XCTest

/// The encoder block's layouts (`model.block: paper`, docs/models.md "Blocks"): each layout's
/// forward against its equation written out with the block's own sublayers called one by one,
/// and its backward against central finite differences.
final class BlockLayoutTests: XCTestCase {
    /// Keeps the first `count` tokens: a stand-in for the DCT shortening (linear, parameter-free).
    final class KeepFirstTokens: SequenceLayer {
        let count: Int
        var length = 0
        init(_ count: Int) { self.count = count }
        func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
            let (b, n, d) = (x.shape[0], x.shape[1], x.shape[2])
            length = n
            return Tensor(shape: [b, count, d], values: (0..<b * count * d).map { i in
                let (batch, rest) = (i / (count * d), i % (count * d))
                return x.scalars[batch * n * d + rest]
            })
        }
        func backward(_ g: Tensor) -> Tensor {
            let (b, d) = (g.shape[0], g.shape[2])
            var values = [Float](repeating: 0, count: b * length * d)
            for i in 0..<g.count {
                let (batch, rest) = (i / (count * d), i % (count * d))
                values[batch * length * d + rest] = g.scalars[i]
            }
            return Tensor(shape: [b, length, d], values: values)
        }
    }

    func makeBlock(_ layout: EncoderBlock.Layout, arena: ParameterArena, epsilon: Float = 1e-5,
                   tanhGELU: Bool = false) -> EncoderBlock {
        let block = EncoderBlock("blocks.0", arena: arena, dim: 8, mlpHidden: 16, dropout: 0, streamID: 1,
                                 layout: layout, epsilon: epsilon, tanhGELU: tanhGELU) { name in
            SoftmaxAttention(name, arena: arena, dim: 8, heads: 2)
        }
        arena.allocate(seed: 3)
        // LayerNorm weights and biases away from 1 and 0, so a misplaced norm shows.
        for name in ["blocks.0.norm1.weight", "blocks.0.norm1.bias", "blocks.0.norm2.weight", "blocks.0.norm2.bias"] {
            let parameter = arena.parameter(named: name)!
            let values = arena.value(parameter)
            for i in 0..<arena.entries[parameter.index].count { values[i] = (name.hasSuffix("weight") ? 1 : 0) + 0.3 * Float(sin(Double(i + 1))) }
        }
        return block
    }

    let mask = Tensor(shape: [2, 4], values: [1, 1, 1, 1, 1, 1, 0, 0])
    var context: ForwardContext { ForwardContext(training: false, mask: mask) }
    var unmasked: ForwardContext { ForwardContext(training: false) }

    func sum(_ a: Tensor, _ b: Tensor) -> Tensor {
        Tensor(shape: a.shape, values: zip(a.scalars, b.scalars).map { $0 + $1 })
    }

    /// Each layout's equation from its sublayers, next to the block's fused forward.
    func assertLayout(_ layout: EncoderBlock.Layout, equation: (EncoderBlock, Tensor) -> Tensor,
                      file: StaticString = #filePath, line: UInt = #line) {
        let arena = ParameterArena()
        let block = makeBlock(layout, arena: arena)
        let x = randomTensor([2, 4, 8], seed: 4)
        let expected = equation(block, x)
        let actual = block.forward(x, context: context)
        XCTAssertEqual(actual.shape, expected.shape, file: file, line: line)
        assertClose(actual.scalars, expected.scalars.map(Double.init), rtol: 1e-5, atol: 1e-6, "forward", file: file, line: line)
        GradientCheck().assertMatchesFiniteDifferences(arena: arena, input: x, context: context,
                                                       forward: { block.forward($0, context: $1) },
                                                       backward: { block.backward($0) }, file: file, line: line)
    }

    func testPreNorm() {
        assertLayout(.preNorm) { block, x in
            let h = sum(x, block.mixer.forward(block.norm1.forward(x, context: context), context: context))
            return sum(h, block.mlp.forward(block.norm2.forward(h, context: context), context: context))
        }
    }

    /// FNet: h = LN1(x + M(x)); y = LN2(h + MLP(h)).
    func testPostNorm() {
        assertLayout(.postNorm) { block, x in
            let h = block.norm1.forward(sum(x, block.mixer.forward(x, context: context)), context: context)
            return block.norm2.forward(sum(h, block.mlp.forward(h, context: context)), context: context)
        }
    }

    /// FFTNet v1: h = LN1(x + M(x)) with the mixer unmasked; y = h + MLP(LN2(h)).
    func testMixerPostNorm() {
        assertLayout(.mixerPostNorm) { block, x in
            let h = block.norm1.forward(sum(x, block.mixer.forward(x, context: unmasked)), context: context)
            return sum(h, block.mlp.forward(block.norm2.forward(h, context: context), context: context))
        }
    }

    /// The Fourier Transformer: s = S(LN1(x)); h = s + M(s) unmasked; y = h + MLP(LN2(h)).
    func testShortenedResidual() {
        let shortening = KeepFirstTokens(3)
        assertLayout(.shortenedResidual(shortening)) { block, x in
            let s = shortening.forward(block.norm1.forward(x, context: context), context: context)
            let h = sum(s, block.mixer.forward(s, context: unmasked))
            return sum(h, block.mlp.forward(block.norm2.forward(h, context: context), context: context))
        }
    }

    /// GFNet: y = x + MLP(LN2(M(LN1(x)))).
    func testSerial() {
        assertLayout(.serial) { block, x in
            let mixed = block.mixer.forward(block.norm1.forward(x, context: context), context: context)
            return sum(x, block.mlp.forward(block.norm2.forward(mixed, context: context), context: context))
        }
    }

    /// ε and the GELU form reach the sublayers.
    func testEpsilonAndGELUFormReachTheSublayers() {
        let block = makeBlock(.preNorm, arena: ParameterArena(), epsilon: 1e-12, tanhGELU: true)
        XCTAssertEqual(block.norm1.epsilon, 1e-12)
        XCTAssertEqual(block.norm2.epsilon, 1e-12)
        XCTAssertTrue(block.mlp.tanhGELU)
    }

    /// The tanh form: ½x(1 + tanh(√(2/π)(x + 0.044715x³))) in Double, and its gradient.
    func testTanhGELUMatchesItsFormulaAndFiniteDifferences() {
        let arena = ParameterArena()
        let mlp = MLP("mlp", arena: arena, dim: 1, hidden: 1, tanhGELU: true)
        arena.allocate(seed: 1)
        arena.value(mlp.fc1.weight)[0] = 1
        arena.value(mlp.fc1.bias!)[0] = 0
        arena.value(mlp.fc2.weight)[0] = 1
        arena.value(mlp.fc2.bias!)[0] = 0
        let inputs: [Float] = [-6, -3, -1.5, -0.5, -0.01, 0, 0.01, 0.7, 2, 4, 9]
        let y = mlp.forward(Tensor(shape: [1, inputs.count, 1], values: inputs), context: unmasked)
        let expected = inputs.map { v -> Double in
            let x = Double(v)
            return 0.5 * x * (1 + tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
        }
        assertClose(y.scalars, expected, rtol: 1e-6, atol: 1e-7, "tanh GELU")
        let fresh = ParameterArena()
        let checked = MLP("mlp", arena: fresh, dim: 4, hidden: 7, tanhGELU: true)
        fresh.allocate(seed: 2)
        GradientCheck().assertMatchesFiniteDifferences(arena: fresh, input: randomTensor([2, 3, 4], seed: 5),
                                                       forward: { checked.forward($0, context: $1) },
                                                       backward: { checked.backward($0) })
    }
}
