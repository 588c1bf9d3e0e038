@testable import TensorCore
import ParsevalTestSupport
import XCTest

final class KernelTests: XCTestCase {
    // Sizes straddle the parallel grain (16 384) and the reduction chunk (65 536).
    let sizes = [0, 1, 7, 16_383, 16_385, 65_537, 200_003]

    func testElementwiseKernelsAgainstLoops() {
        for count in sizes {
            let x = Reference.randomValues(count, seed: 1), y = Reference.randomValues(count, seed: 2)
            var scaled = x
            scaled.withUnsafeMutableBufferPointer { Kernels.scale($0, by: 0.25) }
            XCTAssertEqual(scaled, x.map { $0 * 0.25 }, "scale n=\(count)")

            var axpy = y
            x.withUnsafeBufferPointer { xs in axpy.withUnsafeMutableBufferPointer { Kernels.axpy(-1.5, xs, $0) } }
            XCTAssertEqual(axpy, zip(x, y).map { $1 + -1.5 * $0 }, "axpy n=\(count)")

            var product = [Float](repeating: 0, count: count)
            x.withUnsafeBufferPointer { xs in y.withUnsafeBufferPointer { ys in
                product.withUnsafeMutableBufferPointer { Kernels.multiply(xs, ys, into: $0) }
            } }
            XCTAssertEqual(product, zip(x, y).map { $0 * $1 }, "multiply n=\(count)")
        }
    }

    func testReductionsAgainstLoops() {
        for count in sizes {
            let x = Reference.randomValues(count, seed: 3), y = Reference.randomValues(count, seed: 4)
            let sum = x.withUnsafeBufferPointer { Kernels.sum($0) }
            XCTAssertEqual(sum, x.reduce(0.0) { $0 + Double($1) }, accuracy: 1e-9 * Double(max(count, 1)), "sum n=\(count)")
            let dot = x.withUnsafeBufferPointer { xs in y.withUnsafeBufferPointer { Kernels.dot(xs, $0) } }
            XCTAssertEqual(dot, zip(x, y).reduce(0.0) { $0 + Double($1.0) * Double($1.1) },
                           accuracy: 1e-9 * Double(max(count, 1)), "dot n=\(count)")
            XCTAssertEqual(x.withUnsafeBufferPointer { Kernels.maxAbs($0) }, x.map(abs).max() ?? 0, "maxAbs n=\(count)")
        }
        XCTAssertTrue([Float(1), 2].withUnsafeBufferPointer { Kernels.allFinite($0) })
        XCTAssertFalse([Float(1), .infinity].withUnsafeBufferPointer { Kernels.allFinite($0) })
        XCTAssertTrue([Float(1), .nan].withUnsafeBufferPointer { Kernels.maxAbs($0) }.isNaN)
    }

    func testReductionsDoNotDependOnThreadCount() {
        let x = Reference.randomValues(300_001, seed: 5)
        let before = Threading.count
        defer { Threading.configure(threads: before) }
        Threading.configure(threads: 1)
        let one = x.withUnsafeBufferPointer { Kernels.sum($0) }
        Threading.configure(threads: 3)
        let three = x.withUnsafeBufferPointer { Kernels.sum($0) }
        XCTAssertEqual(one.bitPattern, three.bitPattern, "reductions must be bit-identical for any thread count")
    }

    func testRowAndColumnKernels() {
        let (rows, cols) = (37, 129)
        let m = Reference.randomValues(rows * cols, seed: 6), v = Reference.randomValues(cols, seed: 7)
        var sums = [Float](repeating: 1, count: cols)
        m.withUnsafeBufferPointer { ms in sums.withUnsafeMutableBufferPointer {
            Kernels.addColumnSums(ms, rows: rows, cols: cols, into: $0)
        } }
        let expected = (0..<cols).map { c in 1 + (0..<rows).reduce(0.0) { $0 + Double(m[$1 * cols + c]) } }
        assertClose(sums, expected, rtol: 1e-5, atol: 1e-5, "addColumnSums")

        var biased = m
        v.withUnsafeBufferPointer { vs in biased.withUnsafeMutableBufferPointer {
            Kernels.addRowVector(vs, to: $0, rows: rows, cols: cols)
        } }
        XCTAssertEqual(biased, (0..<rows * cols).map { m[$0] + v[$0 % cols] })
    }

    func testParallelForCoversEveryIndexOnce() {
        let before = Threading.count
        defer { Threading.configure(threads: before) }
        Threading.configure(threads: 4)
        for count in [0, 1, 5, 100_000, 1_000_003] {
            var hits = [UInt8](repeating: 0, count: count)
            hits.withUnsafeMutableBufferPointer { buffer in
                let base = buffer.baseAddress
                parallelFor(count, grain: 1000) { range in for i in range { base![i] += 1 } }
            }
            XCTAssertTrue(hits.allSatisfy { $0 == 1 }, "parallelFor n=\(count) must visit each index exactly once")
        }
    }
}

final class ActivationKernelTests: XCTestCase {
    /// The vectorised GELU against the erf formula in Double, over a dense grid and the
    /// ranges where the tails and the polynomial switch matter; lengths cover partial lanes.
    func testGELUAndItsDerivativeAgainstDouble() {
        let grid = stride(from: -12.0, through: 12.0, by: 0.0137).map { Float($0) } + [0, -0.0, 90, -90, 1e-8, -1e-8, 1e30, -1e30]
        var y = [Float](repeating: 0, count: grid.count), dx = y
        let upstream = grid.indices.map { Float($0 % 7) - 3 }
        grid.withUnsafeBufferPointer { xs in
            y.withUnsafeMutableBufferPointer { Kernels.gelu(xs, into: $0) }
            upstream.withUnsafeBufferPointer { gs in dx.withUnsafeMutableBufferPointer { Kernels.geluBackward(xs, gs, into: $0) } }
        }
        var worstValue = 0.0, worstSlope = 0.0
        for (i, x) in grid.enumerated() {
            let v = Double(x)
            let cdf = 0.5 * (1 + erf(v / 2.0.squareRoot())), density = exp(-0.5 * v * v) / (2 * Double.pi).squareRoot()
            worstValue = max(worstValue, abs(Double(y[i]) - v * cdf) / max(1, abs(v)))
            worstSlope = max(worstSlope, abs(Double(dx[i]) - Double(upstream[i]) * (cdf + v * density)) / max(1, abs(Double(upstream[i]))))
        }
        XCTAssertLessThan(worstValue, 5e-7, "GELU: largest error relative to max(1, |x|)")
        XCTAssertLessThan(worstSlope, 1e-6, "GELU': largest error relative to max(1, |dy|)")
    }

    func testExponentialAgainstDouble() {
        for x in stride(from: Float(-87), through: 88, by: 0.173) {
            XCTAssertEqual(Double(Kernels.exp(x)), exp(Double(x)), accuracy: 3e-7 * exp(Double(x)), "exp(\(x))")
        }
    }

    // MARK: - Fused passes

    func testBiasGELUMatchesBiasAddThenGELU() {
        for (rows, cols) in [(1, 1), (5, 33), (300, 64)] {
            let a = Reference.randomValues(rows * cols, seed: 21).map { $0 * 3 }, bias = Reference.randomValues(cols, seed: 22)
            var fused = a, y = [Float](repeating: .nan, count: a.count)
            fused.withUnsafeMutableBufferPointer { pre in
                bias.withUnsafeBufferPointer { b in
                    y.withUnsafeMutableBufferPointer { Kernels.biasGELU(pre, bias: b.baseAddress!, rows: rows, cols: cols, into: $0) }
                }
            }
            var reference = a, expected = [Float](repeating: 0, count: a.count)
            reference.withUnsafeMutableBufferPointer { pre in
                bias.withUnsafeBufferPointer { Kernels.addRowVector($0, to: pre, rows: rows, cols: cols) }
                expected.withUnsafeMutableBufferPointer { Kernels.gelu(UnsafeBufferPointer(pre), into: $0) }
            }
            XCTAssertEqual(fused, reference, "pre-activation kept, \(rows)×\(cols)")
            XCTAssertEqual(y, expected, "activation, \(rows)×\(cols)")
        }
    }

    func testGELUBackwardBiasGradientMatchesSeparatePasses() {
        for (rows, cols) in [(1, 3), (127, 5), (300, 64)] {  // 300 rows: two full blocks and a partial one
            let a = Reference.randomValues(rows * cols, seed: 23).map { $0 * 3 }
            let dy = Reference.randomValues(rows * cols, seed: 24)
            var dx = [Float](repeating: .nan, count: a.count), biasGradient = [Float](repeating: 0.5, count: cols)
            a.withUnsafeBufferPointer { pre in dy.withUnsafeBufferPointer { g in
                dx.withUnsafeMutableBufferPointer { out in biasGradient.withUnsafeMutableBufferPointer {
                    Kernels.geluBackwardBiasGradient(pre, g, rows: rows, cols: cols, into: out, biasGradient: $0.baseAddress!)
                } }
            } }
            var expected = [Float](repeating: 0, count: a.count)
            a.withUnsafeBufferPointer { pre in dy.withUnsafeBufferPointer { g in
                expected.withUnsafeMutableBufferPointer { Kernels.geluBackward(pre, g, into: $0) }
            } }
            XCTAssertEqual(dx, expected, "dx, \(rows)×\(cols)")
            for c in 0..<cols {
                let sum = (0..<rows).reduce(0.5) { $0 + Double(expected[$1 * cols + c]) }
                XCTAssertEqual(Double(biasGradient[c]), sum, accuracy: 1e-5 * Double(rows), "bias gradient column \(c)")
            }
        }
    }

    func testColumnSumAccumulationDoesNotDependOnThreadCount() {
        let (rows, cols) = (1_000, 96)
        let m = Reference.randomValues(rows * cols, seed: 25)
        func sums() -> [Float] {
            var out = [Float](repeating: 0, count: 2 * cols)
            m.withUnsafeBufferPointer { ms in
                out.withUnsafeMutableBufferPointer { o in
                    let base = ms.baseAddress!
                    Kernels.accumulateColumnSums(rows: rows, width: cols, into: [o.baseAddress!, o.baseAddress! + cols]) { range, partial in
                        for r in range {
                            for c in 0..<cols {
                                partial[c] += base[r * cols + c]
                                partial[cols + c] += base[r * cols + c] * base[r * cols + c]
                            }
                        }
                    }
                }
            }
            return out
        }
        let before = Threading.count
        defer { Threading.configure(threads: before) }
        Threading.configure(threads: 1)
        let one = sums()
        Threading.configure(threads: 3)
        let three = sums()
        XCTAssertEqual(one.map(\.bitPattern), three.map(\.bitPattern), "column sums must be bit-identical for any thread count")
        for c in 0..<cols {
            let column = (0..<rows).map { Double(m[$0 * cols + c]) }
            XCTAssertEqual(Double(one[c]), column.reduce(0, +), accuracy: 1e-4)
            XCTAssertEqual(Double(one[cols + c]), column.reduce(0) { $0 + $1 * $1 }, accuracy: 1e-3)
        }
    }

    /// The C kernel (one clone per instruction set) against the Swift `Kernels.exp` loop: the
    /// same bits, with and without the 0/1 scale, including clamped and NaN inputs.
    func testExponentiateMatchesTheSwiftExponential() {
        var values = Reference.randomValues(1_003, seed: 26).map { $0 * 60 }
        values += [-200, 200, .nan, -.infinity, 0, -0.0]
        let scale = (0..<values.count).map { Float($0 % 3 == 0 ? 0 : 1) }
        for shift in [Float(0), 3.5] {
            for masked in [false, true] {
                var row = values
                scale.withUnsafeBufferPointer { factors in
                    row.withUnsafeMutableBufferPointer {
                        Kernels.exponentiate($0.baseAddress!, count: values.count, shift: shift,
                                             scale: masked ? factors.baseAddress! : nil)
                    }
                }
                let expected = values.indices.map { j in (masked ? scale[j] : 1) * Kernels.exp(values[j] - shift) }
                XCTAssertEqual(row.map(\.bitPattern), expected.map(\.bitPattern), "shift \(shift) masked \(masked)")
            }
        }
        XCTAssertTrue(["avx512f", "avx2", "baseline"].contains(Kernels.instructionSet))
    }
}
