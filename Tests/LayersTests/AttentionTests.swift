import Parameters
import ParsevalTestSupport
import Foundation
import Layers
import TensorCore
import XCTest

final class AttentionTests: XCTestCase {
    /// Attention computed one query at a time in Double from the layer's own parameters.
    func naiveAttention(_ x: Tensor, arena: ParameterArena, attention: SoftmaxAttention, mask: Tensor?) -> [Double] {
        let (batch, length, dim) = (x.shape[0], x.shape[1], x.shape[2])
        let heads = attention.heads, headDim = dim / heads
        let wqkv = arena.value(attention.qkv.weight), bqkv = arena.value(attention.qkv.bias!)
        let wo = arena.value(attention.output.weight), bo = arena.value(attention.output.bias!)
        func project(_ b: Int, _ n: Int, _ o: Int) -> Double {
            var total = Double(bqkv[o])
            for i in 0..<dim { total += Double(x[b, n, i]) * Double(wqkv[o * dim + i]) }
            return total
        }
        var out = [Double](repeating: 0, count: batch * length * dim)
        for b in 0..<batch {
            var context = [Double](repeating: 0, count: length * dim)
            for h in 0..<heads {
                for i in 0..<length {
                    var scores: [Double] = []
                    var keys: [Int] = []
                    for j in 0..<length {
                        if attention.causal && j > i { continue }
                        if let mask, mask[b, j] == 0 { continue }
                        var s = 0.0
                        for e in 0..<headDim { s += project(b, i, h * headDim + e) * project(b, j, dim + h * headDim + e) }
                        scores.append(s / Double(headDim).squareRoot())
                        keys.append(j)
                    }
                    let highest = scores.max() ?? 0
                    let weights = scores.map { exp($0 - highest) }
                    let total = weights.reduce(0, +)
                    for (w, j) in zip(weights, keys) {
                        for e in 0..<headDim {
                            context[i * dim + h * headDim + e] += w / total * project(b, j, 2 * dim + h * headDim + e)
                        }
                    }
                }
            }
            for n in 0..<length {
                for o in 0..<dim {
                    var total = Double(bo[o])
                    for i in 0..<dim { total += context[n * dim + i] * Double(wo[o * dim + i]) }
                    out[(b * length + n) * dim + o] = total
                }
            }
        }
        return out
    }

    func makeAttention(causal: Bool, queryBlock: Int = 64) -> (ParameterArena, SoftmaxAttention) {
        let arena = ParameterArena()
        let attention = SoftmaxAttention("attention", arena: arena, dim: 8, heads: 2, causal: causal, queryBlock: queryBlock)
        arena.allocate(seed: 11)
        for i in 0..<24 { arena.value(attention.qkv.bias!)[i] = 0.01 * Float(i) }
        return (arena, attention)
    }

    /// One block (64 ≥ N), and blocks of 3 and 4 queries with a partial last block; padded
    /// keys, a batch element whose keys are all padded (its queries attend to nothing), causal.
    func testAgainstNaiveLoopWithPaddingAndCausalMasks() {
        for (length, block) in [(5, 64), (5, 3), (11, 4)] {
            let x = randomTensor([3, length, 8], seed: 12)
            let mask = Tensor(shape: [3, length], values: (0..<3 * length).map { i in
                let (b, n) = (i / length, i % length)
                return b == 1 ? (n < length - 2 ? 1 : 0) : (b == 2 ? 0 : 1)
            })
            for causal in [false, true] {
                for m in [nil, mask] {
                    let (arena, attention) = makeAttention(causal: causal, queryBlock: block)
                    let y = attention.forward(x, context: ForwardContext(training: false, mask: m))
                    let expected = naiveAttention(x, arena: arena, attention: attention, mask: m)
                    for i in 0..<y.count {
                        XCTAssertEqual(Double(y[flat: i]), expected[i], accuracy: 1e-5,
                                       "N \(length) block \(block) causal \(causal) mask \(m != nil) element \(i)")
                    }
                }
            }
        }
    }

    func testGradientsWithMasks() {
        let x = randomTensor([2, 5, 8], seed: 13)
        let mask = Tensor(shape: [2, 5], values: [1, 1, 1, 1, 1, 1, 1, 0, 0, 0])
        for causal in [false, true] {
            for block in [64, 2] {
                let (arena, attention) = makeAttention(causal: causal, queryBlock: block)
                GradientCheck().assertMatchesFiniteDifferences(arena: arena, input: x, context: ForwardContext(training: false, mask: mask),
                                      forward: { attention.forward($0, context: $1) },
                                      backward: { attention.backward($0) })
            }
        }
    }

    /// Each (batch, head) runs on one thread and owns its dK and dV sums: the same bits for
    /// any thread count.
    func testForwardAndBackwardDoNotDependOnThreadCount() {
        let x = randomTensor([3, 23, 8], seed: 14), dy = randomTensor([3, 23, 8], seed: 15)
        func run() -> [UInt32] {
            let (arena, attention) = makeAttention(causal: false, queryBlock: 5)
            arena.zeroGradients()
            let y = attention.forward(x, context: ForwardContext(training: false))
            let dx = attention.backward(dy)
            let gradients = Array(UnsafeBufferPointer(start: arena.gradients.pointer, count: arena.gradients.count))
            return (y.scalars + dx.scalars + gradients).map(\.bitPattern)
        }
        let before = Threading.count
        defer { Threading.configure(threads: before) }
        Threading.configure(threads: 1)
        let one = run()
        Threading.configure(threads: 3)
        XCTAssertEqual(one, run())
    }
}

/// Attention with bf16 products: per-head bf16 copies of Q (scaled), K, V and dC, per-block
/// copies of P and dS. Runs where the CPU has bf16 instructions.
final class BF16AttentionTests: XCTestCase {
    override func setUpWithError() throws {
        if case .unavailable(let reason) = Matmul.bf16Support { throw XCTSkip("bf16: \(reason)") }
    }

    func run(precision: MatmulPrecision, threads: Int, causal: Bool) -> (y: [Float], dx: [Float], gradients: [Float]) {
        let x = randomTensor([3, 37, 16], seed: 31), dy = randomTensor([3, 37, 16], seed: 32)
        let mask = Tensor(shape: [3, 37], values: (0..<3 * 37).map { $0 / 37 == 1 && $0 % 37 > 30 ? 0 : 1 })
        let arena = ParameterArena()
        let attention = SoftmaxAttention("attention", arena: arena, dim: 16, heads: 2, causal: causal, queryBlock: 8)
        arena.allocate(seed: 5)
        let before = Threading.count
        defer { Threading.configure(threads: before) }
        Threading.configure(threads: threads)
        return Matmul.withPrecision(precision) {
            arena.zeroGradients()
            let y = attention.forward(x, context: ForwardContext(training: false, mask: mask))
            let dx = attention.backward(dy)
            return (y.scalars, dx.scalars, Array(UnsafeBufferPointer(start: arena.gradients.pointer, count: arena.gradients.count)))
        }
    }

    func testBF16AgreesWithFP32WithinBF16RoundingAndRoundsForReal() {
        for causal in [false, true] {
            let single = run(precision: .fp32, threads: 2, causal: causal)
            let half = run(precision: .bf16, threads: 2, causal: causal)
            for (name, a, b) in [("y", single.y, half.y), ("dx", single.dx, half.dx), ("gradients", single.gradients, half.gradients)] {
                let scale = a.map { abs($0) }.max()!
                let worst = zip(a, b).map { abs($0 - $1) }.max()!
                XCTAssertLessThan(worst, 2e-2 * scale, "\(name) causal \(causal): bf16 is off by \(worst) (scale \(scale))")
                XCTAssertGreaterThan(worst, 1e-6 * scale, "\(name) causal \(causal): bf16 products must round their inputs")
            }
        }
    }

    func testBF16DoesNotDependOnThreadCount() {
        let one = run(precision: .bf16, threads: 1, causal: false), three = run(precision: .bf16, threads: 3, causal: false)
        XCTAssertEqual(one.y.map(\.bitPattern), three.y.map(\.bitPattern))
        XCTAssertEqual(one.dx.map(\.bitPattern), three.dx.map(\.bitPattern))
        XCTAssertEqual(one.gradients.map(\.bitPattern), three.gradients.map(\.bitPattern))
    }
}
