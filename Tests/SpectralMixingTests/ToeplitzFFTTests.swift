import Parameters
import ParsevalTestSupport
import Foundation
import Layers
import SpectralMixing
import TensorCore
import XCTest

/// ToeplitzFFT as a layer whose coefficients are arena parameters, so the gradient checker
/// covers ∂L/∂x and ∂L/∂c.
final class ToeplitzProduct: SequenceLayer {
    let toeplitz: ToeplitzFFT
    let arena: ParameterArena
    let coefficients: Parameter
    let groups: Int
    var input = Tensor(zeros: [0])

    init(arena: ParameterArena, groups: Int, length: Int, causal: Bool) {
        toeplitz = ToeplitzFFT(length: length, causal: causal)
        self.arena = arena
        self.groups = groups
        coefficients = arena.register("c", shape: [groups, 2 * length - 1], initializer: .uniform(low: -1, high: 1),
                                      weightDecay: false)
    }

    func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
        input = x
        return toeplitz.apply(x, coefficients: arena.tensor(coefficients))
    }

    func backward(_ gradient: Tensor) -> Tensor {
        let (dx, dc) = toeplitz.gradients(of: gradient, input: input, coefficients: arena.tensor(coefficients))
        let target = arena.gradient(coefficients)
        for i in 0..<dc.count { target[i] += dc[flat: i] }
        return dx
    }
}

final class ToeplitzFFTTests: XCTestCase {
    /// y_i = Σ_j c_{j−i} x_j per channel ([groups, channels, N]) with an explicit Toeplitz
    /// matrix (Double), full and causal, and
    /// the transposed product; odd, even and non-power-of-two N. rtol 1e-5, atol 1e-5.
    func testProductMatchesExplicitToeplitzMatrix() {
        // 11 and 13 embed in circulants of 24 and 28, not 2N (see `testCirculantSizeIsTheNextFastLength`).
        for (n, causal) in [(1, false), (5, false), (8, true), (12, false), (7, true), (11, false), (13, true)] {
            let groups = 3, channels = 4
            let x = randomTensor([groups, channels, n], seed: UInt64(n))
            let c = randomTensor([groups, 2 * n - 1], seed: UInt64(100 + n))
            let toeplitz = ToeplitzFFT(length: n, causal: causal)
            for transposed in [false, true] {
                var expected = [Double]()
                for g in 0..<groups {
                    for ch in 0..<channels {
                        for i in 0..<n {
                            var total = 0.0
                            for j in 0..<n {
                                let t = transposed ? i - j : j - i       // Cᵀ_ij = C_ji = c_{i−j}
                                if causal && t > 0 { continue }
                                total += Double(c[g, t + n - 1]) * Double(x[g, ch, j])
                            }
                            expected.append(total)
                        }
                    }
                }
                assertClose(toeplitz.apply(x, coefficients: c, transposed: transposed).scalars, expected,
                            rtol: 1e-5, atol: 1e-5, "Toeplitz n \(n) causal \(causal) transposed \(transposed)")
            }
        }
    }

    /// ∂L/∂c_t = Σ_i Σ_ch g_i x_{i+t} against the explicit sum; rtol 1e-5, atol 1e-5.
    func testCoefficientGradientMatchesExplicitSum() {
        for (n, causal) in [(6, false), (9, true), (17, false), (11, true)] {
            let x = randomTensor([2, 3, n], seed: 1), g = randomTensor([2, 3, n], seed: 2)
            let c = randomTensor([2, 2 * n - 1], seed: 3)
            let dc = ToeplitzFFT(length: n, causal: causal).gradients(of: g, input: x, coefficients: c).coefficients
            var expected = [Double]()
            for group in 0..<2 {
                for t in -(n - 1)...(n - 1) {
                    var total = 0.0
                    if !(causal && t > 0) {
                        for i in 0..<n where i + t >= 0 && i + t < n {
                            for ch in 0..<3 { total += Double(g[group, ch, i]) * Double(x[group, ch, i + t]) }
                        }
                    }
                    expected.append(total)
                }
            }
            assertClose(dc.scalars, expected, rtol: 1e-5, atol: 1e-5, "dc n \(n) causal \(causal)")
        }
    }

    func testGradientsMatchFiniteDifferences() {
        for (n, causal) in [(5, false), (6, true), (11, false)] {
            let arena = ParameterArena()
            let layer = ToeplitzProduct(arena: arena, groups: 2, length: n, causal: causal)
            arena.allocate(seed: 4)
            GradientCheck().assertMatchesFiniteDifferences(arena: arena, input: randomTensor([2, 3, n], seed: 5),
                                  forward: { layer.forward($0, context: $1) }, backward: { layer.backward($0) })
        }
    }

    /// L is the smallest even 7-smooth number ≥ 2N − 1: 2N when that is one, else the next.
    func testCirculantSizeIsTheNextFastLength() {
        let sizes = [1: 2, 5: 10, 11: 24, 13: 28, 1024: 2048, 1025: 2058, 2001: 4032, 4001: 8064, 4096: 8192]
        for (n, size) in sizes {
            let toeplitz = ToeplitzFFT(length: n, causal: false)
            XCTAssertEqual(toeplitz.transformLength, size, "N = \(n)")
            XCTAssertEqual(toeplitz.bins, size / 2 + 1, "N = \(n)")
        }
        func isSevenSmooth(_ n: Int) -> Bool {
            var rest = n
            for p in [2, 3, 5, 7] { while rest % p == 0 { rest /= p } }
            return rest == 1
        }
        for minimum in 1...3000 {
            let size = ToeplitzFFT.fastLength(atLeast: minimum)
            XCTAssertTrue(size >= minimum && size % 2 == 0 && isSevenSmooth(size), "\(minimum) → \(size)")
            XCTAssertTrue(stride(from: max(2, minimum + minimum % 2), to: size, by: 2).allSatisfy { !isSevenSmooth($0) },
                          "\(minimum) → \(size) is not the smallest")
        }
    }
}
