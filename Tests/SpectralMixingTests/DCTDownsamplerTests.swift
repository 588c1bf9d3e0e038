import ParsevalTestSupport
import Foundation
import Layers
import SpectralMixing
import TensorCore
import XCTest

final class DCTDownsamplerTests: XCTestCase {
    /// Forward against the explicit matrix C_Kᵀ P C_N (orthonormal cosine matrices at their
    /// own lengths, P the truncation), with and without CLS kept aside; atol 1e-5.
    func testForwardMatchesExplicitCosineMatrices() {
        for (n, ratio, cls) in [(10, 0.5, false), (9, 0.3, false), (12, 0.25, true), (7, 0.6, true)] {
            let x = randomTensor([2, n, 3], seed: UInt64(n))
            let layer = DCTDownsampler(ratio: ratio, keepsFirstToken: cls)
            let y = layer.forward(x, context: ForwardContext(training: false))
            let skip = cls ? 1 : 0, long = n - skip
            let short = min(Int((ratio * Double(n)).rounded(.up)), long)
            XCTAssertEqual(y.shape, [2, skip + short, 3])
            var expected = [Double]()
            for batch in 0..<2 {
                if cls { for j in 0..<3 { expected.append(Double(x[batch, 0, j])) } }
                for t in 0..<short {
                    for j in 0..<3 {
                        var total = 0.0
                        for k in 0..<short {
                            var coefficient = 0.0
                            for s in 0..<long { coefficient += Naive.cosine(k, s, long) * Double(x[batch, skip + s, j]) }
                            total += Naive.cosine(k, t, short) * coefficient
                        }
                        expected.append(total)
                    }
                }
            }
            assertClose(y.scalars, expected, rtol: 1e-5, atol: 1e-5, "downsample n \(n) ratio \(ratio) cls \(cls)")
        }
    }

    /// p = 1 is the identity (with CLS too: K = ceil(N) covers the N − 1 other tokens), and a
    /// constant a comes back as a·√(N/K), the documented scaling; atol 1e-5.
    func testRatioOneIsIdentityAndConstantScaling() {
        let x = randomTensor([2, 9, 4], seed: 1)
        for cls in [false, true] {
            let y = DCTDownsampler(ratio: 1, keepsFirstToken: cls).forward(x, context: ForwardContext(training: false))
            assertClose(y.scalars, x.doubles, rtol: 0, atol: 1e-5, "ratio 1, cls \(cls)")
        }
        let constant = Tensor(shape: [1, 16, 2], repeating: 0.5)
        let y = DCTDownsampler(ratio: 0.25, keepsFirstToken: false).forward(constant, context: ForwardContext(training: false))
        assertClose(y.scalars, [Double](repeating: 0.5 * 2, count: 8), rtol: 0, atol: 1e-5, "constant, N 16, K 4")
    }

    func testBackwardMatchesFiniteDifferences() {
        for (n, ratio, cls) in [(11, 0.4, false), (8, 0.5, true)] {
            let layer = DCTDownsampler(ratio: ratio, keepsFirstToken: cls)
            GradientCheck().assertMatchesFiniteDifferences(arena: nil, input: randomTensor([2, n, 3], seed: 2),
                                  forward: { layer.forward($0, context: $1) }, backward: { layer.backward($0) })
        }
    }
}
