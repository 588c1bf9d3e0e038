import ParsevalTestSupport
import TensorCore
import XCTest

final class GemmTests: XCTestCase {
    func testEveryTransposeCombinationAgainstTripleLoop() {
        // Odd, prime and degenerate sizes.
        let sizes = [(1, 1, 1), (3, 5, 7), (17, 13, 11), (31, 1, 29), (64, 33, 97), (2, 127, 3)]
        for (m, n, k) in sizes {
            for transposeA in [false, true] {
                for transposeB in [false, true] {
                    let a = Reference.randomValues(m * k, seed: UInt64(m * 1000 + k))
                    let b = Reference.randomValues(k * n, seed: UInt64(n * 1000 + k + 7))
                    var c = [Float](repeating: 0, count: m * n)
                    gemm(transposeA ? .transposed : .none, transposeB ? .transposed : .none, m: m, n: n, k: k,
                         a: a, lda: transposeA ? m : k, b: b, ldb: transposeB ? k : n, beta: 0, c: &c, ldc: n)
                    let expected = Reference.matmul(a, b, transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k)
                    assertClose(c, expected, rtol: 1e-5, atol: 1e-5, "gemm \(m)×\(n)×\(k) tA=\(transposeA) tB=\(transposeB)")
                }
            }
        }
    }

    func testAlphaBetaAccumulate() {
        let (m, n, k) = (5, 7, 3)
        let a = Reference.randomValues(m * k, seed: 1), b = Reference.randomValues(k * n, seed: 2)
        var c = Reference.randomValues(m * n, seed: 3)
        let before = c
        gemm(.none, .none, m: m, n: n, k: k, alpha: 0.5, a: a, lda: k, b: b, ldb: n, beta: 2, c: &c, ldc: n)
        let product = Reference.matmul(a, b, transposeA: false, transposeB: false, m: m, n: n, k: k)
        assertClose(c, zip(product, before).map { 0.5 * $0 + 2 * Double($1) }, rtol: 1e-5, atol: 1e-5, "alpha/beta")
    }

    func testBatchedGemmMatchesEachBatch() {
        let (batch, m, n, k) = (4, 6, 5, 9)
        let a = Reference.randomValues(batch * k * m, seed: 4), b = Reference.randomValues(batch * n * k, seed: 5)
        var c = [Float](repeating: 0, count: batch * m * n)
        batchedGemm(.transposed, .transposed, batch: batch, m: m, n: n, k: k,
                    a: a, lda: m, strideA: k * m, b: b, ldb: k, strideB: n * k,
                    beta: 0, c: &c, ldc: n, strideC: m * n)
        for index in 0..<batch {
            let expected = Reference.matmul(Array(a[index * k * m..<(index + 1) * k * m]),
                                            Array(b[index * n * k..<(index + 1) * n * k]),
                                            transposeA: true, transposeB: true, m: m, n: n, k: k)
            assertClose(Array(c[index * m * n..<(index + 1) * m * n]), expected, rtol: 1e-5, atol: 1e-5, "batch \(index)")
        }
    }

    func testTensorMatmulAndProfilerCountsFlops() {
        let a = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        let b = Tensor(shape: [3, 2], values: [7, 8, 9, 10, 11, 12])
        GemmProfiler.start()
        let c = a.matmul(b)
        let profile = GemmProfiler.stop()
        XCTAssertEqual(c.shape, [2, 2])
        XCTAssertEqual(c.scalars, [58, 64, 139, 154])
        XCTAssertEqual(profile.calls, 1)
        XCTAssertEqual(profile.flops, 2 * 2 * 2 * 3)
        XCTAssertEqual(a.matmul(a, transposeOther: .transposed).scalars, [14, 32, 32, 77])
    }
}
