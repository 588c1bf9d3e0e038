import ParsevalTestSupport
import Foundation
import Layers
import SpectralMixing
import TensorCore
import XCTest

final class FNetMixingTests: XCTestCase {
    /// y[b, n, d] = Σ_{t, e} x[b, t, e] cos(2π(nt/N + de/D)): the real part of the 2-D DFT
    /// written with explicit DFT matrices. Tolerance: atol 1e-4 · √(N·D) (Float32 FFT rounding
    /// on sums of N·D unit-size terms), rtol 1e-4.
    func testForwardMatchesExplicitDFTMatrices() {
        for (b, n, d) in [(2, 6, 5), (1, 7, 8), (2, 12, 3), (1, 1, 4)] {
            let x = randomTensor([b, n, d], seed: UInt64(n * 10 + d))
            let y = FNetMixing().forward(x, context: ForwardContext(training: false))
            var expected = [Double](repeating: 0, count: b * n * d)
            for batch in 0..<b {
                for row in 0..<n {
                    for column in 0..<d {
                        var total = 0.0
                        for t in 0..<n {
                            for e in 0..<d {
                                let (sequenceRe, sequenceIm) = Naive.twiddle(row, t, n, sign: -1)
                                let (hiddenRe, hiddenIm) = Naive.twiddle(column, e, d, sign: -1)
                                // Re((a + ib)(c + id)) = ac − bd
                                total += Double(x[batch, t, e]) * (sequenceRe * hiddenRe - sequenceIm * hiddenIm)
                            }
                        }
                        expected[(batch * n + row) * d + column] = total
                    }
                }
            }
            assertClose(y.scalars, expected, rtol: 1e-4, atol: 1e-4 * Double(n * d).squareRoot(),
                        "FNet forward (B, N, D) = (\(b), \(n), \(d))")
        }
    }

    func testBackwardMatchesFiniteDifferences() {
        let mixer = FNetMixing()
        for shape in [[2, 5, 6], [1, 8, 7]] {
            GradientCheck().assertMatchesFiniteDifferences(arena: nil, input: randomTensor(shape, seed: 3),
                                  forward: { mixer.forward($0, context: $1) }, backward: { mixer.backward($0) })
        }
    }
}
