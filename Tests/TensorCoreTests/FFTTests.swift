import ParsevalTestSupport
import TensorCore
import XCTest

final class FFTTests: XCTestCase {
    /// Complex FFT of every length 1…64 plus large composites and primes, against the O(n²) DFT.
    func testComplexFFTAgainstNaiveDFT() {
        for n in Array(1...64) + [97, 100, 210, 257, 1000, 1031] {
            let values = Reference.randomValues(2 * n, seed: UInt64(n))
            let input = Tensor(shape: [n, 2], values: values)
            for inverse in [false, true] {
                let output = FFT.complex(input, axis: 0, inverse: inverse, scaling: .unnormalized)
                let expected = Reference.dft((0..<n).map { (Double(values[2 * $0]), Double(values[2 * $0 + 1])) },
                                             inverse: inverse)
                // Error of an FFT grows like log n; the naive DFT sum like √n.
                assertClose(output.scalars, expected.flatMap { [$0.0, $0.1] }, rtol: 1e-4,
                            atol: 2e-5 * Double(n).squareRoot(), "complex n=\(n) inverse=\(inverse)")
            }
        }
    }

    /// Real FFT along a middle axis (outer and inner loops both > 1) against the naive DFT.
    func testRealFFTAlongMiddleAxisAgainstNaiveDFT() {
        for n in Array(1...64) + [96, 255, 1024, 4093] {
            let (outer, inner) = (3, 2)
            let values = Reference.randomValues(outer * n * inner, seed: UInt64(n + 500))
            let x = Tensor(shape: [outer, n, inner], values: values)
            let z = FFT.realForward(x, axis: 1, scaling: .unnormalized)
            let bins = n / 2 + 1
            XCTAssertEqual(z.shape, [outer, bins, inner, 2])
            var expected: [Double] = []
            var reference = [[(Double, Double)]](repeating: [], count: outer * inner)
            for o in 0..<outer {
                for i in 0..<inner {
                    let line = (0..<n).map { (Double(values[(o * n + $0) * inner + i]), 0.0) }
                    reference[o * inner + i] = Reference.dft(line, inverse: false)
                }
            }
            for o in 0..<outer {
                for f in 0..<bins {
                    for i in 0..<inner { expected += [reference[o * inner + i][f].0, reference[o * inner + i][f].1] }
                }
            }
            assertClose(z.scalars, expected, rtol: 1e-4, atol: 2e-5 * Double(n).squareRoot(), "rfft n=\(n)")
        }
    }

    func testRealRoundTripAndParsevalIdentityUnderOrtho() {
        for n in [1, 2, 7, 16, 63, 64, 1000, 4096] {
            let values = Reference.randomValues(5 * n, seed: UInt64(n + 9))
            let x = Tensor(shape: [5, n], values: values)
            let z = FFT.realForward(x, axis: 1, scaling: .ortho)
            let back = FFT.realInverse(z, axis: 1, length: n, scaling: .ortho)
            assertClose(back.scalars, values.map(Double.init), rtol: 1e-5, atol: 1e-5, "round trip n=\(n)")

            // Parseval: Σ|x|² = Σ_k w_k |Z_k|² with w = 2 for bins that stand for two
            // conjugate frequencies of the full spectrum (all but DC and, for even n, Nyquist).
            let bins = n / 2 + 1
            for row in 0..<5 {
                let energy = values[row * n..<(row + 1) * n].reduce(0.0) { $0 + Double($1) * Double($1) }
                var spectral = 0.0
                for k in 0..<bins {
                    let re = Double(z[row, k, 0]), im = Double(z[row, k, 1])
                    let weight = (k == 0 || (n % 2 == 0 && k == n / 2)) ? 1.0 : 2.0
                    spectral += weight * (re * re + im * im)
                }
                XCTAssertEqual(spectral, energy, accuracy: 1e-4 * max(1, energy), "Parseval n=\(n) row \(row)")
            }
        }
    }

    func testComplexRoundTripAndScalingConventions() {
        let n = 24
        let values = Reference.randomValues(2 * n * 3, seed: 77)
        let x = Tensor(shape: [n, 3, 2], values: values)
        for scaling in FFTScaling.allCases {
            let forward = FFT.complex(x, axis: 0, inverse: false, scaling: scaling)
            let back = FFT.complex(forward, axis: 0, inverse: true, scaling: scaling)
            let gain: Double = scaling == .unnormalized ? Double(n) : 1
            assertClose(back.scalars, values.map { Double($0) * gain }, rtol: 1e-5, atol: 1e-4, "scaling \(scaling)")
        }
    }

    func testCachedPlansAreReusedAndGiveIdenticalResults() {
        let x = Tensor(shape: [4, 50, 3], values: Reference.randomValues(600, seed: 3))
        let first = FFT.realForward(x, axis: 1, scaling: .ortho)
        let plans = FFTPlanner.cachedPlanCount
        let second = FFT.realForward(x, axis: 1, scaling: .ortho)
        XCTAssertEqual(FFTPlanner.cachedPlanCount, plans, "a second identical transform must reuse the cached plan")
        XCTAssertEqual(first, second, "reused plan must give bit-identical results")
    }

    func testUnalignedArraysGetTheirOwnPlan() {
        // An offset of one Float breaks 16-byte alignment: the planner must plan FFTW_UNALIGNED.
        let n = 32
        let storage = TensorStorage(count: 2 * n + 1 + 2 * (n / 2 + 1) + 1)
        let values = Reference.randomValues(n, seed: 11)
        let input = storage.pointer + 1, output = storage.pointer + 2 + n
        for i in 0..<n { input[i] = values[i] }
        FFT.realForward(input: input, output: output, outer: 1, length: n, inner: 1, scaling: .unnormalized)
        let expected = Reference.dft(values.map { (Double($0), 0) }, inverse: false).prefix(n / 2 + 1)
        assertClose(Array(UnsafeBufferPointer(start: output, count: n + 2)), expected.flatMap { [$0.0, $0.1] },
                    rtol: 1e-4, atol: 1e-4, "unaligned rfft")
    }

    func testMeasuredPlansMatchEstimatedPlans() {
        let x = Tensor(shape: [2, 128, 4], values: Reference.randomValues(1024, seed: 21))
        let estimated = FFT.realForward(x, axis: 1, scaling: .ortho)
        FFTPlanner.effort = .measure
        defer { FFTPlanner.effort = .estimate }
        let measured = FFT.realForward(x, axis: 1, scaling: .ortho)
        XCTAssertEqual(x, Tensor(shape: [2, 128, 4], values: Reference.randomValues(1024, seed: 21)),
                       "planning with FFTW_MEASURE must not touch the caller's arrays")
        assertClose(measured.scalars, estimated.scalars.map(Double.init), rtol: 1e-5, atol: 1e-5, "measure vs estimate")
    }
}
