import Parameters
import ParsevalTestSupport
import Foundation
import Layers
import SpectralMixing
import TensorCore
import XCTest

final class FFTNetMixingTests: XCTestCase {
    /// docs/models.md's v1 layer written out in Double with explicit DFT sums: the forward
    /// reference, the smallest | |Z'| + b | (how far every modReLU is from its kink), and the
    /// magnitudes |Z'| per (head, bin).
    func reference(_ layer: FFTNetMixing, _ x: Tensor, mask: Tensor?)
        -> (y: [Double], kinkMargin: Double, magnitudes: [[Double]]) {
        let (b, n, d, h) = (x.shape[0], x.shape[1], x.shape[2], layer.heads)
        let f = n / 2 + 1, headDim = d / h, knots = layer.filterKnots
        let base = layer.arena.tensor(layer.baseFilter).doubles, bias = layer.arena.tensor(layer.modReLUBias).doubles
        let rootN = Double(n).squareRoot()
        var y = [Double](repeating: 0, count: x.count), margin = Double.infinity
        var magnitudes = [[Double]](repeating: [], count: h * f)
        for batch in 0..<b {
            // Context: mean over valid tokens.
            var c = [Double](repeating: 0, count: d), count = 0.0
            for t in 0..<n {
                let m = mask.map { Double($0[batch, t]) } ?? 1
                count += m
                for j in 0..<d { c[j] += m * Double(x[batch, t, j]) }
            }
            if count > 0 { c = c.map { $0 / count } }
            let hidden = Naive.linear([c], layer.filterHidden)[0].map(Naive.gelu)
            let delta = Naive.linear([hidden], layer.filterOutput)[0]
            for head in 0..<h {
                for k in 0..<f {
                    // Knots → bins, end points aligned.
                    let position = f == 1 ? 0 : Double(k) * Double(knots - 1) / Double(f - 1)
                    let lower = min(Int(position.rounded(.down)), knots - 1), fraction = position - Double(lower)
                    let interpolated = fraction == 0 ? delta[head * knots + lower]
                        : (1 - fraction) * delta[head * knots + lower] + fraction * delta[head * knots + lower + 1]
                    let w = base[head * f + k] + interpolated, beta = bias[head * f + k]
                    for j in head * headDim..<(head + 1) * headDim {
                        var re = 0.0, im = 0.0
                        for t in 0..<n {
                            let (cr, ci) = Naive.twiddle(k, t, n, sign: -1)
                            re += Double(x[batch, t, j]) * cr
                            im += Double(x[batch, t, j]) * ci
                        }
                        re *= w / rootN
                        im *= w / rootN
                        let r = (re * re + im * im).squareRoot()
                        margin = min(margin, abs(r + beta))
                        magnitudes[head * f + k].append(r)
                        let scale = max(r + beta, 0) / (r + 1e-6)
                        // irfft, ortho: DC and Nyquist once (real part), interior bins twice.
                        let weight = (k == 0 || 2 * k == n) ? 1.0 : 2.0
                        for t in 0..<n {
                            let (er, ei) = Naive.twiddle(k, t, n, sign: 1)
                            let real = (k == 0 || 2 * k == n) ? re * scale * er : (re * er - im * ei) * scale
                            y[(batch * n + t) * d + j] += weight * real / rootN
                        }
                    }
                }
            }
        }
        return (y, margin, magnitudes)
    }

    func makeLayer(dim: Int, heads: Int, length: Int, knots: Int?, seed: UInt64) -> (ParameterArena, FFTNetMixing) {
        let arena = ParameterArena()
        let layer = FFTNetMixing("mixer", arena: arena, dim: dim, heads: heads, sequenceLength: length, filterKnots: knots)
        arena.allocate(seed: seed)
        // Spread base and bias so both sides of the modReLU kink and non-unit filters occur.
        var stream = RandomStream(seed: seed + 1)
        let count = heads * (length / 2 + 1)
        for i in 0..<count {
            arena.value(layer.baseFilter)[i] = stream.uniform(0.5, 1.5)
            arena.value(layer.modReLUBias)[i] = stream.uniform(-0.3, 0.1)
        }
        return (arena, layer)
    }

    func padMask(batch: Int, length: Int, valid: [Int]) -> Tensor {
        Tensor(shape: [batch, length], values: (0..<batch * length).map { $0 % length < valid[$0 / length] ? 1 : 0 })
    }

    /// Forward against the Double reference with explicit DFT sums, with padding, odd and even
    /// N, and K < F knots. Tolerance rtol 1e-4, atol 1e-4.
    func testForwardMatchesExplicitDFTReference() {
        for (n, d, h, knots, masked) in [(7, 6, 2, nil, true), (8, 4, 2, 3, false), (12, 6, 3, 7, true), (5, 4, 1, 1, false),
                                         (70, 36, 3, 9, true)] {  // the last spans several transpose tiles
            let (_, layer) = makeLayer(dim: d, heads: h, length: n, knots: knots, seed: UInt64(n))
            let x = randomTensor([2, n, d], seed: UInt64(n + 1))
            let mask = masked ? padMask(batch: 2, length: n, valid: [n, n - 3]) : nil
            let y = layer.forward(x, context: ForwardContext(training: false, mask: mask))
            assertClose(y.scalars, reference(layer, x, mask: mask).y, rtol: 1e-4, atol: 1e-4,
                        "FFTNet N \(n) D \(d) H \(h) knots \(knots.map(String.init) ?? "F") masked \(masked)")
        }
    }

    /// With K = F knots the interpolation is the identity, so the layer is the paper's: the
    /// first F outputs of fc2 are the head-0 filter offsets exactly.
    func testFullKnotsAreThePapersLayer() {
        let (_, layer) = makeLayer(dim: 4, heads: 2, length: 10, knots: 6, seed: 3)
        XCTAssertEqual(layer.filterKnots, layer.bins)
        let (_, defaulted) = makeLayer(dim: 4, heads: 2, length: 10, knots: nil, seed: 3)
        XCTAssertEqual(defaulted.filterKnots, 6)
        let x = randomTensor([1, 10, 4], seed: 4)
        XCTAssertEqual(layer.forward(x, context: ForwardContext(training: false)),
                       defaulted.forward(x, context: ForwardContext(training: false)))
    }

    /// Every parameter (fc1, fc2, base, modReLU bias) and the input, through the masked
    /// context mean. A ±1e-2 finite difference across a modReLU kink is meaningless, so each
    /// bias is first placed in the middle of the widest gap between the −|Z'| of its bin (some
    /// entries on, some off where the gap allows), and the test asserts that no modReLU is
    /// within 0.02 of its kink.
    func testBackwardMatchesFiniteDifferences() {
        for (n, d, h, knots) in [(7, 4, 2, nil), (6, 6, 3, 2)] {
            let (arena, layer) = makeLayer(dim: d, heads: h, length: n, knots: knots, seed: 11)
            let x = randomTensor([2, n, d], seed: 12)
            let mask = padMask(batch: 2, length: n, valid: [n - 2, n])
            for (index, values) in reference(layer, x, mask: mask).magnitudes.enumerated() {
                let sorted = [0] + values.sorted()
                let gaps = zip(sorted, sorted.dropFirst()).map { ($1 - $0, ($0 + $1) / 2) }
                arena.value(layer.modReLUBias)[index] = Float(-(gaps.max { $0.0 < $1.0 }?.1 ?? 0))
            }
            let margin = reference(layer, x, mask: mask).kinkMargin
            XCTAssertGreaterThan(margin, 0.02, "choose another seed: a modReLU kink lies within the step")
            GradientCheck().assertMatchesFiniteDifferences(arena: arena, input: x, context: ForwardContext(training: false, mask: mask),
                                  forward: { layer.forward($0, context: $1) }, backward: { layer.backward($0) })
        }
    }
}
