import Foundation
import Layers
import TensorCore
import XCTest
import ParsevalTestSupport

/// Naive O(n²) references in Double.
enum Naive {
    /// Unnormalised DFT matrix entry e^{sign·2πi·j·k/n} as (re, im).
    static func twiddle(_ j: Int, _ k: Int, _ n: Int, sign: Double) -> (Double, Double) {
        let angle = sign * 2 * Double.pi * Double((j * k) % n) / Double(n)
        return (cos(angle), sin(angle))
    }

    /// Orthonormal DCT-II matrix entry C[k][t] = s_k cos(πk(2t+1)/2n).
    static func cosine(_ k: Int, _ t: Int, _ n: Int) -> Double {
        let scale = ((k == 0 ? 1.0 : 2.0) / Double(n)).squareRoot()
        return scale * cos(Double.pi * Double(k) * Double(2 * t + 1) / Double(2 * n))
    }

    static func gelu(_ x: Double) -> Double { 0.5 * x * (1 + erf(x / 2.0.squareRoot())) }

    /// y = x Wᵀ + b for a Linear layer's parameters, x: [rows][in].
    static func linear(_ x: [[Double]], _ layer: Linear) -> [[Double]] {
        let w = layer.arena.tensor(layer.weight).scalars.map(Double.init)
        let b = layer.bias.map { layer.arena.tensor($0).scalars.map(Double.init) }
        return x.map { row in
            (0..<layer.outputSize).map { o in
                var total = b?[o] ?? 0
                for i in 0..<layer.inputSize { total += w[o * layer.inputSize + i] * row[i] }
                return total
            }
        }
    }
}

extension Tensor {
    var doubles: [Double] { scalars.map(Double.init) }
}
