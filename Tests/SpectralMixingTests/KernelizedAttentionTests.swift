import Parameters
import ParsevalTestSupport
import Foundation
import Layers
import SpectralMixing
import TensorCore
import XCTest

final class KernelizedAttentionTests: XCTestCase {
    struct Case {
        var length: Int, maxLength: Int, causal: Bool, positions: Bool, masked: Bool
    }

    /// `featureSeed` draws the random features (default: `seed`, which also initialises the parameters).
    func makeLayer(_ c: Case, dim: Int = 6, heads: Int = 2, features: Int = 5, seed: UInt64 = 1, featureSeed: UInt64? = nil)
        -> (ParameterArena, KernelizedAttention) {
        let arena = ParameterArena()
        let layer = KernelizedAttention("attention", arena: arena, dim: dim, heads: heads, maxLength: c.maxLength,
                                        features: features, causal: c.causal, usesRelativePositions: c.positions,
                                        seed: featureSeed ?? seed)
        arena.allocate(seed: seed)
        if let bias = layer.positionBias {  // non-zero RPE biases so c_t varies with the offset
            var stream = RandomStream(seed: seed + 7)
            for i in 0..<arena.entry(bias).count { arena.value(bias)[i] = stream.uniform(-0.5, 0.5) }
        }
        return (arena, layer)
    }

    func mask(batch: Int, length: Int, masked: Bool) -> Tensor? {
        masked ? Tensor(shape: [batch, length], values: (0..<batch * length).map { $0 % length < length - 1 - $0 / length ? 1 : 0 })
               : nil
    }

    /// The attention in Double, O(N²): with `exact`, softmax attention with RPE,
    /// Σ_j exp(q_i·k_j/√d + b_{j−i}) v_j / Σ_j exp(…); otherwise the kernelized sum with the
    /// layer's own Ω, Σ_j c_{j−i} φ(q_i)·φ(k_j) v_j / Σ_j c_{j−i} φ(q_i)·φ(k_j), c = exp(b),
    /// φ(x) = exp(Ωx′ − |x′|²/2)/√m unstabilised. Pad keys and (causal) j > i are skipped.
    func reference(_ layer: KernelizedAttention, _ x: Tensor, mask: Tensor?, exact: Bool) -> [Double] {
        let (b, n, d, h) = (x.shape[0], x.shape[1], layer.dim, layer.heads)
        let dh = d / h, m = layer.featureCount
        let omega = layer.features.doubles
        let bias = layer.positionBias.map { layer.arena.tensor($0).doubles }
        var result = [Double]()
        for batch in 0..<b {
            let rows = (0..<n).map { t in (0..<d).map { Double(x[batch, t, $0]) } }
            let q = Naive.linear(rows, layer.query), k = Naive.linear(rows, layer.key), v = Naive.linear(rows, layer.value)
            var attended = [[Double]](repeating: [Double](repeating: 0, count: d), count: n)
            for head in 0..<h {
                let columns = head * dh..<(head + 1) * dh
                func phi(_ x: [Double]) -> [Double] {
                    let scaled = columns.map { x[$0] / pow(Double(dh), 0.25) }
                    let half = scaled.reduce(0) { $0 + $1 * $1 } / 2
                    return (0..<m).map { r in
                        exp(zip(omega[r * dh..<(r + 1) * dh], scaled).reduce(0) { $0 + $1.0 * $1.1 } - half) / Double(m).squareRoot()
                    }
                }
                for i in 0..<n {
                    var numerator = [Double](repeating: 0, count: dh), denominator = 0.0
                    let phiQ = phi(q[i])
                    for j in 0..<n {
                        if layer.causal && j > i { continue }
                        if let mask, mask[batch, j] == 0 { continue }
                        let offset = bias.map { $0[head * (2 * layer.maxLength - 1) + j - i + layer.maxLength - 1] } ?? 0
                        let kernel = exact
                            ? exp(columns.reduce(0) { $0 + q[i][$1] * k[j][$1] } / Double(dh).squareRoot() + offset)
                            : exp(offset) * zip(phiQ, phi(k[j])).reduce(0) { $0 + $1.0 * $1.1 }
                        denominator += kernel
                        for c in 0..<dh { numerator[c] += kernel * v[j][head * dh + c] }
                    }
                    for c in 0..<dh { attended[i][head * dh + c] = numerator[c] / denominator }
                }
            }
            result += Naive.linear(attended, layer.output).flatMap { $0 }
        }
        return result
    }

    /// The FFT Toeplitz path (and the plain Performer path) against the O(N²) kernelized sum,
    /// full and causal, with padding, at odd and even lengths and below maxLength.
    /// Tolerance rtol 1e-3, atol 1e-4 (Float32 exp, FFT round-off on O(1) values).
    func testForwardMatchesQuadraticKernelizedSum() {
        let cases = [Case(length: 7, maxLength: 7, causal: false, positions: true, masked: true),
                     Case(length: 8, maxLength: 8, causal: true, positions: true, masked: false),
                     Case(length: 5, maxLength: 9, causal: false, positions: true, masked: true),
                     Case(length: 6, maxLength: 6, causal: false, positions: false, masked: true),
                     Case(length: 6, maxLength: 6, causal: true, positions: false, masked: true),
                     Case(length: 11, maxLength: 13, causal: true, positions: true, masked: true),  // circulant 24, not 22
                     Case(length: 150, maxLength: 150, causal: true, positions: true, masked: true),
                     Case(length: 150, maxLength: 160, causal: false, positions: true, masked: true)]
        for c in cases {
            let (_, layer) = makeLayer(c)
            let x = randomTensor([2, c.length, 6], seed: UInt64(c.length))
            let mask = mask(batch: 2, length: c.length, masked: c.masked)
            let y = layer.forward(x, context: ForwardContext(training: false, mask: mask))
            assertClose(y.scalars, reference(layer, x, mask: mask, exact: false), rtol: 1e-3, atol: 1e-4, "\(c)")
        }
    }

    /// The channel-major passes split positions over the threads (ranges of at least 256): at a
    /// length of two ranges, 3 threads match the O(N²) kernelized sum forward, and 1 thread's
    /// output and gradients (∂x, the projections', the RPE biases'), which the finite-difference
    /// test checks at one range, to FFT round-off (FFTW may plan differently per thread count).
    func testPositionRangesSplitOverThreads() {
        let c = Case(length: 520, maxLength: 520, causal: false, positions: true, masked: true)
        let before = Threading.count
        defer { Threading.configure(threads: before) }
        let x = randomTensor([1, c.length, 6], seed: 12)
        let mask = mask(batch: 1, length: c.length, masked: true)
        func run(threads: Int) -> (output: Tensor, gradients: [Float]) {
            Threading.configure(threads: threads)
            let (arena, layer) = makeLayer(c)
            let y = layer.forward(x, context: ForwardContext(training: false, mask: mask))
            let dx = layer.backward(y)
            return (y, dx.scalars + Array(arena.sharedGradients))
        }
        let one = run(threads: 1), three = run(threads: 3)
        let (_, layer) = makeLayer(c)
        assertClose(three.output.scalars, reference(layer, x, mask: mask, exact: false), rtol: 1e-3, atol: 1e-4, "3 threads")
        assertClose(three.output.scalars, one.output.doubles, rtol: 1e-5, atol: 1e-6, "output, 3 threads against 1")
        assertClose(three.gradients, one.gradients.map(Double.init), rtol: 1e-4, atol: 1e-5, "gradients, 3 threads against 1")
    }

    /// Chunking the feature channels (a budget of one feature per chunk) changes nothing.
    func testFeatureChunksGiveTheSameResult() {
        let c = Case(length: 9, maxLength: 9, causal: false, positions: true, masked: false)
        let (_, layer) = makeLayer(c)
        let x = randomTensor([1, 9, 6], seed: 3)
        let whole = layer.forward(x, context: ForwardContext(training: false))
        layer.chunkBudget = 1
        assertClose(layer.forward(x, context: ForwardContext(training: false)).scalars, whole.doubles,
                    rtol: 1e-5, atol: 1e-6, "one feature per chunk")
    }

    /// With many random features the kernelized layer approaches exact softmax attention with
    /// RPE (the estimator's error falls like 1/√m): at m = 16384 the largest difference is
    /// below 0.03 (outputs are O(0.5)), and at least 4× smaller than the mean over eight
    /// feature draws at m = 64 (1/√m predicts 16×; the mean keeps one lucky draw from deciding).
    func testManyFeaturesApproachExactSoftmaxWithRPE() {
        for c in [Case(length: 6, maxLength: 6, causal: false, positions: true, masked: false),
                  Case(length: 5, maxLength: 5, causal: true, positions: true, masked: true)] {
            let x = randomTensor([1, c.length, 4], seed: 6)
            let mask = mask(batch: 1, length: c.length, masked: c.masked)
            func error(features: Int, seed: UInt64) -> Double {
                let (_, layer) = makeLayer(c, dim: 4, heads: 1, features: features, seed: 5, featureSeed: seed)
                let y = layer.forward(x, context: ForwardContext(training: false, mask: mask)).doubles
                let exact = reference(layer, x, mask: mask, exact: true)
                return zip(y, exact).map { abs($0 - $1) }.max()!
            }
            let few = (1...8).map { error(features: 64, seed: $0) }.reduce(0, +) / 8
            let many = error(features: 16384, seed: 5)
            XCTAssertLessThan(many, 0.03, "m = 16384 vs exact softmax with RPE, \(c)")
            XCTAssertLessThan(many * 4, few, "error should shrink with m: m = 64 mean \(few), m = 16384 \(many), \(c)")
        }
    }

    /// Input, Q/K/V/output projections and RPE biases against finite differences (Ω fixed),
    /// for RPE full with padding, RPE causal, Performer full and Performer causal.
    func testBackwardMatchesFiniteDifferences() {
        let cases = [Case(length: 6, maxLength: 6, causal: false, positions: true, masked: true),
                     Case(length: 5, maxLength: 7, causal: true, positions: true, masked: false),
                     Case(length: 5, maxLength: 5, causal: false, positions: false, masked: true),
                     Case(length: 4, maxLength: 4, causal: true, positions: false, masked: false),
                     Case(length: 130, maxLength: 130, causal: false, positions: true, masked: true)]
        for c in cases {
            let (arena, layer) = makeLayer(c, dim: 4, heads: 2, features: 3)
            let x = randomTensor([2, c.length, 4], seed: 8)
            let context = ForwardContext(training: false, mask: mask(batch: 2, length: c.length, masked: c.masked))
            GradientCheck().assertMatchesFiniteDifferences(arena: arena, input: x, context: context,
                                  forward: { layer.forward($0, context: $1) }, backward: { layer.backward($0) })
        }
    }

    /// Ω has orthogonal rows within each block of d_h and, with `redrawInterval: 2`, is a pure
    /// function of the seed and the optimizer step: draw s / 2 at step s, in training and in
    /// evaluation alike, whatever forwards came before (so a resume or an evaluation of a
    /// checkpoint sees what training saw).
    func testFeaturesAreOrthogonalAndAFunctionOfTheStep() {
        let omega = KernelizedAttention.orthogonalGaussianFeatures(count: 6, dimension: 4, random: RandomStream(seed: 3))
        for r in 0..<4 {
            for p in 0..<r {
                let dot = (0..<4).reduce(0.0) { $0 + Double(omega[r, $1]) * Double(omega[p, $1]) }
                XCTAssertEqual(dot, 0, accuracy: 1e-4, "rows \(r) and \(p) of the first block")
            }
        }
        func layer() -> KernelizedAttention {
            let arena = ParameterArena()
            let layer = KernelizedAttention("attention", arena: arena, dim: 4, heads: 1, maxLength: 3, features: 4,
                                            redrawInterval: 2, seed: 9)
            arena.allocate(seed: 1)
            return layer
        }
        let (first, second) = (layer(), layer())
        let x = randomTensor([1, 3, 4], seed: 1)
        let initial = first.features
        var history = [Tensor]()
        for step in 0..<5 {
            _ = first.forward(x, context: ForwardContext(training: true, step: step))
            _ = first.forward(x, context: ForwardContext(training: true, step: step))  // a second micro-batch
            history.append(first.features)
        }
        XCTAssertEqual(history[0], initial)
        XCTAssertEqual(history[1], initial)
        XCTAssertNotEqual(history[2], history[1], "redrawn at step 2")
        XCTAssertEqual(history[3], history[2])
        XCTAssertNotEqual(history[4], history[3])
        // A fresh layer asked for step 3 first (a resume, an evaluation) has step 3's draw, and
        // its output equals the trained layer's at that step.
        let y = second.forward(x, context: ForwardContext(training: false, step: 3))
        XCTAssertEqual(second.features, history[3])
        XCTAssertEqual(y.scalars, first.forward(x, context: ForwardContext(training: false, step: 3)).scalars)
        _ = second.forward(x, context: ForwardContext(training: false, step: 0))
        XCTAssertEqual(second.features, initial, "back at step 0, the first draw")
    }
}
