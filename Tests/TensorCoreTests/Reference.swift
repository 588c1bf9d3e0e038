import ParsevalTestSupport
import TensorCore
import XCTest

/// Naive references and comparison helpers shared by the TensorCore tests.
enum Reference {
    /// Row-major matrix product in Double: C = op(A) op(B).
    static func matmul(_ a: [Float], _ b: [Float], transposeA: Bool, transposeB: Bool,
                       m: Int, n: Int, k: Int) -> [Double] {
        var c = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var total = 0.0
                for p in 0..<k {
                    let x = transposeA ? a[p * m + i] : a[i * k + p]
                    let y = transposeB ? b[j * k + p] : b[p * n + j]
                    total += Double(x) * Double(y)
                }
                c[i * n + j] = total
            }
        }
        return c
    }

    /// O(n²) DFT in Double of complex (re, im) pairs, sign −1 forward, +1 inverse, unscaled.
    static func dft(_ x: [(Double, Double)], inverse: Bool) -> [(Double, Double)] {
        let n = x.count
        let sign: Double = inverse ? 1 : -1
        return (0..<n).map { k in
            var re = 0.0, im = 0.0
            for (t, value) in x.enumerated() {
                let angle = sign * 2 * Double.pi * Double((k * t) % n) / Double(n)
                re += value.0 * cos(angle) - value.1 * sin(angle)
                im += value.0 * sin(angle) + value.1 * cos(angle)
            }
            return (re, im)
        }
    }

    static func randomValues(_ count: Int, seed: UInt64) -> [Float] {
        var stream = RandomStream(seed: seed)
        return (0..<count).map { _ in stream.uniform(-1, 1) }
    }
}
