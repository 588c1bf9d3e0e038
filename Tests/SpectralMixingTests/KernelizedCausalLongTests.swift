import Foundation
import Layers
import Parameters
import ParsevalTestSupport
import SpectralMixing
import TensorCore
import XCTest

/// Causal kernelized attention on long sequences, against plain num/den in Double
/// (docs/models.md, "Kernelized attention: stabilisers and the denominator guard").
final class KernelizedCausalLongTests: XCTestCase {
    /// φ(x) for one head in Double, unstabilised (the exponents here stay far from overflow).
    func features(_ rows: [[Double]], head: Int, headDim: Int, omega: [Double], count m: Int) -> [[Double]] {
        rows.map { x in
            let scaled = (0..<headDim).map { x[head * headDim + $0] / pow(Double(headDim), 0.25) }
            let half = scaled.reduce(0) { $0 + $1 * $1 } / 2
            return (0..<m).map { r in
                exp(zip(omega[r * headDim..<(r + 1) * headDim], scaled).reduce(0) { $0 + $1.0 * $1.1 } - half) / Double(m).squareRoot()
            }
        }
    }

    /// Rows of the attention output (before the output projection) and which rows the guard
    /// acted on, in Double: out_i = num_i / den_i with prefix sums over j ≤ i.
    func reference(_ layer: KernelizedAttention, _ x: Tensor) -> (out: [[Double]], denominators: [[Double]]) {
        let (n, d, h, m) = (x.shape[1], layer.dim, layer.heads, layer.featureCount)
        let dh = d / h
        let rows = (0..<n).map { t in (0..<d).map { Double(x[0, t, $0]) } }
        func project(_ linear: Linear) -> [[Double]] {
            let w = layer.arena.tensor(linear.weight).doubles, b = layer.arena.tensor(linear.bias!).doubles
            return rows.map { r -> [Double] in
                (0..<d).map { o -> Double in
                    var total = b[o]
                    for i in 0..<d { total += w[o * d + i] * r[i] }
                    return total
                }
            }
        }
        let q = project(layer.query), k = project(layer.key), v = project(layer.value)
        let bias = layer.positionBias.map { layer.arena.tensor($0).doubles }
        var out = [[Double]](repeating: [Double](repeating: 0, count: d), count: n)
        var denominators = [[Double]](repeating: [Double](repeating: 0, count: h), count: n)
        for head in 0..<h {
            let omega = layer.features.doubles
            let phiQ = features(q, head: head, headDim: dh, omega: omega, count: m)
            let phiK = features(k, head: head, headDim: dh, omega: omega, count: m)
            for i in 0..<n {
                var numerator = [Double](repeating: 0, count: dh), denominator = 0.0
                for j in 0...i {
                    let c = exp(bias.map { $0[head * (2 * layer.maxLength - 1) + j - i + layer.maxLength - 1] } ?? 0)
                    let kernel = c * zip(phiQ[i], phiK[j]).reduce(0) { $0 + $1.0 * $1.1 }
                    denominator += kernel
                    for channel in 0..<dh { numerator[channel] += kernel * v[j][head * dh + channel] }
                }
                denominators[i][head] = denominator
                for channel in 0..<dh { out[i][head * dh + channel] = numerator[channel] / denominator }
            }
        }
        return (out, denominators)
    }

    /// N = 1024, causal, with and without RPE: every row matches plain num/den in Double
    /// (rtol 2e-3, atol 2e-4 of the output scale); the guard did not act at this scale.
    func testLongCausalSequencesMatchPlainNumeratorOverDenominator() {
        for positions in [true, false] {
            let (n, d) = (1024, 8)
            let arena = ParameterArena()
            let layer = KernelizedAttention("attention", arena: arena, dim: d, heads: 2, maxLength: n, features: 16,
                                            causal: true, usesRelativePositions: positions, seed: 3)
            arena.allocate(seed: 3)
            if let bias = layer.positionBias {
                var stream = RandomStream(seed: 5)
                for i in 0..<arena.entry(bias).count { arena.value(bias)[i] = stream.uniform(-1, 1) }
            }
            // Identity output projection: compare the attention rows themselves.
            let output = arena.value(layer.output.weight), outputBias = arena.value(layer.output.bias!)
            for i in 0..<d * d { output[i] = i / d == i % d ? 1 : 0 }
            for i in 0..<d { outputBias[i] = 0 }
            let x = randomTensor([1, n, d], seed: 7, scale: 2)
            let y = layer.forward(x, context: ForwardContext(training: false))
            let (expected, denominators) = reference(layer, x)
            let smallest = denominators.flatMap { $0 }.min() ?? 0
            XCTAssertGreaterThan(smallest, 1e-6, "the guard would act at this scale: smallest denominator \(smallest)")
            assertClose(y.scalars, expected.flatMap { $0 }, rtol: 2e-3, atol: 2e-4, "causal, RPE \(positions)")
        }
    }
}
