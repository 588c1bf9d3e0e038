import Foundation
import Layers
import Parameters
import ParsevalTestSupport
import SpectralMixing
import TensorCore
import XCTest

/// GFNet's global filter against the explicit DFT in Double, and its backward against central
/// finite differences for the input and the complex filter; odd and even lengths.
final class GlobalFilterTests: XCTestCase {
    func makeLayer(length n: Int, dim: Int, seed: UInt64) -> (ParameterArena, GlobalFilterMixing) {
        let arena = ParameterArena()
        let layer = GlobalFilterMixing("mixer", arena: arena, dim: dim, sequenceLength: n)
        arena.allocate(seed: seed)
        // A filter of order 1, not GFNet's 0.02 init, so every term of the product is visible.
        let w = arena.value(layer.filter)
        var stream = RandomStream(seed: seed + 1)
        for i in 0..<arena.entry(layer.filter).count { w[i] = stream.uniform(-1, 1) }
        return (arena, layer)
    }

    /// y[n, d] = (1/N) Σ_k Ŷ[k, d] e^{2πikn/N}, Ŷ the Hermitian completion of Z ⊙ W, with
    /// Z[k, d] = Σ_n x[n, d] e^{−2πikn/N}: DC and Nyquist keep only their real parts, as c2r does.
    func reference(_ x: Tensor, _ arena: ParameterArena, _ layer: GlobalFilterMixing) -> [Double] {
        let (b, n, d) = (x.shape[0], x.shape[1], x.shape[2])
        let w = arena.tensor(layer.filter).doubles
        var y = [Double](repeating: 0, count: b * n * d)
        for batch in 0..<b {
            for c in 0..<d {
                var full = [(Double, Double)](repeating: (0, 0), count: n)
                for k in 0...(n / 2) {
                    var (zr, zi) = (0.0, 0.0)
                    for t in 0..<n {
                        let (cr, ci) = Naive.twiddle(t, k, n, sign: -1)
                        let value = Double(x[batch, t, c])
                        zr += value * cr
                        zi += value * ci
                    }
                    let (wr, wi) = (w[(k * d + c) * 2], w[(k * d + c) * 2 + 1])
                    var product = (zr * wr - zi * wi, zr * wi + zi * wr)
                    if k == 0 || (n % 2 == 0 && k == n / 2) { product.1 = 0 }
                    full[k] = product
                    if k > 0 && k < n - k { full[n - k] = (product.0, -product.1) }
                }
                for t in 0..<n {
                    var sum = 0.0
                    for k in 0..<n {
                        let (cr, ci) = Naive.twiddle(t, k, n, sign: 1)
                        sum += full[k].0 * cr - full[k].1 * ci
                    }
                    y[(batch * n + t) * d + c] = sum / Double(n)
                }
            }
        }
        return y
    }

    func testForwardMatchesTheExplicitDFT() {
        for n in [7, 8, 16] {
            let (arena, layer) = makeLayer(length: n, dim: 3, seed: UInt64(n))
            let x = randomTensor([2, n, 3], seed: UInt64(n) + 10)
            let y = layer.forward(x, context: ForwardContext(training: false))
            assertClose(y.scalars, reference(x, arena, layer), rtol: 1e-5, atol: 1e-5, "N = \(n)")
        }
    }

    func testBackwardMatchesFiniteDifferences() {
        for n in [5, 6] {
            let (arena, layer) = makeLayer(length: n, dim: 2, seed: 40 + UInt64(n))
            GradientCheck().assertMatchesFiniteDifferences(arena: arena, input: randomTensor([2, n, 2], seed: 3),
                                                           forward: { layer.forward($0, context: $1) },
                                                           backward: { layer.backward($0) })
        }
    }

    /// The imaginary parts of the filter at DC (and Nyquist, for even N) never reach the output.
    func testTheFiltersUnusedImaginaryPartsGetNoGradient() {
        let n = 8, d = 2
        let (arena, layer) = makeLayer(length: n, dim: d, seed: 9)
        arena.zeroGradients()
        _ = layer.forward(randomTensor([3, n, d], seed: 4), context: ForwardContext(training: false))
        _ = layer.backward(randomTensor([3, n, d], seed: 5))
        let g = arena.gradient(layer.filter)
        for c in 0..<d {
            XCTAssertEqual(g[c * 2 + 1], 0, accuracy: 1e-6, "DC")
            XCTAssertEqual(g[((n / 2) * d + c) * 2 + 1], 0, accuracy: 1e-6, "Nyquist")
        }
    }
}
