import Foundation
import ParsevalTestSupport
import TensorCore
import XCTest

/// The matrix engines (oneDNN, OpenBLAS) and bf16 products. Every test restores the process's
/// engine and precision, which the other tests rely on.
final class MatmulTests: XCTestCase {
    var engine: MatmulEngine!
    var precision: MatmulPrecision!

    override func setUp() {
        engine = Matmul.engine
        precision = Matmul.precision
    }

    override func tearDown() {
        try? Matmul.select(engine)
        Matmul.request(precision)
    }

    var availableEngines: [MatmulEngine] {
        Matmul.oneDNNUnavailableReason == nil ? [.onednn, .openblas] : [.openblas]
    }

    func testOneDNNIsTheDefaultEngineWhereSetupInstallsIt() throws {
        #if arch(x86_64)
        // scripts/setup.sh installs libdnnl-dev on amd64 Debian and Ubuntu: a missing oneDNN here
        // means every product silently runs at OpenBLAS's speed.
        XCTAssertNil(Matmul.oneDNNUnavailableReason, "oneDNN did not load")
        XCTAssertEqual(Matmul.engine, .onednn)
        XCTAssertTrue(Matmul.engineSummary.hasPrefix("oneDNN "), Matmul.engineSummary)
        XCTAssertTrue(Matmul.engineSummary.contains("ISA "), Matmul.engineSummary)
        #else
        throw XCTSkip("oneDNN is optional on this architecture")
        #endif
    }

    /// Strided operands (ld larger than the row), alpha, beta, every transpose, odd sizes.
    func testEveryEngineMatchesTheTripleLoopWithStridesAlphaAndBeta() throws {
        for engine in availableEngines {
            try Matmul.select(engine)
            for (m, n, k) in [(1, 1, 1), (3, 5, 7), (17, 13, 11), (64, 33, 97), (70, 129, 40)] {
                for transposeA in [false, true] {
                    for transposeB in [false, true] {
                        let (lda, ldb, ldc) = ((transposeA ? m : k) + 3, (transposeB ? k : n) + 2, n + 5)
                        let a = Reference.randomValues((transposeA ? k : m) * lda, seed: UInt64(m * 31 + k))
                        let b = Reference.randomValues((transposeB ? n : k) * ldb, seed: UInt64(n * 17 + k))
                        var c = Reference.randomValues(m * ldc, seed: 9)
                        let before = c
                        gemm(transposeA ? .transposed : .none, transposeB ? .transposed : .none, m: m, n: n, k: k,
                             alpha: 0.75, a: a, lda: lda, b: b, ldb: ldb, beta: 0.5, c: &c, ldc: ldc)
                        let product = strided(a, b, transposeA: transposeA, transposeB: transposeB,
                                              m: m, n: n, k: k, lda: lda, ldb: ldb)
                        for i in 0..<m {
                            for j in 0..<ldc {
                                let expected = j < n ? 0.75 * product[i * n + j] + 0.5 * Double(before[i * ldc + j])
                                                     : Double(before[i * ldc + j])  // padding untouched
                                XCTAssertEqual(Double(c[i * ldc + j]), expected, accuracy: 1e-5 * (1 + abs(expected)),
                                               "\(engine) \(m)×\(n)×\(k) tA=\(transposeA) tB=\(transposeB) [\(i), \(j)]")
                            }
                        }
                    }
                }
            }
        }
    }

    func testEmptyInnerDimensionScalesC() throws {
        for engine in availableEngines {
            try Matmul.select(engine)
            for precision in MatmulPrecision.allCases {
                Matmul.request(precision)
                var c: [Float] = [1, 2, 3, 4]
                let none: [Float] = [0]
                gemm(.none, .none, m: 2, n: 2, k: 0, a: none, lda: 1, b: none, ldb: 2, beta: 0.5, c: &c, ldc: 2)
                XCTAssertEqual(c, [0.5, 1, 1.5, 2], "\(engine) \(precision)")
            }
        }
    }

    func testBF16RoundingIsNearestEvenAndKeepsSpecialValues() {
        let one = Float(1), ulp = Float(1) / 128  // bf16 keeps 7 fraction bits
        let cases: [(Float, Float)] = [
            (one, one),
            (one + ulp / 2, one),                   // tie: to the even neighbour (1)
            (one + 3 * ulp / 2, one + 2 * ulp),     // tie: to the even neighbour (1 + 2 ulp)
            (one + ulp / 2 + ulp / 64, one + ulp),  // above the tie: up
            (-2.5, -2.5), (0, 0), (.infinity, .infinity), (-.infinity, -.infinity),
            (Float.greatestFiniteMagnitude, .infinity),  // rounds past bf16's largest value
        ]
        let rounded = Matmul.roundedToBF16(cases.map(\.0))
        for ((input, expected), output) in zip(cases, rounded) {
            XCTAssertEqual(output, expected, "bf16(\(input))")
        }
        XCTAssertEqual(Matmul.roundedToBF16([-0.0])[0].sign, .minus)
        XCTAssertTrue(Matmul.roundedToBF16([.nan])[0].isNaN)
        XCTAssertTrue(Matmul.roundedToBF16([Float(bitPattern: 0x7F80_0001)])[0].isNaN, "a NaN with low payload bits stays NaN")
        XCTAssertEqual(Matmul.roundedToBF16([3], scale: 0.5), [1.5])
    }

    /// A bf16 product equals the exact product of the bf16-rounded operands (alpha folded into
    /// A before rounding) up to fp32 accumulation.
    func testBF16ProductsEqualTheProductOfTheRoundedOperands() throws {
        guard case .available = Matmul.bf16Support else {
            if case .unavailable(let reason) = Matmul.bf16Support { throw XCTSkip("bf16: \(reason)") }
            return
        }
        Matmul.request(.bf16)
        XCTAssertEqual(Matmul.precision, .bf16)
        for (m, n, k) in [(1, 1, 1), (3, 5, 7), (64, 33, 97), (130, 70, 300)] {
            for transposeA in [false, true] {
                for transposeB in [false, true] {
                    let (lda, ldb, ldc) = ((transposeA ? m : k) + 1, (transposeB ? k : n) + 4, n + 3)
                    let a = Reference.randomValues((transposeA ? k : m) * lda, seed: UInt64(m + 7 * k))
                    let b = Reference.randomValues((transposeB ? n : k) * ldb, seed: UInt64(n + 5 * k))
                    var c = Reference.randomValues(m * ldc, seed: 4)
                    let before = c
                    gemm(transposeA ? .transposed : .none, transposeB ? .transposed : .none, m: m, n: n, k: k,
                         alpha: 0.3, a: a, lda: lda, b: b, ldb: ldb, beta: 1, c: &c, ldc: ldc)
                    let product = strided(Matmul.roundedToBF16(a, scale: 0.3), Matmul.roundedToBF16(b),
                                          transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, lda: lda, ldb: ldb)
                    let unrounded = strided(a, b, transposeA: transposeA, transposeB: transposeB,
                                            m: m, n: n, k: k, lda: lda, ldb: ldb)
                    var roundingShows = false
                    for i in 0..<m {
                        for j in 0..<n {
                            let expected = product[i * n + j] + Double(before[i * ldc + j])
                            XCTAssertEqual(Double(c[i * ldc + j]), expected, accuracy: 2e-6 * Double(k) + 1e-6,
                                           "bf16 \(m)×\(n)×\(k) tA=\(transposeA) tB=\(transposeB) [\(i), \(j)]")
                            let exact = 0.3 * unrounded[i * n + j] + Double(before[i * ldc + j])
                            roundingShows = roundingShows || abs(expected - exact) > 1e-4
                        }
                    }
                    if k > 7 { XCTAssertTrue(roundingShows, "the bf16 path must round its inputs (\(m)×\(n)×\(k))") }
                }
            }
        }
        XCTAssertEqual(Matmul.bf16FallbackCount, 0)
    }

    /// Products from many threads at once (attention's per-head tasks) give the same results as
    /// one at a time, in both precisions: per-thread scratch and streams, a shared kernel cache.
    func testConcurrentProductsMatchSequentialOnes() throws {
        var precisions: [MatmulPrecision] = [.fp32]
        if case .available = Matmul.bf16Support { precisions.append(.bf16) }
        for engine in availableEngines {
            try Matmul.select(engine)
            for precision in precisions where engine == .onednn || precision == .fp32 {
                Matmul.request(precision)
                let tasks = 12, (m, n, k) = (48, 40, 56)
                let a = Reference.randomValues(tasks * m * k, seed: 21), b = Reference.randomValues(tasks * k * n, seed: 22)
                let sequential = UnsafeMutableBufferPointer<Float>.allocate(capacity: tasks * m * n)
                let concurrent = UnsafeMutableBufferPointer<Float>.allocate(capacity: tasks * m * n)
                defer { sequential.deallocate(); concurrent.deallocate() }
                let fallbacks = Matmul.bf16FallbackCount
                a.withUnsafeBufferPointer { a in
                    b.withUnsafeBufferPointer { b in
                        let (pa, pb) = (UInt(bitPattern: a.baseAddress), UInt(bitPattern: b.baseAddress))
                        let (ps, pc) = (UInt(bitPattern: sequential.baseAddress), UInt(bitPattern: concurrent.baseAddress))
                        @Sendable func product(_ task: Int, into output: UInt) {
                            gemm(.none, .transposed, m: m, n: n, k: k,
                                 a: UnsafePointer<Float>(bitPattern: pa)! + task * m * k, lda: k,
                                 b: UnsafePointer<Float>(bitPattern: pb)! + task * k * n, ldb: k, beta: 0,
                                 c: UnsafeMutablePointer<Float>(bitPattern: output)! + task * m * n, ldc: n)
                        }
                        Threading.withSingleThreadedBLAS {
                            for task in 0..<tasks { product(task, into: ps) }
                            DispatchQueue.concurrentPerform(iterations: tasks) { task in product(task, into: pc) }
                        }
                    }
                }
                XCTAssertEqual(Matmul.bf16FallbackCount, fallbacks, "\(engine) \(precision): no product may fall back")
                let differing = (0..<tasks * m * n).filter { concurrent[$0] != sequential[$0] }
                XCTAssertEqual(differing.count, 0, "\(engine) \(precision): \(differing.count) differ, first \(differing.prefix(4).map { ($0 / (m * n), $0 % (m * n), concurrent[$0], sequential[$0]) })")
            }
        }
    }

    func testBF16WithoutSupportStaysFP32AndSaysWhy() throws {
        try Matmul.select(.openblas)
        let line = Matmul.request(.bf16)
        XCTAssertEqual(Matmul.precision, .fp32)
        XCTAssertTrue(line.contains("bf16 was asked for") && line.contains("OpenBLAS"), line)
        XCTAssertTrue(Matmul.request(.fp32).hasPrefix("matrix products: fp32 on OpenBLAS"))
    }

    func testWithPrecisionRestoresThePreviousPrecision() {
        Matmul.request(.fp32)
        let inside = Matmul.withPrecision(.bf16) { Matmul.precision }
        XCTAssertEqual(Matmul.precision, .fp32)
        if case .available = Matmul.bf16Support { XCTAssertEqual(inside, .bf16) } else { XCTAssertEqual(inside, .fp32) }
    }

    private func strided(_ a: [Float], _ b: [Float], transposeA: Bool, transposeB: Bool,
                         m: Int, n: Int, k: Int, lda: Int, ldb: Int) -> [Double] {
        var c = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var total = 0.0
                for p in 0..<k {
                    total += Double(transposeA ? a[p * lda + i] : a[i * lda + p]) * Double(transposeB ? b[j * ldb + p] : b[p * ldb + j])
                }
                c[i * n + j] = total
            }
        }
        return c
    }
}
