import ParsevalTestSupport
import Foundation
import Layers
import SpectralMixing
import TensorCore
import XCTest

final class DCTTests: XCTestCase {
    /// DCT-II and DCT-III along each axis of a rank-3 tensor against the explicit orthonormal
    /// cosine matrix (Double) and its transpose, at odd, even and non-power-of-two lengths.
    /// Tolerance: rtol 1e-5, atol 1e-5 (Float32 FFT of unit-size inputs).
    func testForwardAndInverseMatchExplicitCosineMatrix() {
        for n in [1, 2, 3, 5, 8, 12, 17] {
            for axis in 0..<3 {
                var shape = [2, 3, 2]
                shape[axis] = n
                let x = randomTensor(shape, seed: UInt64(10 * n + axis))
                let outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *)
                var typeTwo = [Double](repeating: 0, count: x.count), typeThree = typeTwo
                for o in 0..<outer {
                    for i in 0..<inner {
                        for k in 0..<n {
                            var sumTwo = 0.0, sumThree = 0.0
                            for t in 0..<n {
                                let value = Double(x[flat: (o * n + t) * inner + i])
                                sumTwo += Naive.cosine(k, t, n) * value    // X = C x
                                sumThree += Naive.cosine(t, k, n) * value  // x = Cᵀ X
                            }
                            typeTwo[(o * n + k) * inner + i] = sumTwo
                            typeThree[(o * n + k) * inner + i] = sumThree
                        }
                    }
                }
                assertClose(DCT.forward(x, axis: axis).scalars, typeTwo, rtol: 1e-5, atol: 1e-5,
                            "DCT-II n \(n) axis \(axis)")
                assertClose(DCT.inverse(x, axis: axis).scalars, typeThree, rtol: 1e-5, atol: 1e-5,
                            "DCT-III n \(n) axis \(axis)")
            }
        }
    }

    /// IDCT(DCT(x)) = x at full length; tolerance atol 1e-5.
    func testRoundTripAtFullLength() {
        for n in [4, 7, 64, 100, 1000] {
            let x = randomTensor([3, n, 5], seed: UInt64(n))
            let back = DCT.inverse(DCT.forward(x, axis: 1), axis: 1)
            assertClose(back.scalars, x.doubles, rtol: 0, atol: 1e-5, "round trip n \(n)")
        }
    }

    /// Orthonormal: Σ x² = Σ X² (Parseval for the DCT); rtol 1e-5.
    func testForwardPreservesEnergy() {
        let x = randomTensor([2, 33, 4], seed: 5)
        let energy = x.doubles.reduce(0) { $0 + $1 * $1 }
        let transformed = DCT.forward(x, axis: 1).doubles.reduce(0) { $0 + $1 * $1 }
        XCTAssertEqual(transformed, energy, accuracy: 1e-5 * energy)
    }
}
