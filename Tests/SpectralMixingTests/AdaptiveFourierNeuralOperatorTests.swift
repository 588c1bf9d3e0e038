import Foundation
import Layers
import Parameters
import ParsevalTestSupport
import SpectralMixing
import TensorCore
import XCTest

/// AFNO against explicit DFT matrices and complex loops in Double, and its backward against
/// central finite differences for the input and every parameter; odd and even lengths.
final class AdaptiveFourierNeuralOperatorTests: XCTestCase {
    /// Weights of order 1, not AFNO's 0.02 init, so every product, the ReLU and the shrinkage show.
    func makeLayer(dim: Int, blocks: Int, factor: Int = 1, threshold: Float = 0.05, seed: UInt64)
        -> (ParameterArena, AdaptiveFourierNeuralOperator) {
        let arena = ParameterArena()
        let layer = AdaptiveFourierNeuralOperator("mixer", arena: arena, dim: dim, blocks: blocks, hiddenSizeFactor: factor,
                                                  sparsityThreshold: threshold)
        arena.allocate(seed: seed)
        var stream = RandomStream(seed: seed + 1)
        for parameter in [layer.w1, layer.b1, layer.w2, layer.b2] {
            let values = arena.value(parameter)
            for i in 0..<arena.entry(parameter).count { values[i] = stream.uniform(-0.8, 0.8) }
        }
        return (arena, layer)
    }

    /// y = x + irfft(S_λ(W₂·ReLU(W₁·Z + b₁) + b₂)) written as sums: Z[k, c] = Σ_n x[n, c] e^{−2πikn/N}/√N,
    /// the block MLP per bin in complex arithmetic, ReLU and S_λ on each part, and the inverse DFT of
    /// the Hermitian completion (DC's and Nyquist's imaginary parts dropped, as c2r does).
    func reference(_ x: Tensor, _ arena: ParameterArena, _ layer: AdaptiveFourierNeuralOperator) -> [Double] {
        let (b, n, d) = (x.shape[0], x.shape[1], x.shape[2])
        let (k, bs, h, lambda) = (layer.blocks, layer.blockSize, layer.hiddenSize, Double(layer.sparsityThreshold))
        let (w1, b1, w2, b2) = (arena.tensor(layer.w1).doubles, arena.tensor(layer.b1).doubles,
                                arena.tensor(layer.w2).doubles, arena.tensor(layer.b2).doubles)
        func shrink(_ u: Double) -> Double { u > lambda ? u - lambda : (u < -lambda ? u + lambda : 0) }
        let scale = 1 / Double(n).squareRoot()
        var y = x.doubles
        for batch in 0..<b {
            var spectrum = [[(Double, Double)]](repeating: [(Double, Double)](repeating: (0, 0), count: d), count: n / 2 + 1)
            for bin in 0...(n / 2) {
                for c in 0..<d {
                    var (re, im) = (0.0, 0.0)
                    for t in 0..<n {
                        let (cr, ci) = Naive.twiddle(t, bin, n, sign: -1)
                        re += Double(x[batch, t, c]) * cr * scale
                        im += Double(x[batch, t, c]) * ci * scale
                    }
                    spectrum[bin][c] = (re, im)
                }
                var out = [(Double, Double)](repeating: (0, 0), count: d)
                for block in 0..<k {
                    var hidden = [(Double, Double)](repeating: (0, 0), count: h)
                    for o in 0..<h {
                        var (re, im) = (b1[block * h + o], b1[(k + block) * h + o])
                        for i in 0..<bs {
                            let (zr, zi) = spectrum[bin][block * bs + i]
                            let (wr, wi) = (w1[(block * bs + i) * h + o], w1[((k + block) * bs + i) * h + o])
                            re += zr * wr - zi * wi
                            im += zr * wi + zi * wr
                        }
                        hidden[o] = (max(re, 0), max(im, 0))
                    }
                    for o in 0..<bs {
                        var (re, im) = (b2[block * bs + o], b2[(k + block) * bs + o])
                        for i in 0..<h {
                            let (ur, ui) = hidden[i]
                            let (wr, wi) = (w2[(block * h + i) * bs + o], w2[((k + block) * h + i) * bs + o])
                            re += ur * wr - ui * wi
                            im += ur * wi + ui * wr
                        }
                        out[block * bs + o] = (shrink(re), shrink(im))
                    }
                }
                spectrum[bin] = out
            }
            for c in 0..<d {
                var full = [(Double, Double)](repeating: (0, 0), count: n)
                for bin in 0...(n / 2) {
                    var value = spectrum[bin][c]
                    if bin == 0 || (n % 2 == 0 && bin == n / 2) { value.1 = 0 }
                    full[bin] = value
                    if bin > 0 && bin < n - bin { full[n - bin] = (value.0, -value.1) }
                }
                for t in 0..<n {
                    var sum = 0.0
                    for bin in 0..<n {
                        let (cr, ci) = Naive.twiddle(t, bin, n, sign: 1)
                        sum += full[bin].0 * cr - full[bin].1 * ci
                    }
                    y[(batch * n + t) * d + c] += sum * scale
                }
            }
        }
        return y
    }

    func testForwardMatchesTheExplicitDFTAndComplexMLP() {
        // The last two span several of the layout conversion's 32 × 32 tiles, partial ones included.
        for (n, dim, blocks, factor) in [(7, 4, 2, 1), (8, 6, 3, 2), (16, 4, 1, 1), (70, 40, 4, 1), (65, 33, 3, 2)] {
            let (arena, layer) = makeLayer(dim: dim, blocks: blocks, factor: factor, seed: UInt64(n))
            let x = randomTensor([2, n, dim], seed: UInt64(n) + 10)
            let y = layer.forward(x, context: ForwardContext(training: false))
            assertClose(y.scalars, reference(x, arena, layer), rtol: 1e-5, atol: 1e-5, "N = \(n), K = \(blocks), f = \(factor)")
        }
    }

    /// The official names and shapes: (re, im) first, then the blocks.
    func testParametersHaveTheOfficialShapes() {
        let (arena, _) = makeLayer(dim: 6, blocks: 3, factor: 2, seed: 1)
        XCTAssertEqual(arena.entries.map(\.name), ["mixer.w1", "mixer.b1", "mixer.w2", "mixer.b2"])
        XCTAssertEqual(arena.entries.map(\.shape), [[2, 3, 2, 4], [2, 3, 4], [2, 3, 4, 2], [2, 3, 2]])
    }

    /// Step 1e-3: ReLU and S_λ have kinks that a larger step crosses.
    func testBackwardMatchesFiniteDifferences() {
        for (n, factor) in [(5, 1), (6, 2)] {
            let (arena, layer) = makeLayer(dim: 4, blocks: 2, factor: factor, seed: 40 + UInt64(n))
            GradientCheck(step: 1e-3).assertMatchesFiniteDifferences(arena: arena, input: randomTensor([2, n, 4], seed: 3),
                                                                     forward: { layer.forward($0, context: $1) },
                                                                     backward: { layer.backward($0) })
        }
    }

    /// Across tile edges: 34 bins and 36 channels in blocks of 12 make partial tiles both ways.
    /// With 34 × 2 rows per hidden unit a step of any parameter crosses some ReLU kink, so the first
    /// bias is raised to keep the ReLU open: every product, the multiplicities and the layouts are
    /// still checked, and the small sizes above check the kinks.
    func testBackwardMatchesFiniteDifferencesAcrossTiles() {
        let (arena, layer) = makeLayer(dim: 36, blocks: 3, seed: 66)
        let bias = arena.value(layer.b1)
        for i in 0..<arena.entry(layer.b1).count { bias[i] += 12 }
        GradientCheck(step: 1e-3).assertMatchesFiniteDifferences(arena: arena, input: randomTensor([1, 66, 36], seed: 4),
                                                                 forward: { layer.forward($0, context: $1) },
                                                                 backward: { layer.backward($0) })
    }

    /// With λ above every output of the MLP, S_λ zeroes the spectrum and the layer is the identity.
    func testALargeThresholdLeavesOnlyTheResidual() {
        let (_, layer) = makeLayer(dim: 4, blocks: 2, threshold: 1e6, seed: 2)
        let x = randomTensor([2, 8, 4], seed: 5)
        XCTAssertEqual(layer.forward(x, context: ForwardContext(training: false)).scalars, x.scalars)
        let dy = randomTensor([2, 8, 4], seed: 6)
        assertClose(layer.backward(dy).scalars, dy.doubles, rtol: 1e-6, atol: 1e-6, "dx = dy")
    }
}
